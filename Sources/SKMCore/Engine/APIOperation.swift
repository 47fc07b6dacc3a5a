/// The SKM API versions in request paths.
package enum APIVersion: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case v1_0 = "v1.0"
    case v1_1 = "v1.1"
    case v1_2 = "v1.2"
    case v1_3 = "v1.3"

    package static func < (lhs: APIVersion, rhs: APIVersion) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

/// Every operation of the SKM API, plus this implementation's additions (rotate, cancel deletion, key import, bulk
/// registration, certificate download, the approval workflow, call statistics, token creation). The raw value is the name the request log and the rule files use.
package enum APIOperation: String, Sendable, Hashable, Codable, CaseIterable {
    case confirm
    case getSecret
    case putSecret
    case encrypt
    case decrypt
    case createLocalKey
    case getSymmetricKey
    case sign
    case verify
    case signStandard
    case verifyStandard
    case getPrivateKey
    case getPublicKey
    case createSecret
    case createSymmetricKey
    case createAsymmetricKey
    case importSymmetricKey
    case scheduleKeyDeletion
    case deleteKey
    case cancelKeyDeletion
    case rotateKey
    case addAuth
    case importAuth
    case scheduleAuthDeletion
    case deleteAuth
    case cancelAuthDeletion
    case createKeyStore
    case updateKeyStore
    case deleteKeyStore
    case listKeyStores
    case getKeyStore
    case listKeys
    case getKey
    case listAuth
    case downloadCertificate
    case listAccessKeys
    case createAccessKey
    case revokeAccessKey
    case rotateAccessKey
    case listApprovals
    case approveRequest
    case rejectRequest
    case approveChange
    case rejectChange
    case getStatistics
    case createToken

    /// How the engine authorises the operation (DESIGN §6).
    package enum Category: String, Sendable, Hashable, Codable {
        /// Echoes what the server observed; stops after the appkey check.
        case confirm
        /// Uses a key; checked against the key store's client authentication.
        case data
        /// Changes or lists state; needs a User Access Key or a bearer token.
        case management
        /// Exchanges a User Access Key for a bearer token.
        case token
    }

    package var category: Category {
        switch self {
        case .confirm: return .confirm
        case .getSecret, .encrypt, .decrypt, .createLocalKey, .getSymmetricKey, .sign, .verify, .signStandard,
            .verifyStandard, .getPrivateKey, .getPublicKey:
            return .data
        case .createToken: return .token
        default: return .management
        }
    }

    /// The key type a data operation (or secret update) needs.
    package var requiredKeyType: KeyType? {
        switch self {
        case .getSecret, .putSecret: return .secret
        case .encrypt, .decrypt, .createLocalKey, .getSymmetricKey: return .symmetric
        case .sign, .verify, .signStandard, .verifyStandard, .getPrivateKey, .getPublicKey: return .asymmetric
        default: return nil
        }
    }

    /// Whether the key store's client authentication applies. SKM documents the public key as readable without it.
    package var usesClientAuthentication: Bool {
        category == .data && self != .getPublicKey
    }

    /// Decrypt and verify answer "Invalid Key Status" for a key that is not In Service; every other data call
    /// answers "Invalid Key ID".
    package var inactiveKeyCheck: DecisionCheck {
        switch self {
        case .decrypt, .verify, .verifyStandard: return .keyInServiceForData
        default: return .keyInServiceForUse
        }
    }

    /// Whether the operation reads a version out of a blob or a `keyVersion` parameter (and so can fail with the
    /// version errors).
    package var checksVersions: Bool {
        switch self {
        case .decrypt, .verify, .verifyStandard, .getSymmetricKey, .getPrivateKey, .getPublicKey: return true
        default: return false
        }
    }

    /// The API versions whose paths carry the operation: one of four sets made once, since the engine asks on every
    /// request, and a set literal would be built and hashed each time.
    package var availableVersions: Set<APIVersion> {
        switch self {
        case .confirm, .getSecret, .encrypt, .decrypt, .createLocalKey, .sign, .verify, .getPrivateKey, .getPublicKey,
            .listKeyStores, .getKeyStore, .listKeys, .getKey, .listAuth:
            return Self.exceptV1_1
        case .getSymmetricKey:
            return Self.everyVersion
        case .createSecret, .createSymmetricKey, .createAsymmetricKey, .scheduleKeyDeletion, .deleteKey:
            return Self.exceptV1_1
        case .putSecret, .cancelKeyDeletion, .rotateKey, .importSymmetricKey, .addAuth, .importAuth,
            .scheduleAuthDeletion,
            .deleteAuth,
            .cancelAuthDeletion, .downloadCertificate, .listAccessKeys, .createAccessKey, .revokeAccessKey,
            .rotateAccessKey, .listApprovals, .approveRequest, .rejectRequest, .approveChange, .rejectChange,
            .getStatistics:
            return Self.fromV1_2
        case .signStandard, .verifyStandard, .createKeyStore, .updateKeyStore, .deleteKeyStore:
            return Self.onlyV1_3
        case .createToken:
            return Self.everyVersion
        }
    }

    private static let exceptV1_1: Set<APIVersion> = [.v1_0, .v1_2, .v1_3]
    private static let everyVersion = Set(APIVersion.allCases)
    private static let fromV1_2: Set<APIVersion> = [.v1_2, .v1_3]
    private static let onlyV1_3: Set<APIVersion> = [.v1_3]

    /// Whether the operation only reads the key manager's settings (key stores, keys, entries): the reads v1.0 serves
    /// on the appkey alone.
    package var isSettingsRead: Bool {
        switch self {
        case .listKeyStores, .getKeyStore, .listKeys, .getKey, .listAuth: return true
        default: return false
        }
    }

    /// Whether the operation is this implementation's addition to SKM's API.
    package var isExtension: Bool {
        switch self {
        case .cancelKeyDeletion, .rotateKey, .importSymmetricKey, .importAuth, .cancelAuthDeletion,
            .downloadCertificate,
            .listAccessKeys, .createAccessKey, .revokeAccessKey, .rotateAccessKey, .listApprovals, .approveRequest,
            .rejectRequest, .approveChange, .rejectChange, .getStatistics:
            return true
        default: return false
        }
    }
}
