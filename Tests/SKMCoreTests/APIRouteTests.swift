import Foundation
import SKMCore
import SKMWire
import Testing

/// How a method and path are routed: the server's own endpoints, the API's paths with their parameters, and the
/// ways a path can be written (empty segments, percent-encoding) that must route as SKM routes them.
@Suite struct APIRouteTests {
    static let appkey = "AbCdEfGhIjKlMnOpQrStUvWx"
    static let key = "0123456789abcdef0123456789abcdef"

    @Test func serverEndpointsAnswerTheirMethodOnly() {
        #expect(APIRoute.match(method: "GET", path: "/health") == .health)
        #expect(APIRoute.match(method: "GET", path: "//health/") == .health)
        #expect(APIRoute.match(method: "POST", path: "/health") == .notFound(apiVersion: nil, appkey: nil))
        #expect(APIRoute.match(method: "GET", path: "/metrics") == .metrics)
        #expect(APIRoute.match(method: "POST", path: "/oauth2/token/create") == .token)
        #expect(APIRoute.match(method: "GET", path: "/oauth2/token/create") == .notFound(apiVersion: nil, appkey: nil))
        #expect(APIRoute.match(method: "GET", path: "/health/extra") == .notFound(apiVersion: nil, appkey: nil))
        #expect(APIRoute.match(method: "GET", path: "/") == .notFound(apiVersion: nil, appkey: nil))
        #expect(APIRoute.match(method: "GET", path: "") == .notFound(apiVersion: nil, appkey: nil))
    }

    @Test func dataCallsCarryTheirAppkeyVersionAndKey() throws {
        let path = "/keymanager/v1.2/appkey/\(Self.appkey)/symmetric-keys/\(Self.key)/encrypt"
        guard case .api(let call) = APIRoute.match(method: "POST", path: path) else {
            Issue.record("not routed")
            return
        }
        #expect(call.operation == .encrypt)
        #expect(call.apiVersion == .v1_2)
        #expect(call.appkey == Self.appkey)
        #expect(call.keyId == Self.key)
        guard
            case .api(let doubled) = APIRoute.match(
                method: "POST", path: path.replacingOccurrences(of: "/", with: "//"))
        else {
            Issue.record("empty segments are not skipped")
            return
        }
        #expect(doubled == call)
        #expect(
            APIRoute.match(method: "GET", path: path)
                == .notFound(apiVersion: .v1_2, appkey: Self.appkey))
        #expect(
            APIRoute.match(method: "POST", path: "/keymanager/v9.9/appkey/\(Self.appkey)/symmetric-keys/k/encrypt")
                == .notFound(apiVersion: nil, appkey: Self.appkey))
    }

    @Test func percentEncodedSegmentsAreDecodedOneByOne() {
        #expect(
            APIRoute.segments(of: "/keymanager/v1.0/appkey/a%2Fb/secrets/k%20y") == [
                "keymanager", "v1.0", "appkey", "a/b", "secrets", "k y",
            ])
        // A malformed escape stays as written; a segment without one is never decoded.
        #expect(APIRoute.segments(of: "/a%zz/b%/c") == ["a%zz", "b%", "c"])
        #expect(APIRoute.segments(of: "/é/ключ//") == ["é", "ключ"])
        #expect(APIRoute.segments(of: "///") == [])
        guard case .api(let call) = APIRoute.match(method: "GET", path: "/keymanager/v1.0/appkey/app/secrets/s%65c")
        else {
            Issue.record("not routed")
            return
        }
        #expect(call.operation == .getSecret)
        #expect(call.keyId == "sec")
    }
}
