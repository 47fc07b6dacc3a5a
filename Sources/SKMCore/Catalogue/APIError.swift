/// Every error the SKM API answers with, in one exhaustive catalogue.
///
/// The messages are the documented strings of NHN Cloud's Secure Key Manager, verbatim. The numeric result codes
/// and HTTP statuses are **this implementation's own**: NHN does not publish its codes.
package enum APIError: Int, CaseIterable, Sendable, Hashable, Codable {
    case urlNotFound = -1000
    case invalidRequest = -1001
    case unauthorized = -1002
    case invalidAppkey = -1100
    case invalidKeyID = -1200
    case invalidKeyVersion = -1201
    case invalidUserData = -1202
    case invalidKeyStatus = -1203
    case invalidKeyVersionStatus = -1204
    case ipv4AuthFailure = -1300
    case macAuthFailure = -1301
    case certificateAuthFailure = -1302
    case certificateExpired = -1303
    case certificateNotYetValid = -1304
    case untrustedCertificate = -1305
    case internalError = -1900

    /// The `resultCode` of the response envelope.
    package var resultCode: Int { rawValue }

    /// The `resultMessage` of the response envelope, as SKM documents it.
    package var resultMessage: String {
        switch self {
        case .urlNotFound: return "URL NOT FOUND"
        case .invalidRequest: return "Invalid Request"
        case .unauthorized: return "Unauthorized"
        case .invalidAppkey: return "Invalid Appkey"
        case .invalidKeyID: return "Invalid Key ID"
        case .invalidKeyVersion: return "Invalid Key Version"
        case .invalidUserData: return "Invalid User Data"
        case .invalidKeyStatus: return "Invalid Key Status"
        case .invalidKeyVersionStatus: return "Invalid Key Version Status"
        case .ipv4AuthFailure: return "IPv4 Auth Failure"
        case .macAuthFailure: return "MAC Auth Failure"
        case .certificateAuthFailure: return "Certificate Auth Failure"
        case .certificateExpired: return "Certificate Expired"
        case .certificateNotYetValid: return "Certificate Not Yet Valid"
        case .untrustedCertificate: return "Untrusted Certificate"
        case .internalError: return "Internal Error"
        }
    }

    /// The HTTP status the server answers with.
    package var httpStatus: Int {
        switch self {
        case .urlNotFound: return 404
        case .invalidRequest: return 400
        case .unauthorized: return 401
        case .invalidAppkey: return 401
        case .invalidKeyID: return 404
        case .invalidKeyVersion: return 400
        case .invalidUserData: return 400
        case .invalidKeyStatus: return 409
        case .invalidKeyVersionStatus: return 409
        case .ipv4AuthFailure, .macAuthFailure, .certificateAuthFailure, .certificateExpired,
            .certificateNotYetValid, .untrustedCertificate:
            return 403
        case .internalError: return 500
        }
    }

    /// A stable identifier for rule files and reports, e.g. `INVALID_KEY_VERSION`.
    package var identifier: String {
        switch self {
        case .urlNotFound: return "URL_NOT_FOUND"
        case .invalidRequest: return "INVALID_REQUEST"
        case .unauthorized: return "UNAUTHORIZED"
        case .invalidAppkey: return "INVALID_APPKEY"
        case .invalidKeyID: return "INVALID_KEY_ID"
        case .invalidKeyVersion: return "INVALID_KEY_VERSION"
        case .invalidUserData: return "INVALID_USER_DATA"
        case .invalidKeyStatus: return "INVALID_KEY_STATUS"
        case .invalidKeyVersionStatus: return "INVALID_KEY_VERSION_STATUS"
        case .ipv4AuthFailure: return "IPV4_AUTH_FAILURE"
        case .macAuthFailure: return "MAC_AUTH_FAILURE"
        case .certificateAuthFailure: return "CERTIFICATE_AUTH_FAILURE"
        case .certificateExpired: return "CERTIFICATE_EXPIRED"
        case .certificateNotYetValid: return "CERTIFICATE_NOT_YET_VALID"
        case .untrustedCertificate: return "UNTRUSTED_CERTIFICATE"
        case .internalError: return "INTERNAL_ERROR"
        }
    }

    package init?(resultCode: Int) {
        self.init(rawValue: resultCode)
    }

    /// Finds the catalogue entry for a logged message; case and surrounding space are ignored, since SKM's own
    /// documents vary ("Invalid Key Id", "ipv4 auth failure").
    package init?(resultMessage: String) {
        let wanted = resultMessage.trimmingCharacters(in: .whitespaces).lowercased()
        guard let match = APIError.allCases.first(where: { $0.resultMessage.lowercased() == wanted }) else {
            return nil
        }
        self = match
    }
}

extension APIError: CustomStringConvertible {
    package var description: String { "\(resultMessage) (\(resultCode))" }
}
