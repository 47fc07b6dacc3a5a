import Foundation
import HTTPTypes
import SKMCore

extension RequestBody {
    /// The body of an HTTP request as the engine reads it: JSON, or for token creation a form
    /// (`grant_type=client_credentials`) turned into an object. Problems are kept for the engine, which reports them
    /// only after the appkey and credential checks, as the decision procedure orders.
    package static func parse(_ bytes: some Collection<UInt8>, form: Bool) -> RequestBody {
        guard !bytes.isEmpty else { return .none }
        if form {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .malformed("the form is not UTF-8")
            }
            var object = JSONObject()
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                let value =
                    parts.count > 1
                    ? String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" : ""
                object[name] = .string(value)
            }
            return .json(.object(object))
        }
        do {
            return .json(try JSONParser().parse(bytes))
        } catch {
            return .malformed(error.description)
        }
    }
}

extension Credentials {
    /// The credentials of an API call's headers: a User Access Key (`X-TC-AUTHENTICATION-ID` and `-SECRET`) and a
    /// bearer token (`X-NHN-AUTHORIZATION`, or `Authorization: Bearer …`).
    package init(
        accessKeyIDHeader: String?, accessKeySecretHeader: String?, nhnAuthorizationHeader: String?,
        authorizationHeader: String?
    ) {
        self.init(userAccessKeyID: accessKeyIDHeader, userAccessKeySecret: accessKeySecretHeader)
        let bearer =
            nhnAuthorizationHeader ?? authorizationHeader.flatMap { $0.lowercased().hasPrefix("bearer ") ? $0 : nil }
        if let bearer {
            let token = bearer.lowercased().hasPrefix("bearer ") ? String(bearer.dropFirst(7)) : bearer
            bearerToken = token.trimmingCharacters(in: .whitespaces)
        }
    }

    /// The same, with `header` looking a header up by name, case-insensitively.
    package init(headers header: (String) -> String?) {
        self.init(
            accessKeyIDHeader: header(HTTPField.Name.userAccessKeyID.rawName),
            accessKeySecretHeader: header(HTTPField.Name.userAccessKeySecret.rawName),
            nhnAuthorizationHeader: header(HTTPField.Name.nhnAuthorization.rawName),
            authorizationHeader: header(HTTPField.Name.authorization.rawName))
    }

    /// The User Access Key of a token request's `Authorization: Basic id:secret` header.
    package init(basicAuthorization authorization: String?) {
        self.init()
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return }
        userAccessKeyID = String(text[..<colon])
        userAccessKeySecret = String(text[text.index(after: colon)...])
    }
}
