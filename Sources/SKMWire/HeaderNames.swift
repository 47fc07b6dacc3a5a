import HTTPTypes
import SKMCore

/// The header vocabulary of the SKM API, spelled once: the server, the request-log reader, the HAR reader and the
/// command line all name headers through these.
extension HTTPField.Name {
    /// A User Access Key's id (v1.2 management calls).
    package static let userAccessKeyID = HTTPField.Name("X-TC-AUTHENTICATION-ID")!
    /// A User Access Key's secret.
    package static let userAccessKeySecret = HTTPField.Name("X-TC-AUTHENTICATION-SECRET")!
    /// `Bearer <token>` (v1.3 management calls).
    package static let nhnAuthorization = HTTPField.Name("X-NHN-AUTHORIZATION")!
    /// The client's MAC address, for key stores that authenticate by it.
    package static let clientMACAddress = HTTPField.Name("X-TOAST-CLIENT-MAC-ADDR")!
    /// The client's address as a proxy saw it; believed only from trusted proxies.
    package static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    /// The id of the request, in every answer and in the request log.
    package static let requestID = HTTPField.Name("X-Request-Id")!
}
