/// The condition of the decision procedure (DESIGN §6) that decided a refusal: which check failed, and so which
/// catalogue error the request got.
///
/// Every ``Rejection`` carries one. It is internal: shown by `skm call` and to tests, written to the operator log,
/// never sent to API clients and never written to the request log (which records observations only). The `id` of
/// each condition is the id of the check in the rule file of its error that describes the same condition, so that
/// the engine's reason and the analyser's diagnosis can be compared check for check.
package struct DecisionCheck: Sendable, Hashable, CustomStringConvertible {
    /// The catalogue error this condition answers with.
    package let error: APIError
    /// The check's id in the rule file of `error` (`key-not-deleted`).
    package let id: String

    package init(_ error: APIError, _ id: String) {
        self.error = error
        self.id = id
    }

    /// `INVALID_KEY_ID/key-not-deleted`.
    package var description: String { "\(error.identifier)/\(id)" }
}

extension DecisionCheck {
    // MARK: 1. URL NOT FOUND

    package static let apiVersionKnown = DecisionCheck(.urlNotFound, "api-version-known")
    package static let routeExists = DecisionCheck(.urlNotFound, "route-exists")
    package static let operationInVersion = DecisionCheck(.urlNotFound, "operation-in-version")

    // MARK: 2. Invalid Appkey

    package static let appkeyWellFormed = DecisionCheck(.invalidAppkey, "appkey-well-formed")
    package static let appkeyExists = DecisionCheck(.invalidAppkey, "appkey-exists")

    // MARK: 3. Unauthorized

    package static let credentialsPresent = DecisionCheck(.unauthorized, "credentials-present")
    package static let tokenAuthentic = DecisionCheck(.unauthorized, "token-authentic")
    package static let tokenNotExpired = DecisionCheck(.unauthorized, "token-not-expired")
    package static let accessKeyExists = DecisionCheck(.unauthorized, "access-key-exists")
    package static let accessKeyInService = DecisionCheck(.unauthorized, "access-key-in-service")
    package static let accessKeyOfThisAppkey = DecisionCheck(.unauthorized, "access-key-of-this-appkey")
    package static let secretValid = DecisionCheck(.unauthorized, "secret-valid")

    // MARK: 4. Invalid Request

    package static let httpWellFormed = DecisionCheck(.invalidRequest, "http-well-formed")
    package static let headersWithinLimit = DecisionCheck(.invalidRequest, "headers-within-limit")
    package static let bodyWithinLimit = DecisionCheck(.invalidRequest, "body-within-limit")
    package static let bodyIsJSON = DecisionCheck(.invalidRequest, "body-is-json")
    package static let requiredMembers = DecisionCheck(.invalidRequest, "required-members")
    package static let optionalMembersTyped = DecisionCheck(.invalidRequest, "optional-members-typed")
    package static let plaintextWithin32KB = DecisionCheck(.invalidRequest, "plaintext-within-32kb")
    package static let plaintextWithin245Bytes = DecisionCheck(.invalidRequest, "plaintext-within-245-bytes")
    package static let standardPlaintextBase64 = DecisionCheck(.invalidRequest, "standard-plaintext-base64")
    package static let secretWithin32KB = DecisionCheck(.invalidRequest, "secret-within-32kb")
    package static let blobWithinLimit = DecisionCheck(.invalidRequest, "blob-within-limit")
    package static let algorithmKnown = DecisionCheck(.invalidRequest, "algorithm-known")
    package static let bodyKeyVersionValid = DecisionCheck(.invalidRequest, "body-key-version-valid")
    package static let queryKeyVersionValid = DecisionCheck(.invalidRequest, "query-key-version-valid")
    package static let keyStoreIDValid = DecisionCheck(.invalidRequest, "key-store-id-valid")
    package static let nameValid = DecisionCheck(.invalidRequest, "name-valid")
    package static let rotationPeriodValid = DecisionCheck(.invalidRequest, "rotation-period-valid")
    package static let keyStoreFlagsValid = DecisionCheck(.invalidRequest, "key-store-flags-valid")
    package static let keyStoreKnown = DecisionCheck(.invalidRequest, "key-store-known")
    package static let keyStoreNameFree = DecisionCheck(.invalidRequest, "key-store-name-free")
    package static let keyStoreEmpty = DecisionCheck(.invalidRequest, "key-store-empty")
    package static let authValueWellFormed = DecisionCheck(.invalidRequest, "auth-value-well-formed")
    package static let authValueFree = DecisionCheck(.invalidRequest, "auth-value-free")
    package static let certificateParametersValid = DecisionCheck(.invalidRequest, "certificate-parameters-valid")
    package static let entryExists = DecisionCheck(.invalidRequest, "entry-exists")
    package static let entryStatusFits = DecisionCheck(.invalidRequest, "entry-status-fits")
    package static let accessKeyKnown = DecisionCheck(.invalidRequest, "access-key-known")
    package static let accessKeyRevocable = DecisionCheck(.invalidRequest, "access-key-revocable")
    /// Revoking or rotating a User Access Key that is an approver: the caller is that key or another approver.
    package static let approverKeyProtected = DecisionCheck(.invalidRequest, "approver-key-protected")
    package static let listParametersValid = DecisionCheck(.invalidRequest, "list-parameters-valid")
    package static let grantTypeClientCredentials = DecisionCheck(.invalidRequest, "grant-type-client-credentials")
    package static let importedMaterialValid = DecisionCheck(.invalidRequest, "imported-key-material-valid")
    package static let importRowsValid = DecisionCheck(.invalidRequest, "import-rows-valid")
    /// Approving or rejecting a request: the caller is an approver of the appkey. Invalid Request, not Unauthorized:
    /// the credentials were good, and a log cannot tell a wrong secret from a missing role.
    package static let approverRole = DecisionCheck(.invalidRequest, "approver-role")
    /// Approving or rejecting a request: a request of the appkey waits for approval on the entry, or is the change
    /// request, the path names.
    package static let approvalWaiting = DecisionCheck(.invalidRequest, "approval-waiting")
    /// Approving or rejecting a request: the caller did not make it.
    package static let notOwnRequest = DecisionCheck(.invalidRequest, "not-own-request")
    /// A limit the request log does not show (a description over 1000 characters, a value of the wrong range).
    package static let otherwiseMalformed = DecisionCheck(.invalidRequest, "otherwise-malformed")

    // MARK: 5. Invalid Key ID

    package static let keyIDWellFormed = DecisionCheck(.invalidKeyID, "key-id-well-formed")
    package static let keyExists = DecisionCheck(.invalidKeyID, "key-exists")
    package static let keyOfThisAppkey = DecisionCheck(.invalidKeyID, "key-of-this-appkey")
    package static let keyNotDeleted = DecisionCheck(.invalidKeyID, "key-not-deleted")
    package static let keyStoreNotDeleted = DecisionCheck(.invalidKeyID, "key-store-not-deleted")
    package static let keyTypeFits = DecisionCheck(.invalidKeyID, "key-type-fits")
    package static let keyHasVersions = DecisionCheck(.invalidKeyID, "key-has-versions")
    package static let keyInStore = DecisionCheck(.invalidKeyID, "key-in-store")
    /// Step 7 for calls other than decrypt and verify.
    package static let keyInServiceForUse = DecisionCheck(.invalidKeyID, "key-in-service")

    // MARK: 6. Client authentication

    package static let addressObserved = DecisionCheck(.ipv4AuthFailure, "address-observed")
    package static let notThroughUntrustedProxy = DecisionCheck(.ipv4AuthFailure, "not-through-untrusted-proxy")
    package static let addressApproved = DecisionCheck(.ipv4AuthFailure, "address-approved")
    package static let addressNotDeleted = DecisionCheck(.ipv4AuthFailure, "address-not-deleted")
    package static let addressRegistered = DecisionCheck(.ipv4AuthFailure, "address-registered")
    package static let addressInService = DecisionCheck(.ipv4AuthFailure, "address-in-service")

    package static let macHeaderPresent = DecisionCheck(.macAuthFailure, "header-present")
    package static let macHeaderWellFormed = DecisionCheck(.macAuthFailure, "header-well-formed")
    package static let macApproved = DecisionCheck(.macAuthFailure, "mac-approved")
    package static let macNotDeleted = DecisionCheck(.macAuthFailure, "mac-not-deleted")
    package static let macRegistered = DecisionCheck(.macAuthFailure, "mac-registered")
    package static let macInService = DecisionCheck(.macAuthFailure, "mac-in-service")

    package static let certificatePresented = DecisionCheck(.certificateAuthFailure, "certificate-presented")
    package static let issuedByThisCA = DecisionCheck(.untrustedCertificate, "issued-by-this-ca")
    package static let signatureVerifies = DecisionCheck(.untrustedCertificate, "signature-verifies")
    package static let clientAuthenticationUsage = DecisionCheck(.untrustedCertificate, "client-authentication-usage")
    package static let certificateStarted = DecisionCheck(.certificateNotYetValid, "certificate-started")
    package static let certificateNotExpired = DecisionCheck(.certificateExpired, "certificate-not-expired")
    package static let certificateApproved = DecisionCheck(.certificateAuthFailure, "certificate-approved")
    package static let certificateNotDeleted = DecisionCheck(.certificateAuthFailure, "certificate-not-deleted")
    package static let certificateRegistered = DecisionCheck(.certificateAuthFailure, "certificate-registered")
    package static let certificateInService = DecisionCheck(.certificateAuthFailure, "certificate-in-service")

    // MARK: 7. Key status

    /// Step 7 for decrypt and verify.
    package static let keyInServiceForData = DecisionCheck(.invalidKeyStatus, "key-in-service")
    package static let scheduledDeletionNeedsActiveKey = DecisionCheck(
        .invalidKeyStatus, "scheduled-deletion-needs-active-key")
    package static let cancellationNeedsPendingKey = DecisionCheck(.invalidKeyStatus, "cancellation-needs-pending-key")
    package static let deletionNeedsPendingKey = DecisionCheck(.invalidKeyStatus, "deletion-needs-pending-key")
    package static let rotationNeedsActiveKey = DecisionCheck(.invalidKeyStatus, "rotation-needs-active-key")
    package static let rotationNotForImportedKey = DecisionCheck(.invalidKeyStatus, "rotation-not-for-imported-key")

    // MARK: 8. Versions and user data

    package static let blobIsBase64 = DecisionCheck(.invalidUserData, "blob-is-base64")
    package static let blobComplete = DecisionCheck(.invalidUserData, "blob-complete")
    package static let blobNotEncodedTwice = DecisionCheck(.invalidKeyVersion, "blob-not-encoded-twice")
    package static let versionNotNewerThanKey = DecisionCheck(.invalidKeyVersion, "version-not-newer-than-key")
    package static let versionExists = DecisionCheck(.invalidKeyVersion, "version-exists")
    package static let versionInService = DecisionCheck(.invalidKeyVersionStatus, "version-in-service")
    package static let dataAuthenticates = DecisionCheck(.invalidUserData, "data-authenticates")

    // MARK: Internal Error

    package static let serverFailed = DecisionCheck(.internalError, "server-failed")

    // MARK: Key-version management (the command line only; no API operation reaches these)

    /// A version status change the version's status does not allow.
    package static let versionStatusFits = DecisionCheck(.invalidKeyVersionStatus, "version-status-fits")
    /// Scheduling the deletion of the primary version.
    package static let versionNotPrimary = DecisionCheck(.invalidKeyVersionStatus, "version-not-primary")

    /// Every condition an API request can be refused for, in no particular order. Each has a check of the same id
    /// in the rule file of its error (a test holds the two together).
    package static let apiChecks: [DecisionCheck] = [
        apiVersionKnown, routeExists, operationInVersion, appkeyWellFormed, appkeyExists, credentialsPresent,
        tokenAuthentic, tokenNotExpired, accessKeyExists, accessKeyInService, accessKeyOfThisAppkey, secretValid,
        approverRole, notOwnRequest, approvalWaiting,
        httpWellFormed, headersWithinLimit, bodyWithinLimit, bodyIsJSON, requiredMembers, optionalMembersTyped,
        plaintextWithin32KB,
        plaintextWithin245Bytes, standardPlaintextBase64, secretWithin32KB, blobWithinLimit, algorithmKnown,
        bodyKeyVersionValid, queryKeyVersionValid, keyStoreIDValid, nameValid, rotationPeriodValid,
        keyStoreFlagsValid, keyStoreKnown, keyStoreNameFree, keyStoreEmpty, authValueWellFormed, authValueFree,
        certificateParametersValid, entryExists, entryStatusFits, accessKeyKnown, accessKeyRevocable,
        approverKeyProtected,
        listParametersValid, grantTypeClientCredentials,
        otherwiseMalformed, keyIDWellFormed, keyExists, keyOfThisAppkey, keyNotDeleted, keyStoreNotDeleted, keyTypeFits,
        keyHasVersions,
        keyInStore, keyInServiceForUse, addressObserved, notThroughUntrustedProxy, addressApproved, addressNotDeleted,
        addressRegistered, addressInService, macHeaderPresent, macHeaderWellFormed, macApproved, macNotDeleted,
        macRegistered,
        macInService, certificatePresented, issuedByThisCA, signatureVerifies, clientAuthenticationUsage,
        certificateStarted, certificateNotExpired, certificateApproved, certificateNotDeleted, certificateRegistered,
        certificateInService,
        keyInServiceForData, scheduledDeletionNeedsActiveKey, cancellationNeedsPendingKey, deletionNeedsPendingKey,
        rotationNeedsActiveKey, rotationNotForImportedKey, importedMaterialValid, importRowsValid, blobIsBase64,
        blobComplete,
        blobNotEncodedTwice, versionNotNewerThanKey,
        versionExists, versionInService, dataAuthenticates, serverFailed,
    ]
}
