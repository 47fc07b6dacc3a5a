import Foundation

/// One API request as the engine sees it: independent of HTTP, so the server, the CLI's `call` and the tests all
/// drive the same decision procedure.
package struct APIRequest: Sendable {
    package var operation: APIOperation
    package var apiVersion: APIVersion
    package var appkey: String
    /// The key id from the path.
    package var keyId: String?
    /// The key store id from the path, as text (validated by the engine).
    package var keyStoreId: String?
    /// Which client-auth factor an auth-entry operation is about.
    package var authKind: AuthKind?
    /// A named resource from the path (the certificate of a download).
    package var resourceName: String?
    package var body: RequestBody
    package var query: [String: String]
    package var credentials: Credentials

    package init(
        operation: APIOperation, apiVersion: APIVersion = .v1_3, appkey: String, keyId: String? = nil,
        keyStoreId: String? = nil, authKind: AuthKind? = nil, resourceName: String? = nil, body: RequestBody = .none,
        query: [String: String] = [:], credentials: Credentials = Credentials()
    ) {
        self.operation = operation
        self.apiVersion = apiVersion
        self.appkey = appkey
        self.keyId = keyId
        self.keyStoreId = keyStoreId
        self.authKind = authKind
        self.resourceName = resourceName
        self.body = body
        self.query = query
        self.credentials = credentials
    }
}

/// A request body: absent, a parsed JSON value, or something that did not parse (kept for the Invalid Request
/// answer, which must come after the appkey and credential checks).
package enum RequestBody: Sendable, Hashable {
    case none
    case json(JSONValue)
    case malformed(String)
    /// Longer than the server reads (the limit, in bytes); the rest was not read.
    case oversized(Int)
}

/// Credentials a management call may carry.
package struct Credentials: Sendable, Hashable {
    /// v1.2 `X-TC-AUTHENTICATION-ID`, or the user part of token creation's Basic authorization.
    package var userAccessKeyID: String?
    /// v1.2 `X-TC-AUTHENTICATION-SECRET`, or the password part of Basic authorization.
    package var userAccessKeySecret: String?
    /// v1.3 `X-NHN-AUTHORIZATION: Bearer …`.
    package var bearerToken: String?

    package init(userAccessKeyID: String? = nil, userAccessKeySecret: String? = nil, bearerToken: String? = nil) {
        self.userAccessKeyID = userAccessKeyID
        self.userAccessKeySecret = userAccessKeySecret
        self.bearerToken = bearerToken
    }

    package var isEmpty: Bool {
        userAccessKeyID == nil && userAccessKeySecret == nil && bearerToken == nil
    }
}

/// What the engine answered.
package struct Outcome: Sendable {
    package var result: Result<Payload, Rejection>
    /// The key version the call used or reported, for the response and the request log.
    package var keyVersion: Int?

    package init(_ result: Result<Payload, Rejection>, keyVersion: Int? = nil) {
        self.result = result
        self.keyVersion = keyVersion
    }

    package static func failure(_ rejection: Rejection) -> Outcome {
        Outcome(.failure(rejection))
    }

    package var rejection: Rejection? {
        if case .failure(let rejection) = result { return rejection }
        return nil
    }

    package var error: APIError? { rejection?.error }

    /// The body of a successful JSON answer.
    package var body: JSONValue? {
        if case .success(let payload) = result {
            switch payload {
            case .body(let value), .bare(let value): return value
            case .file: return nil
            }
        }
        return nil
    }
}

/// A successful answer.
package enum Payload: Sendable, Hashable {
    /// A body inside the SKM envelope (`.null` for `"body": null`).
    case body(JSONValue)
    /// A JSON document without the envelope (the OAuth token answer).
    case bare(JSONValue)
    /// A file (a PKCS#12 download).
    case file(bytes: [UInt8], contentType: String, filename: String)
}
