import FuzzSupport
import SKMCore
import SKMWire

/// Fuzzes request bodies: the first byte picks an operation (data and management calls alike), the rest is parsed
/// as the server parses a body and sent to an installation with an appkey, a User Access Key, a key store and keys,
/// then logged as the server logs it. Any answer is fine; a crash or a hang is a finding. The installation's
/// storage refuses every change after it is built, so that each input meets the same state.
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
package func fuzzRequestBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var request = installation.calls[Int(data[0]) % installation.calls.count]
    request.body = RequestBody.parse(UnsafeBufferPointer(start: data + 1, count: size - 1), form: false)
    let sent = request
    let outcome = FuzzInstallation.wait { await installation.engine.execute(sent, from: installation.client) }
    let record = RequestRecord(
        request: request, client: installation.client, outcome: outcome, authority: installation.engine.authority,
        time: installation.engine.configuration.clock.now, requestId: "fuzz", method: "POST", path: "/fuzz",
        durationMs: 0, bodyBytes: size - 1)
    _ = record.jsonLine
    return 0
}
