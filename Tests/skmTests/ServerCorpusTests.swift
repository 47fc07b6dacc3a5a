import Foundation
import SKMCore
import SKMTestSupport
import Testing

/// A corpus written by a real `skm serve`, driven through real sockets (curl, and raw bytes for what curl will not
/// send), analysed back with `skm analyze --db`: every request the server refused must be explained with the very
/// condition the server decided on, and confirmed.
@Suite struct ServerCorpusTests {
    /// Sends raw bytes to a plain-HTTP port and returns the answer.
    static func raw(_ cli: CommandLine, port: Int, _ request: String) async throws -> String {
        try await Subprocess.run(
            URL(fileURLWithPath: "/bin/bash"),
            ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(port); printf '%b' \"$REQUEST\" >&3; timeout 5 cat <&3"],
            directory: cli.directory, environment: ["REQUEST": request]
        ).output
    }

    @Test func theServersOwnLogIsExplainedWithTheConditionsTheServerDecidedOn() async throws {
        let installation = try await ServeTests.installation()
        let cli = installation.cli
        try await cli.run(["keystore", "create", "--name", "m", "--mac-auth", "Y"])
        try await cli.run(["auth", "add-mac", "--keystore", "m", "aa:bb:cc:dd:ee:ff"])
        let key = try #require(
            try await cli.json(["key", "create", "--keystore", "s", "--type", "symmetric", "--name", "k"])["key"]?[
                "id"]?
                .stringValue)
        let macKey = try #require(
            try await cli.json(["key", "create", "--keystore", "m", "--type", "symmetric", "--name", "km"])["key"]?[
                "id"]?
                .stringValue)
        let spare = try #require(
            try await cli.json(["access-key", "add"])["userAccessKeyId"]?.stringValue)
        try await cli.run(["access-key", "revoke", spare])

        let log = cli.directory.appendingPathComponent("requests.jsonl").path
        let (process, port, plain) = try await cli.serve(
            ports: 60000..<62000, plainPorts: 58000..<60000,
            arguments: ["--request-log", log, "--log-level", "debug"])
        defer { if process.isRunning { process.terminate() } }
        let plainPort = try #require(plain)
        let base = "https://127.0.0.1:\(port)/keymanager"
        let appkey = installation.appkey
        let uak = [
            "-H", "X-TC-AUTHENTICATION-ID: \(installation.accessKeyId)",
            "-H", "X-TC-AUTHENTICATION-SECRET: \(installation.secret)",
        ]
        func call(_ method: String, _ path: String, _ body: String? = nil, _ headers: [String] = []) async throws {
            var arguments =
                ["-g", "--cacert", "ca.pem", "-X", method, "-H", "Content-Type: application/json"] + headers
            if let body { arguments += ["-d", body] }
            _ = try await cli.curl(arguments + ["\(base)/\(path)"])
        }
        let encrypted = try await cli.curl([
            "--cacert", "ca.pem", "-X", "POST", "-H", "Content-Type: application/json", "-d", #"{"plaintext":"hi"}"#,
            "\(base)/v1.2/appkey/\(appkey)/symmetric-keys/\(key)/encrypt",
        ])
        let ciphertext = try #require(try JSONParser().parse(encrypted)["body"]?["ciphertext"]?.stringValue)
        let twice = Data(ciphertext.utf8).base64EncodedString()
        try await call("POST", "v1.2/appkey/\(appkey)/symmetric-keys/\(key)/decrypt", #"{"ciphertext":"\#(twice)"}"#)
        try await call("POST", "v1.2/appkey/\(appkey)/symmetric-keys/\(key)/decrypt", #"{"ciphertext":"AAAA"}"#)
        try await call("POST", "v1.2/appkey/\(appkey)/symmetric-keys/\(key)/encrypt", #"{"text":"hi"}"#)
        try await call(
            "POST", "v1.2/appkey/\(appkey)/symmetric-keys/0123456789abcdef0123456789abcdef/encrypt",
            #"{"plaintext":"hi"}"#)
        try await call("POST", "v1.2/appkey/NoSuchAppkey0000/symmetric-keys/\(key)/encrypt", #"{"plaintext":"hi"}"#)
        try await call("POST", "v1.2/appkey/\(appkey)/symmetric-keys/\(macKey)/encrypt", #"{"plaintext":"hi"}"#)
        try await call(
            "POST", "v1.2/appkey/\(appkey)/symmetric-keys/\(macKey)/encrypt", #"{"plaintext":"hi"}"#,
            ["-H", "X-TOAST-CLIENT-MAC-ADDR: 02:00:00:00:00:01"])
        try await call("GET", "v1.2/appkey/\(appkey)/keystores")
        try await call(
            "GET", "v1.2/appkey/\(appkey)/keystores", nil,
            ["-H", "X-TC-AUTHENTICATION-ID: \(spare)", "-H", "X-TC-AUTHENTICATION-SECRET: whatever"])
        try await call("GET", "v1.0/appkey/\(appkey)/keystores")
        try await call(
            "POST", "v1.2/appkey/\(appkey)/keys/symmetric-keys/create", #"{"keyStoreName":"nope","name":"x"}"#, uak)
        try await call("PUT", "v1.2/appkey/\(appkey)/user-access-keys/\(spare)/revoke", nil, uak)
        // A key id that percent-decodes to a line break and a terminal escape.
        try await call(
            "POST", "v1.2/appkey/\(appkey)/symmetric-keys/nothing%0aforged%1b[31m%00/encrypt", #"{"plaintext":"hi"}"#)
        try await call("GET", "v9/appkey/\(appkey)/confirm")
        // What curl will not send: a NUL in a header, headers over the parser's limit.
        let nul = try await Self.raw(
            cli, port: plainPort, "GET /health HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\0b\\r\\n\\r\\n")
        #expect(nul.contains("\"resultMessage\":\"Invalid Request\""), "\(nul)")
        let big = String(repeating: "a", count: 70_000)
        let huge = try await Self.raw(
            cli, port: plainPort,
            "GET /keymanager/v1.2/appkey/\(appkey)/confirm HTTP/1.1\\r\\nHost: x\\r\\nX-B: \(big)\\r\\n\\r\\n")
        #expect(huge.contains("\"resultMessage\":\"Invalid Request\""))
        process.terminate()
        await process.waitUntilExit()

        // What the server decided, from its operator log.
        let operatorLog = process.error
        #expect(!operatorLog.contains("\u{1B}"), "a terminal escape reached the operator log")
        #expect(!operatorLog.split(separator: "\n").contains { $0.hasPrefix("forged") })
        #expect(operatorLog.contains("\\u{a}forged\\u{1b}"))
        var decided: [String: (message: String, check: String)] = [:]
        let pattern = /request (\S+) refused: ([^(]+) \(([a-z0-9-]+)\):/
        for line in operatorLog.split(separator: "\n") {
            if let match = line.firstMatch(of: pattern) {
                decided[String(match.1)] = (String(match.2), String(match.3))
            }
        }
        #expect(decided.count >= 14, "the server refused \(decided.count) requests: \(operatorLog)")
        #expect(Set(decided.values.map(\.check)).count >= 12)

        // The analysis of the server's own log, with the state read from its database.
        let lines = try ServeTests.logLines(log)
        #expect(
            lines.count == decided.count + lines.filter { $0["response"]?["isSuccessful"]?.boolValue == true }.count)
        let analysed = try await cli.run([
            "analyze", log, "--db", cli.directory.appendingPathComponent("data/skm.sqlite").path, "--rules",
            AnalyzeCommandTests.rules, "--json", "report.json",
        ])
        #expect(analysed.status == 1, "\(analysed.error)")
        let report = try JSONParser().parse(
            try Data(contentsOf: cli.directory.appendingPathComponent("report.json")))
        var explained: [String: (check: String, verdict: String, error: String)] = [:]
        for group in report["groups"]?.arrayValue ?? [] {
            for id in group["requestIds"]?.arrayValue ?? [] {
                explained[id.stringValue ?? ""] = (
                    group["check"]?.stringValue ?? "-", group["verdict"]?.stringValue ?? "-",
                    group["error"]?.stringValue ?? "-"
                )
            }
        }
        for (id, server) in decided.sorted(by: { $0.key < $1.key }) {
            let analysis = explained[id]
            #expect(
                analysis?.check == server.check,
                "\(id): server decided \(server), analysis says \(String(describing: analysis))")
            #expect(analysis?.verdict == "confirmed", "\(id): \(String(describing: analysis))")
        }
    }
}
