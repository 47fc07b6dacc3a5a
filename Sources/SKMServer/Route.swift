import Foundation
import HTTPTypes
import SKMCore

/// What a method and path name: an SKM API operation with its path parameters, or one of the server's own
/// endpoints.
enum Route: Sendable, Equatable {
    case api(APICall)
    case token
    case health
    case metrics
    /// No route: URL NOT FOUND, with what could be read from the path for the log.
    case notFound(apiVersion: APIVersion?, appkey: String?)

    struct APICall: Sendable, Equatable {
        var operation: SKMCore.Operation
        var apiVersion: APIVersion
        var appkey: String
        var keyId: String?
        var keyStoreId: String?
        var authKind: AuthKind?
        var resourceName: String?
    }

    /// Matches `method` and `path` (without query) against the SKM API.
    static func match(method: HTTPRequest.Method, path: String) -> Route {
        let segments = Self.segments(of: path)
        if segments == ["health"] { return method == .get ? .health : .notFound(apiVersion: nil, appkey: nil) }
        if segments == ["metrics"] { return method == .get ? .metrics : .notFound(apiVersion: nil, appkey: nil) }
        if segments == ["oauth2", "token", "create"] {
            return method == .post ? .token : .notFound(apiVersion: nil, appkey: nil)
        }
        guard segments.count >= 4, segments[0] == "keymanager", segments[2] == "appkey" else {
            return .notFound(apiVersion: nil, appkey: nil)
        }
        let version = APIVersion(rawValue: segments[1])
        let appkey = segments[3]
        guard let version else { return .notFound(apiVersion: nil, appkey: appkey) }
        let rest = Array(segments.dropFirst(4))
        guard let (operation, parameters) = Self.operation(method: method, rest) else {
            return .notFound(apiVersion: version, appkey: appkey)
        }
        var call = APICall(operation: operation, apiVersion: version, appkey: appkey)
        call.keyId = parameters.keyId
        call.keyStoreId = parameters.keyStoreId
        call.authKind = parameters.authKind
        call.resourceName = parameters.resourceName
        return .api(call)
    }

    /// The path's non-empty segments, percent-decoded. Decoding goes through Foundation only when a segment has a
    /// `%`, which keeps the common case fast.
    static func segments(of path: String) -> [String] {
        var segments: [String] = []
        segments.reserveCapacity(8)
        for part in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let text = String(Substring(part))
            if part.contains(UInt8(ascii: "%")) {
                segments.append(text.removingPercentEncoding ?? text)
            } else {
                segments.append(text)
            }
        }
        return segments
    }

    struct Parameters {
        var keyId: String?
        var keyStoreId: String?
        var authKind: AuthKind?
        var resourceName: String?
    }

    static func authKind(_ segment: String, listing: Bool = false) -> AuthKind? {
        switch segment {
        case "ipv4s": return .ipv4
        case "ips": return listing ? .ipv4 : nil
        case "macs": return .mac
        case "certificates": return .certificate
        default: return nil
        }
    }

    // swiftlint:disable:next cyclomatic_complexity
    static func operation(method: HTTPRequest.Method, _ rest: [String]) -> (SKMCore.Operation, Parameters)? {
        var parameters = Parameters()
        switch (method, rest.count) {
        case (.get, 1) where rest[0] == "confirm":
            return (.confirm, parameters)
        case (_, 2) where rest[0] == "secrets":
            parameters.keyId = rest[1]
            switch method {
            case .get: return (.getSecret, parameters)
            case .put: return (.putSecret, parameters)
            default: return nil
            }
        case (_, 3) where rest[0] == "symmetric-keys":
            parameters.keyId = rest[1]
            switch (method, rest[2]) {
            case (.post, "encrypt"): return (.encrypt, parameters)
            case (.post, "decrypt"): return (.decrypt, parameters)
            case (.post, "create-local-key"): return (.createLocalKey, parameters)
            case (.get, "symmetric-key"): return (.getSymmetricKey, parameters)
            default: return nil
            }
        case (_, 3) where rest[0] == "asymmetric-keys":
            parameters.keyId = rest[1]
            switch (method, rest[2]) {
            case (.post, "sign"): return (.sign, parameters)
            case (.post, "verify"): return (.verify, parameters)
            case (.post, "sign-standard"): return (.signStandard, parameters)
            case (.post, "verify-standard"): return (.verifyStandard, parameters)
            case (.get, "privateKey"): return (.getPrivateKey, parameters)
            case (.get, "publicKey"): return (.getPublicKey, parameters)
            default: return nil
            }
        case (.post, 3) where rest[0] == "keys" && rest[2] == "create":
            switch rest[1] {
            case "secrets": return (.createSecret, parameters)
            case "symmetric-keys": return (.createSymmetricKey, parameters)
            case "asymmetric-keys": return (.createAsymmetricKey, parameters)
            default: return nil
            }
        case (_, 3) where rest[0] == "keys":
            parameters.keyId = rest[1]
            switch (method, rest[2]) {
            case (.put, "delete"): return (.scheduleKeyDeletion, parameters)
            case (.put, "cancel-deletion"): return (.cancelKeyDeletion, parameters)
            case (.post, "rotate"): return (.rotateKey, parameters)
            default: return nil
            }
        case (.delete, 2) where rest[0] == "keys":
            parameters.keyId = rest[1]
            return (.deleteKey, parameters)
        case (.post, 2) where rest[0] == "auths":
            guard let kind = authKind(rest[1]) else { return nil }
            parameters.authKind = kind
            return (.addAuth, parameters)
        case (_, 3) where rest[0] == "auths":
            guard let kind = authKind(rest[1]) else { return nil }
            parameters.authKind = kind
            switch (method, rest[2]) {
            case (.put, "delete"): return (.scheduleAuthDeletion, parameters)
            case (.post, "delete"): return (.deleteAuth, parameters)
            case (.put, "cancel-deletion"): return (.cancelAuthDeletion, parameters)
            default: return nil
            }
        case (_, 1) where rest[0] == "keystores":
            switch method {
            case .get: return (.listKeyStores, parameters)
            case .post: return (.createKeyStore, parameters)
            default: return nil
            }
        case (_, 2) where rest[0] == "keystores":
            parameters.keyStoreId = rest[1]
            switch method {
            case .get: return (.getKeyStore, parameters)
            case .put: return (.updateKeyStore, parameters)
            case .delete: return (.deleteKeyStore, parameters)
            default: return nil
            }
        case (.get, 3) where rest[0] == "keystores":
            parameters.keyStoreId = rest[1]
            if rest[2] == "keys" { return (.listKeys, parameters) }
            guard let kind = authKind(rest[2], listing: true) else { return nil }
            parameters.authKind = kind
            return (.listAuth, parameters)
        case (.get, 4) where rest[0] == "keystores" && rest[2] == "keys":
            parameters.keyStoreId = rest[1]
            parameters.keyId = rest[3]
            return (.getKey, parameters)
        case (.get, 5) where rest[0] == "keystores" && rest[2] == "certificates" && rest[4] == "pkcs12":
            parameters.keyStoreId = rest[1]
            parameters.authKind = .certificate
            parameters.resourceName = rest[3]
            return (.downloadCertificate, parameters)
        default:
            return nil
        }
    }
}
