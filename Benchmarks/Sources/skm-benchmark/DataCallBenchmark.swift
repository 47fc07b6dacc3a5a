import Foundation
import SKMCore
import SKMPrimitives
import SKMStorage
import SKMWire

/// `data-call`: the server's own work per encrypt or decrypt, without HTTP and TLS. A new SQLite installation behind
/// the cache `skm serve` keeps, one key store that allows 127.0.0.1 and one AES key; then, per call, what the
/// server does once the body is read: route the path, parse the body, run the engine, count the call, build the
/// request-log record and its line, and render the answer. Prints the median and 90th percentile per call, for
/// a profiler or an instruction counter to look at one call at a time.
///
///     skm-benchmark data-call [encrypt|decrypt] [calls, default 200000]
func dataCallBenchmark(_ arguments: [String]) async throws {
    let operation = arguments.first ?? "encrypt"
    let calls = arguments.dropFirst().first.flatMap(Int.init) ?? 200_000
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-data-call-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let database = try SQLiteStorage(path: directory.appendingPathComponent("skm.sqlite").path)
    let storage = CachingStorage(database, lifetime: .seconds(1))
    let engine = try await Engine.initialize(storage: storage, rootKey: .generate())
    let (appkey, _) = try await engine.createAppkey(name: "bench", actor: "bench")
    let store = try await engine.createKeyStore(
        appkey: appkey.id,
        settings: KeyStoreSettings(name: "bench", ip4AuthUse: true, macAuthUse: false, certificateAuthUse: false),
        actor: "bench")
    _ = try await engine.addAuthEntry(
        appkey: appkey.id, store: .id(store.id), kind: .ipv4, value: "127.0.0.1", actor: "bench")
    let key = try await engine.createKey(
        appkey: appkey.id, store: .id(store.id), type: .symmetric, name: "bench", actor: "bench")
    let base = "/keymanager/v1.2/appkey/\(appkey.id)/symmetric-keys/\(key.id)"
    let client = ClientIdentity(address: IPv4Address(peer: "127.0.0.1"), peerAddress: "127.0.0.1", tls: true)

    func call(_ path: String, _ body: [UInt8]) async -> (Outcome, [UInt8]) {
        let time = engine.configuration.clock.now
        guard case .api(let route) = APIRoute.match(method: "POST", path: path) else { fatalError("not routed") }
        let request = APIRequest(
            operation: route.operation, apiVersion: route.apiVersion, appkey: route.appkey, keyId: route.keyId,
            keyStoreId: route.keyStoreId, authKind: route.authKind, resourceName: route.resourceName,
            body: .parse(body, form: false), query: [:], credentials: Credentials())
        let outcome = await engine.execute(request, from: client)
        engine.noteCall(
            appkey: route.appkey, keyId: route.keyId, operation: route.operation, error: outcome.error, at: time)
        let record = RequestRecord(
            request: request, client: client, outcome: outcome, authority: engine.authority, time: time,
            requestId: "0a1b2c3d-1", method: "POST", path: APIRoute.loggedPath(path), durationMs: 0.1,
            bodyBytes: body.count, headerBytes: 120, credentialsRequired: engine.credentialsRequirement(of: request))
        var line = record.jsonLine
        line.append(contentsOf: outcome.envelopeBytes)
        return (outcome, line)
    }

    let plaintext = Array(#"{"plaintext":"0123456789abcdef0123456789abcdef"}"#.utf8)
    let (encrypted, _) = await call(base + "/encrypt", plaintext)
    guard case .success(.body(let answer)) = encrypted.result, case .string(let ciphertext)? = answer["ciphertext"]
    else { fatalError("encrypt failed: \(String(describing: encrypted.error))") }
    let path = operation == "decrypt" ? base + "/decrypt" : base + "/encrypt"
    let body = operation == "decrypt" ? Array(#"{"ciphertext":"\#(ciphertext)"}"#.utf8) : plaintext

    var sink = 0
    for _ in 0..<1000 { sink &+= await call(path, body).1.count }
    let clock = ContinuousClock()
    var times: [Double] = []
    times.reserveCapacity(calls)
    for _ in 0..<calls {
        let start = clock.now
        let (outcome, line) = await call(path, body)
        let elapsed = clock.now - start
        if outcome.error != nil { fatalError("\(operation) failed: \(String(describing: outcome.error))") }
        sink &+= line.count
        times.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
    }
    times.sort()
    print(
        String(
            format: "%@: %d calls, median %.2f µs, p90 %.2f µs per call", operation, calls, times[calls / 2],
            times[calls * 9 / 10]))
    if sink == 42 { print("") }
}
