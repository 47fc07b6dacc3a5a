/// The condition of the decision procedure (DESIGN §6) that decided a refusal: which check failed, and so which
/// catalogue error the request got.
///
/// Every ``Rejection`` carries one. It is internal: shown by `skm call` and to tests, written to the operator log,
/// never sent to API clients and never written to the request log (which records observations only). The `id` of
/// each condition is the id of the check in the rule file of its error that describes the same condition, so that
/// the engine's reason and the analyser's diagnosis can be compared check for check.
public struct DecisionCheck: Sendable, Hashable, CustomStringConvertible {
    /// The catalogue error this condition answers with.
    public let error: APIError
    /// The check's id in the rule file of `error` (`key-not-deleted`).
    public let id: String

    public init(_ error: APIError, _ id: String) {
        self.error = error
        self.id = id
    }

    /// `INVALID_KEY_ID/key-not-deleted`.
    public var description: String { "\(error.identifier)/\(id)" }
}

extension DecisionCheck {
    // MARK: 1. URL NOT FOUND

    public static let apiVersionKnown = DecisionCheck(.urlNotFound, "api-version-known")
    public static let routeExists = DecisionCheck(.urlNotFound, "route-exists")
    public static let operationInVersion = DecisionCheck(.urlNotFound, "operation-in-version")

    // MARK: 2. Invalid Appkey

    public static let appkeyWellFormed = DecisionCheck(.invalidAppkey, "appkey-well-formed")
    public static let appkeyExists = DecisionCheck(.invalidAppkey, "appkey-exists")

    // MARK: 3. Unauthorized

    public static let credentialsPresent = DecisionCheck(.unauthorized, "credentials-present")
    public static let tokenAuthentic = DecisionCheck(.unauthorized, "token-authentic")
    public static let tokenNotExpired = DecisionCheck(.unauthorized, "token-not-expired")
    public static let accessKeyExists = DecisionCheck(.unauthorized, "access-key-exists")
    public static let accessKeyInService = DecisionCheck(.unauthorized, "access-key-in-service")
    public static let accessKeyOfThisAppkey = DecisionCheck(.unauthorized, "access-key-of-this-appkey")
    public static let secretValid = DecisionCheck(.unauthorized, "secret-valid")

    // MARK: 4. Invalid Request

    public static let httpWellFormed = DecisionCheck(.invalidRequest, "http-well-formed")
    public static let headersWithinLimit = DecisionCheck(.invalidRequest, "headers-within-limit")
    public static let bodyWithinLimit = DecisionCheck(.invalidRequest, "body-within-limit")
    public static let bodyIsJSON = DecisionCheck(.invalidRequest, "body-is-json")
    public static let requiredMembers = DecisionCheck(.invalidRequest, "required-members")
    public static let optionalMembersTyped = DecisionCheck(.invalidRequest, "optional-members-typed")
    public static let plaintextWithin32KB = DecisionCheck(.invalidRequest, "plaintext-within-32kb")
    public static let plaintextWithin245Bytes = DecisionCheck(.invalidRequest, "plaintext-within-245-bytes")
    public static let standardPlaintextBase64 = DecisionCheck(.invalidRequest, "standard-plaintext-base64")
    public static let secretWithin32KB = DecisionCheck(.invalidRequest, "secret-within-32kb")
    public static let blobWithinLimit = DecisionCheck(.invalidRequest, "blob-within-limit")
    public static let algorithmKnown = DecisionCheck(.invalidRequest, "algorithm-known")
    public static let bodyKeyVersionValid = DecisionCheck(.invalidRequest, "body-key-version-valid")
    public static let queryKeyVersionValid = DecisionCheck(.invalidRequest, "query-key-version-valid")
    public static let keyStoreIDValid = DecisionCheck(.invalidRequest, "key-store-id-valid")
    public static let nameValid = DecisionCheck(.invalidRequest, "name-valid")
    public static let rotationPeriodValid = DecisionCheck(.invalidRequest, "rotation-period-valid")
    public static let keyStoreFlagsValid = DecisionCheck(.invalidRequest, "key-store-flags-valid")
    public static let keyStoreKnown = DecisionCheck(.invalidRequest, "key-store-known")
    public static let keyStoreNameFree = DecisionCheck(.invalidRequest, "key-store-name-free")
    public static let keyStoreEmpty = DecisionCheck(.invalidRequest, "key-store-empty")
    public static let authValueWellFormed = DecisionCheck(.invalidRequest, "auth-value-well-formed")
    public static let authValueFree = DecisionCheck(.invalidRequest, "auth-value-free")
    public static let certificateParametersValid = DecisionCheck(.invalidRequest, "certificate-parameters-valid")
    public static let entryExists = DecisionCheck(.invalidRequest, "entry-exists")
    public static let entryStatusFits = DecisionCheck(.invalidRequest, "entry-status-fits")
    public static let accessKeyKnown = DecisionCheck(.invalidRequest, "access-key-known")
    public static let accessKeyRevocable = DecisionCheck(.invalidRequest, "access-key-revocable")
    public static let listParametersValid = DecisionCheck(.invalidRequest, "list-parameters-valid")
    public static let grantTypeClientCredentials = DecisionCheck(.invalidRequest, "grant-type-client-credentials")
    /// A limit the request log does not show (a description over 1000 characters, a value of the wrong range).
    public static let otherwiseMalformed = DecisionCheck(.invalidRequest, "otherwise-malformed")

    // MARK: 5. Invalid Key ID

    public static let keyIDWellFormed = DecisionCheck(.invalidKeyID, "key-id-well-formed")
    public static let keyExists = DecisionCheck(.invalidKeyID, "key-exists")
    public static let keyOfThisAppkey = DecisionCheck(.invalidKeyID, "key-of-this-appkey")
    public static let keyNotDeleted = DecisionCheck(.invalidKeyID, "key-not-deleted")
    public static let keyStoreNotDeleted = DecisionCheck(.invalidKeyID, "key-store-not-deleted")
    public static let keyTypeFits = DecisionCheck(.invalidKeyID, "key-type-fits")
    public static let keyHasVersions = DecisionCheck(.invalidKeyID, "key-has-versions")
    public static let keyInStore = DecisionCheck(.invalidKeyID, "key-in-store")
    /// Step 7 for calls other than decrypt and verify.
    public static let keyInServiceForUse = DecisionCheck(.invalidKeyID, "key-in-service")

    // MARK: 6. Client authentication

    public static let addressObserved = DecisionCheck(.ipv4AuthFailure, "address-observed")
    public static let notThroughUntrustedProxy = DecisionCheck(.ipv4AuthFailure, "not-through-untrusted-proxy")
    public static let addressNotDeleted = DecisionCheck(.ipv4AuthFailure, "address-not-deleted")
    public static let addressRegistered = DecisionCheck(.ipv4AuthFailure, "address-registered")
    public static let addressInService = DecisionCheck(.ipv4AuthFailure, "address-in-service")

    public static let macHeaderPresent = DecisionCheck(.macAuthFailure, "header-present")
    public static let macHeaderWellFormed = DecisionCheck(.macAuthFailure, "header-well-formed")
    public static let macNotDeleted = DecisionCheck(.macAuthFailure, "mac-not-deleted")
    public static let macRegistered = DecisionCheck(.macAuthFailure, "mac-registered")
    public static let macInService = DecisionCheck(.macAuthFailure, "mac-in-service")

    public static let certificatePresented = DecisionCheck(.certificateAuthFailure, "certificate-presented")
    public static let issuedByThisCA = DecisionCheck(.untrustedCertificate, "issued-by-this-ca")
    public static let signatureVerifies = DecisionCheck(.untrustedCertificate, "signature-verifies")
    public static let clientAuthenticationUsage = DecisionCheck(.untrustedCertificate, "client-authentication-usage")
    public static let certificateStarted = DecisionCheck(.certificateNotYetValid, "certificate-started")
    public static let certificateNotExpired = DecisionCheck(.certificateExpired, "certificate-not-expired")
    public static let certificateNotDeleted = DecisionCheck(.certificateAuthFailure, "certificate-not-deleted")
    public static let certificateRegistered = DecisionCheck(.certificateAuthFailure, "certificate-registered")
    public static let certificateInService = DecisionCheck(.certificateAuthFailure, "certificate-in-service")

    // MARK: 7. Key status

    /// Step 7 for decrypt and verify.
    public static let keyInServiceForData = DecisionCheck(.invalidKeyStatus, "key-in-service")
    public static let scheduledDeletionNeedsActiveKey = DecisionCheck(
        .invalidKeyStatus, "scheduled-deletion-needs-active-key")
    public static let cancellationNeedsPendingKey = DecisionCheck(.invalidKeyStatus, "cancellation-needs-pending-key")
    public static let deletionNeedsPendingKey = DecisionCheck(.invalidKeyStatus, "deletion-needs-pending-key")
    public static let rotationNeedsActiveKey = DecisionCheck(.invalidKeyStatus, "rotation-needs-active-key")

    // MARK: 8. Versions and user data

    public static let blobIsBase64 = DecisionCheck(.invalidUserData, "blob-is-base64")
    public static let blobComplete = DecisionCheck(.invalidUserData, "blob-complete")
    public static let blobNotEncodedTwice = DecisionCheck(.invalidKeyVersion, "blob-not-encoded-twice")
    public static let versionNotNewerThanKey = DecisionCheck(.invalidKeyVersion, "version-not-newer-than-key")
    public static let versionExists = DecisionCheck(.invalidKeyVersion, "version-exists")
    public static let versionInService = DecisionCheck(.invalidKeyVersionStatus, "version-in-service")
    public static let dataAuthenticates = DecisionCheck(.invalidUserData, "data-authenticates")

    // MARK: Internal Error

    public static let serverFailed = DecisionCheck(.internalError, "server-failed")

    // MARK: Key-version management (the command line only; no API operation reaches these)

    /// A version status change the version's status does not allow.
    public static let versionStatusFits = DecisionCheck(.invalidKeyVersionStatus, "version-status-fits")
    /// Scheduling the deletion of the primary version.
    public static let versionNotPrimary = DecisionCheck(.invalidKeyVersionStatus, "version-not-primary")

    /// Every condition an API request can be refused for, in no particular order. Each has a check of the same id
    /// in the rule file of its error (a test holds the two together).
    public static let apiChecks: [DecisionCheck] = [
        apiVersionKnown, routeExists, operationInVersion, appkeyWellFormed, appkeyExists, credentialsPresent,
        tokenAuthentic, tokenNotExpired, accessKeyExists, accessKeyInService, accessKeyOfThisAppkey, secretValid,
        httpWellFormed, headersWithinLimit, bodyWithinLimit, bodyIsJSON, requiredMembers, optionalMembersTyped,
        plaintextWithin32KB,
        plaintextWithin245Bytes, standardPlaintextBase64, secretWithin32KB, blobWithinLimit, algorithmKnown,
        bodyKeyVersionValid, queryKeyVersionValid, keyStoreIDValid, nameValid, rotationPeriodValid,
        keyStoreFlagsValid, keyStoreKnown, keyStoreNameFree, keyStoreEmpty, authValueWellFormed, authValueFree,
        certificateParametersValid, entryExists, entryStatusFits, accessKeyKnown, accessKeyRevocable,
        listParametersValid, grantTypeClientCredentials,
        otherwiseMalformed, keyIDWellFormed, keyExists, keyOfThisAppkey, keyNotDeleted, keyStoreNotDeleted, keyTypeFits,
        keyHasVersions,
        keyInStore, keyInServiceForUse, addressObserved, notThroughUntrustedProxy, addressNotDeleted,
        addressRegistered, addressInService, macHeaderPresent, macHeaderWellFormed, macNotDeleted, macRegistered,
        macInService, certificatePresented, issuedByThisCA, signatureVerifies, clientAuthenticationUsage,
        certificateStarted, certificateNotExpired, certificateNotDeleted, certificateRegistered, certificateInService,
        keyInServiceForData, scheduledDeletionNeedsActiveKey, cancellationNeedsPendingKey, deletionNeedsPendingKey,
        rotationNeedsActiveKey, blobIsBase64, blobComplete, blobNotEncodedTwice, versionNotNewerThanKey,
        versionExists, versionInService, dataAuthenticates, serverFailed,
    ]
}
