import Foundation
import SKMCore
import SKMPrimitives

/// What a method and path name: an SKM API operation with its path parameters, or one of the server's own
/// endpoints. The server routes with it, and the analyser reads captured URLs with it.
package enum APIRoute: Sendable, Equatable {
    /// A request's path as the request log and operator messages may show it: no fragment, and no user
    /// information (`user:password@`) whatever form the target came in (`//user:password@host/path`,
    /// `user:password@host:443`).
    package static func loggedPath(_ path: String) -> String {
        // The common case, a path in origin form without a fragment, as it is.
        let utf8 = path.utf8
        if utf8.first == UInt8(ascii: "/"), utf8.dropFirst().first != UInt8(ascii: "/"),
            !path.utf8Contains(UInt8(ascii: "#"))
        {
            return path
        }
        var path = Substring(path)
        if let fragment = path.firstIndex(of: "#") { path = path[..<fragment] }
        if path.hasPrefix("//") {
            let rest = path.dropFirst(2)
            path = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        } else if !path.hasPrefix("/"), let at = path.lastIndex(of: "@") {
            path = path[path.index(after: at)...]
        }
        return String(path)
    }

    case api(APICall)
    case token
    case health
    case metrics
    /// No route: URL NOT FOUND, with what could be read from the path for the log.
    case notFound(apiVersion: APIVersion?, appkey: String?)

    /// An SKM API operation and the parameters its path carries.
    package struct APICall: Sendable, Equatable {
        package var operation: APIOperation
        package var apiVersion: APIVersion
        package var appkey: String
        package var keyId: String?
        package var keyStoreId: String?
        package var authKind: AuthKind?
        package var resourceName: String?
    }

    /// Matches `method` (`GET`, `POST`, …) and `path` (without query) against the SKM API.
    package static func match(method: String, path: String) -> APIRoute {
        let segments = Self.segments(of: path)
        // Compared segment by segment: an array literal to compare with would be allocated per request.
        if segments.count == 1, segments[0] == "health" {
            return method == "GET" ? .health : .notFound(apiVersion: nil, appkey: nil)
        }
        if segments.count == 1, segments[0] == "metrics" {
            return method == "GET" ? .metrics : .notFound(apiVersion: nil, appkey: nil)
        }
        if segments.count == 3, segments[0] == "oauth2", segments[1] == "token", segments[2] == "create" {
            return method == "POST" ? .token : .notFound(apiVersion: nil, appkey: nil)
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
    /// `%`, which keeps the common case fast: one scan of the bytes, and a string made per segment (a short one
    /// without allocating).
    package static func segments(of path: String) -> [String] {
        var path = path
        return path.withUTF8 { bytes in
            var segments: [String] = []
            segments.reserveCapacity(8)
            var start = 0
            var escaped = false
            for index in 0...bytes.count {
                let byte = index < bytes.count ? bytes[index] : UInt8(ascii: "/")
                if byte == UInt8(ascii: "/") {
                    if index > start {
                        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                        segments.append(escaped ? (text.removingPercentEncoding ?? text) : text)
                    }
                    start = index + 1
                    escaped = false
                } else if byte == UInt8(ascii: "%") {
                    escaped = true
                }
            }
            return segments
        }
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
    static func operation(method: String, _ rest: [String]) -> (APIOperation, Parameters)? {
        var parameters = Parameters()
        switch (method, rest.count) {
        case ("GET", 1) where rest[0] == "confirm":
            return (.confirm, parameters)
        case (_, 2) where rest[0] == "secrets":
            parameters.keyId = rest[1]
            switch method {
            case "GET": return (.getSecret, parameters)
            case "PUT": return (.putSecret, parameters)
            default: return nil
            }
        case (_, 3) where rest[0] == "symmetric-keys":
            parameters.keyId = rest[1]
            switch (method, rest[2]) {
            case ("POST", "encrypt"): return (.encrypt, parameters)
            case ("POST", "decrypt"): return (.decrypt, parameters)
            case ("POST", "create-local-key"): return (.createLocalKey, parameters)
            case ("GET", "symmetric-key"): return (.getSymmetricKey, parameters)
            default: return nil
            }
        case (_, 3) where rest[0] == "asymmetric-keys":
            parameters.keyId = rest[1]
            switch (method, rest[2]) {
            case ("POST", "sign"): return (.sign, parameters)
            case ("POST", "verify"): return (.verify, parameters)
            case ("POST", "sign-standard"): return (.signStandard, parameters)
            case ("POST", "verify-standard"): return (.verifyStandard, parameters)
            case ("GET", "privateKey"): return (.getPrivateKey, parameters)
            case ("GET", "publicKey"): return (.getPublicKey, parameters)
            default: return nil
            }
        case ("POST", 3) where rest[0] == "keys" && rest[1] == "symmetric-keys" && rest[2] == "import":
            return (.importSymmetricKey, parameters)
        case ("POST", 3) where rest[0] == "keys" && rest[2] == "create":
            switch rest[1] {
            case "secrets": return (.createSecret, parameters)
            case "symmetric-keys": return (.createSymmetricKey, parameters)
            case "asymmetric-keys": return (.createAsymmetricKey, parameters)
            default: return nil
            }
        case (_, 3) where rest[0] == "keys":
            parameters.keyId = rest[1]
            switch (method, rest[2]) {
            case ("PUT", "delete"): return (.scheduleKeyDeletion, parameters)
            case ("PUT", "cancel-deletion"): return (.cancelKeyDeletion, parameters)
            case ("POST", "rotate"): return (.rotateKey, parameters)
            default: return nil
            }
        case ("DELETE", 2) where rest[0] == "keys":
            parameters.keyId = rest[1]
            return (.deleteKey, parameters)
        case ("POST", 2) where rest[0] == "auths" && rest[1] == "import":
            return (.importAuth, parameters)
        case ("POST", 2) where rest[0] == "auths":
            guard let kind = authKind(rest[1]) else { return nil }
            parameters.authKind = kind
            return (.addAuth, parameters)
        case (_, 3) where rest[0] == "auths":
            guard let kind = authKind(rest[1]) else { return nil }
            parameters.authKind = kind
            switch (method, rest[2]) {
            case ("PUT", "delete"): return (.scheduleAuthDeletion, parameters)
            case ("POST", "delete"): return (.deleteAuth, parameters)
            case ("PUT", "cancel-deletion"): return (.cancelAuthDeletion, parameters)
            default: return nil
            }
        case (_, 1) where rest[0] == "keystores":
            switch method {
            case "GET": return (.listKeyStores, parameters)
            case "POST": return (.createKeyStore, parameters)
            default: return nil
            }
        case (_, 2) where rest[0] == "keystores":
            parameters.keyStoreId = rest[1]
            switch method {
            case "GET": return (.getKeyStore, parameters)
            case "PUT": return (.updateKeyStore, parameters)
            case "DELETE": return (.deleteKeyStore, parameters)
            default: return nil
            }
        case ("GET", 3) where rest[0] == "keystores":
            parameters.keyStoreId = rest[1]
            if rest[2] == "keys" { return (.listKeys, parameters) }
            guard let kind = authKind(rest[2], listing: true) else { return nil }
            parameters.authKind = kind
            return (.listAuth, parameters)
        case ("GET", 4) where rest[0] == "keystores" && rest[2] == "keys":
            parameters.keyStoreId = rest[1]
            parameters.keyId = rest[3]
            return (.getKey, parameters)
        case (_, 1) where rest[0] == "user-access-keys":
            switch method {
            case "GET": return (.listAccessKeys, parameters)
            case "POST": return (.createAccessKey, parameters)
            default: return nil
            }
        case (_, 3) where rest[0] == "user-access-keys":
            parameters.resourceName = rest[1]
            switch (method, rest[2]) {
            case ("PUT", "revoke"): return (.revokeAccessKey, parameters)
            case ("POST", "rotate"): return (.rotateAccessKey, parameters)
            default: return nil
            }
        case ("GET", 1) where rest[0] == "stats":
            return (.getStatistics, parameters)
        case ("GET", 1) where rest[0] == "approvals":
            return (.listApprovals, parameters)
        case ("POST", 4) where rest[0] == "approvals" && rest[1] == "changes":
            parameters.resourceName = rest[2]
            switch rest[3] {
            case "approve": return (.approveChange, parameters)
            case "reject": return (.rejectChange, parameters)
            default: return nil
            }
        case ("POST", 3) where rest[0] == "approvals":
            parameters.resourceName = rest[1]
            switch rest[2] {
            case "approve": return (.approveRequest, parameters)
            case "reject": return (.rejectRequest, parameters)
            default: return nil
            }
        case ("GET", 5) where rest[0] == "keystores" && rest[2] == "certificates" && rest[4] == "pkcs12":
            parameters.keyStoreId = rest[1]
            parameters.authKind = .certificate
            parameters.resourceName = rest[3]
            return (.downloadCertificate, parameters)
        default:
            return nil
        }
    }
}
