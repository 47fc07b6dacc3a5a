import Foundation
import SKMCore
import SKMTestSupport
import Testing

/// Two `skm serve` processes on one PostgreSQL database, as operators run several nodes: what one node does, the
/// other sees; a node killed under load loses no acknowledged write; the analyser reads the state back from
/// PostgreSQL and explains the refusals.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, "needs the test PostgreSQL: scripts/test.sh starts one"))
struct TwoNodeServeTests {
    @Test func twoNodesShareOneKeyManager() async throws {
        let local = try CommandLine.fresh()
        let location = try await TestPostgres.freshDatabase()
        var environment = local.environment
        environment["SKM_DB"] = "\(location.description)?sslmode=disable"
        environment["SKM_DB_PASSWORD"] = TestPostgres.password
        environment["SKM_ROOT_KEY_FILE"] = local.directory.appendingPathComponent("root.key").path
        let cli = CommandLine(directory: local.directory, environment: environment)
        try await cli.run(["init"])
        let created = try await cli.json(["appkey", "create", "--name", "nodes"])
        let installation = ServeTests.Installation(
            cli: cli, appkey: try #require(created["appkey"]?.stringValue),
            accessKeyId: try #require(created["userAccessKeyId"]?.stringValue),
            secret: try #require(created["userAccessKeySecret"]?.stringValue))
        try await cli.run(["keystore", "create", "--name", "s", "--ip4-auth", "Y"])
        try await cli.run(["auth", "add-ip", "--keystore", "s", "127.0.0.1"])
        let key = try await cli.run([
            "key", "create", "--keystore", "s", "--type", "symmetric", "--name", "shared", "--quiet",
        ])
        .output.trimmingCharacters(in: .whitespacesAndNewlines)

        let logA = cli.directory.appendingPathComponent("a.jsonl").path
        let logB = cli.directory.appendingPathComponent("b.jsonl").path
        let (nodeA, portA) = try await cli.serve(ports: 45000..<47500, arguments: ["--request-log", logA])
        defer { if nodeA.isRunning { nodeA.terminate() } }
        let (nodeB, portB) = try await cli.serve(ports: 47500..<50000, arguments: ["--request-log", logB])
        defer { if nodeB.isRunning { nodeB.terminate() } }

        // An answer, waiting out a loaded machine: no answer within curl's 5 s is asked again, up to 30 s.
        func call(_ port: Int, _ operation: String, _ body: String) async throws -> JSONValue {
            let deadline = ContinuousClock.now + .seconds(30)
            while true {
                let output = try await cli.curl([
                    "--cacert", "ca.pem", "-X", "POST", "-H", "Content-Type: application/json", "-d", body,
                    "https://127.0.0.1:\(port)/keymanager/v1.2/appkey/\(installation.appkey)/symmetric-keys/\(key)/\(operation)",
                ])
                if !output.isEmpty || ContinuousClock.now > deadline { return try JSONParser().parse(output) }
            }
        }

        // Encrypted on A, decrypted on B.
        let sealed = try await call(portA, "encrypt", #"{"plaintext":"two nodes"}"#)
        let ciphertext = try #require(sealed["body"]?["ciphertext"]?.stringValue)
        let opened = try await call(portB, "decrypt", #"{"ciphertext":"\#(ciphertext)"}"#)
        #expect(opened["body"]?["plaintext"]?.stringValue == "two nodes")

        // A key scheduled for deletion through A's API is refused by B within the cache window (1 s): B may answer
        // from its cache a call sent up to 1 s after A acknowledged the deletion, never one sent later. Each call
        // is judged by when it was sent, so a slow client (curl started under load) cannot make the server look slow.
        let deletion = try await cli.curl([
            "--cacert", "ca.pem", "-X", "PUT",
            "-H", "X-TC-AUTHENTICATION-ID: \(installation.accessKeyId)",
            "-H", "X-TC-AUTHENTICATION-SECRET: \(installation.secret)",
            "https://127.0.0.1:\(portA)/keymanager/v1.2/appkey/\(installation.appkey)/keys/\(key)/delete",
        ])
        #expect(deletion.contains("\"isSuccessful\":true"), "\(deletion)")
        let deleted = ContinuousClock.now
        var refusal: JSONValue?
        while refusal == nil, ContinuousClock.now - deleted < .seconds(30) {
            let sent = ContinuousClock.now
            let answer = try await call(portB, "decrypt", #"{"ciphertext":"\#(ciphertext)"}"#)
            if answer["header"]?["isSuccessful"] == .bool(false) {
                refusal = answer
            } else {
                #expect(
                    sent - deleted < .seconds(1), "B answered from a stale cache \(sent - deleted) after the deletion")
            }
        }
        #expect(refusal?["header"]?["resultMessage"]?.stringValue == "Invalid Key Status")

        // A killed under load: every creation it acknowledged is in the database, and B goes on.
        let (acknowledged, _) = try await ServeTests.createsThenKill(
            installation, process: nodeA, port: portA, seconds: 2)
        #expect(acknowledged.count >= 10, "only \(acknowledged.count) creations were acknowledged")
        let names = Set(
            (try await cli.json(["key", "list"]).arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        #expect(names.count == acknowledged.count + 1)
        #expect(try await ServeTests.create(installation, port: portB, name: "after") != nil)

        // The analyser reads the state from PostgreSQL (without changing it) and explains B's refusal.
        nodeB.terminate()
        await nodeB.waitUntilExit()
        let report = cli.directory.appendingPathComponent("report.json").path
        let analysis = try await cli.run([
            "analyze", logB, "--db", environment["SKM_DB"]!, "--rules", AnalyzeCommandTests.rules, "--json", report,
        ])
        #expect(analysis.status == 0 || analysis.status == 1, "\(analysis.error)")
        let groups = try JSONParser().parse(try String(contentsOfFile: report, encoding: .utf8))["groups"]?.arrayValue
        let group = try #require(groups?.first { $0["resultCode"] == .int(-1203) })
        #expect(group["verdict"]?.stringValue == "confirmed")
    }
}
