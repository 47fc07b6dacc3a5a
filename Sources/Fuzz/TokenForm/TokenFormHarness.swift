import Foundation
import FuzzSupport
import SKMCore
import SKMWire

/// Fuzzes the token endpoint's form bodies (`grant_type=client_credentials`) and its Basic authorization: the first
/// byte says whether the bytes are the body or the authorization header's credentials.
private let installation = FuzzInstallation.make()

/// Builds the installation before the first input, so that what it keeps is not taken for a leak of that input.
@_cdecl("LLVMFuzzerInitialize")
package func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    _ = installation
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzTokenForm(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let valid = Data("\(installation.accessKey.accessKey.id):\(installation.accessKey.secret)".utf8)
    var authorization = "Basic " + valid.base64EncodedString()
    var body = RequestBody.parse(Array("grant_type=client_credentials".utf8), form: true)
    if data[0] & 1 == 0 {
        body = RequestBody.parse(bytes, form: true)
    } else {
        authorization = "Basic " + Data(bytes).base64EncodedString()
        if data[0] & 2 == 0 { authorization = String(decoding: bytes, as: UTF8.self) }
    }
    let request = APIRequest(
        operation: .createToken, apiVersion: .v1_3, appkey: "", body: body,
        credentials: Credentials(basicAuthorization: authorization))
    let outcome = FuzzInstallation.wait { await installation.engine.execute(request, from: installation.client) }
    if let token = outcome.body?["access_token"]?.stringValue {
        _ = installation.engine.inspectToken(token)
    }
    _ = installation.engine.inspectToken(String(decoding: bytes, as: UTF8.self))
    return 0
}
