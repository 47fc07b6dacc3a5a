import Crypto
import Foundation
import SKMPrimitives

/// User Access Keys and bearer tokens: who is calling a management operation.
extension Engine {
    /// Step 3: a User Access Key of this appkey (id and secret), or an unexpired bearer token issued for one.
    /// Returns the actor name recorded in audit events.
    ///
    /// The order (exists, in service, of this appkey, then the secret) is the order of the rule for Unauthorized;
    /// clients get the same answer whichever fails, so the order tells nothing to a caller without the secret.
    func authenticate(_ credentials: Credentials, appkey: String) async throws -> String {
        if let token = credentials.bearerToken {
            let claims = try verifyToken(token)
            let accessKey = try await usableAccessKey(claims.accessKeyID)
            guard accessKey.appkey == appkey else {
                throw Rejection(
                    .accessKeyOfThisAppkey,
                    "the bearer token was issued to User Access Key \(accessKey.id) of another appkey")
            }
            return "uak:\(accessKey.id)"
        }
        guard let id = credentials.userAccessKeyID else {
            throw Rejection(.credentialsPresent, "no User Access Key or bearer token")
        }
        let accessKey = try await usableAccessKey(id)
        guard accessKey.appkey == appkey else {
            throw Rejection(.accessKeyOfThisAppkey, "User Access Key \(id) belongs to another appkey")
        }
        try checkSecret(credentials.userAccessKeySecret, of: accessKey)
        return "uak:\(accessKey.id)"
    }

    /// A User Access Key that exists and is in service.
    func usableAccessKey(_ id: String) async throws -> UserAccessKey {
        // Not even the shape of an id: most likely the secret or a token in the wrong header, so never echoed.
        guard UserAccessKey.isWellFormedID(id) else {
            throw Rejection(
                .accessKeyExists, "the User Access Key id sent is not an id (\(id.utf8.count) characters; not shown)")
        }
        guard let accessKey = try await storage.userAccessKey(id: id) else {
            throw Rejection(.accessKeyExists, "no User Access Key '\(id)'")
        }
        guard accessKey.status == .inService else {
            throw Rejection(.accessKeyInService, "User Access Key \(id) is \(accessKey.status.rawValue)")
        }
        return accessKey
    }

    func checkSecret(_ secret: String?, of accessKey: UserAccessKey) throws(Rejection) {
        guard let secret else {
            throw Rejection(.secretValid, "no secret was sent with User Access Key \(accessKey.id)")
        }
        let digest = Self.digest(secret: secret, salt: accessKey.salt)
        guard ConstantTime.equal(digest, accessKey.secretDigest) else {
            throw Rejection(.secretValid, "wrong secret for User Access Key \(accessKey.id)")
        }
    }

    /// A User Access Key in service whose secret is `secret`.
    func verifyAccessKey(id: String, secret: String) async throws -> UserAccessKey {
        let accessKey = try await usableAccessKey(id)
        try checkSecret(secret, of: accessKey)
        return accessKey
    }

    /// `POST /oauth2/token/create`: Basic authorization with a User Access Key, `grant_type=client_credentials`.
    func createToken(_ request: APIRequest) async throws -> Outcome {
        guard let id = request.credentials.userAccessKeyID else {
            throw Rejection(.credentialsPresent, "token creation needs Basic authorization with a User Access Key")
        }
        let accessKey = try await usableAccessKey(id)
        try checkSecret(request.credentials.userAccessKeySecret, of: accessKey)
        let fields = try RequestFields(request, needsBody: true)
        guard fields.string("grant_type") == "client_credentials" else {
            throw Rejection.invalidField(.grantTypeClientCredentials, "grant_type", "must be client_credentials")
        }
        let lifetime = Int(configuration.tokenLifetime)
        let token = issueToken(
            accessKeyID: accessKey.id, expires: clock.now.addingTimeInterval(configuration.tokenLifetime))
        return Outcome(
            .success(
                .bare(["access_token": .string(token), "token_type": "Bearer", "expires_in": .int(lifetime)])))
    }

    /// A stateless token: `skm1.<base64url(uak.expiry)>.<base64url(HMAC-SHA-256)>` under a key derived from the
    /// system key, so every server on the same database accepts it.
    func issueToken(accessKeyID: String, expires: Date) -> String {
        let payload = Data("\(accessKeyID).\(Int64(expires.timeIntervalSince1970))".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: vault.derivedKey(purpose: "token"))
        return "skm1.\(payload.base64URLEncoded).\(Data(mac).base64URLEncoded)"
    }

    /// What a bearer token says of itself, and whether this installation issued it; `nil` when it is not a token
    /// of this format at all. Nothing here is secret: the request log records it (never the token).
    package func inspectToken(_ token: String) -> TokenObservation? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "skm1", let payload = Data(base64URLEncoded: String(parts[1])),
            let mac = Data(base64URLEncoded: String(parts[2]))
        else { return nil }
        let authentic = HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: payload, using: vault.derivedKey(purpose: "token"))
        let text = String(decoding: payload, as: UTF8.self)
        guard let dot = text.lastIndex(of: "."), let expiry = Int64(text[text.index(after: dot)...]),
            let expires = Timestamp.date(secondsSince1970: expiry)
        else { return TokenObservation(authentic: false, accessKeyId: nil, expiresAt: nil) }
        let accessKey = String(text[..<dot])
        guard authentic else {
            // Claims of a token this installation did not sign are not evidence of anything.
            return TokenObservation(authentic: false, accessKeyId: nil, expiresAt: nil)
        }
        return TokenObservation(authentic: true, accessKeyId: accessKey, expiresAt: expires)
    }

    /// The claims of a token this installation issued that has not expired.
    func verifyToken(_ token: String) throws(Rejection) -> (accessKeyID: String, expires: Date) {
        guard let observed = inspectToken(token), observed.authentic, let accessKey = observed.accessKeyId,
            let expires = observed.expiresAt
        else {
            throw Rejection(.tokenAuthentic, "the bearer token was not issued by this key manager, or was altered")
        }
        guard expires > clock.now else {
            throw Rejection(.tokenNotExpired, "the bearer token expired at \(Timestamp.rfc3339(expires))")
        }
        return (accessKey, expires)
    }
}

/// What the request log records of a bearer token: whether this installation signed it and, when it did, the User
/// Access Key it was issued to and when it expires. Never the token itself.
package struct TokenObservation: Sendable, Hashable {
    package var authentic: Bool
    package var accessKeyId: String?
    package var expiresAt: Date?

    package init(authentic: Bool, accessKeyId: String? = nil, expiresAt: Date? = nil) {
        self.authentic = authentic
        self.accessKeyId = accessKeyId
        self.expiresAt = expiresAt
    }
}

enum ConstantTime {
    static func equal(_ lhs: Data, _ rhs: Data) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init?(base64URLEncoded text: String) {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        self.init(base64Encoded: standard)
    }
}
