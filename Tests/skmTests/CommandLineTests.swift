import Foundation
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing

/// Runs the built `skm` binary in a fresh installation directory.
struct CommandLine: Sendable {
    let directory: URL
    let environment: [String: String]

    static func fresh() throws -> CommandLine {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["SKM_DB"] = directory.appendingPathComponent("data/skm.sqlite").path
        environment["SKM_ROOT_KEY"] = nil
        environment["SKM_ROOT_KEY_FILE"] = nil
        environment["USER"] = "tester"
        return CommandLine(directory: directory, environment: environment)
    }

    typealias Result = Subprocess.Result

    static var binary: URL {
        // The test bundle sits next to the products it was built with.
        let bundle = URL(fileURLWithPath: Swift.CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [
            bundle, bundle.deletingLastPathComponent(), bundle.deletingLastPathComponent().deletingLastPathComponent(),
        ] {
            let url = candidate.appendingPathComponent("skm")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return bundle.appendingPathComponent("skm")
    }

    /// Runs `skm` without holding a thread of the concurrency pool while it waits: in-process servers of other
    /// suites answer on that pool, and blocked threads could starve them.
    @discardableResult
    func run(
        _ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]
    ) async throws
        -> Result
    {
        try await Subprocess.run(
            Self.binary, arguments, directory: directory, environment: environment.merging(extra) { $1 },
            input: Data((input ?? "").utf8))
    }

    func json(_ arguments: [String]) async throws -> JSONValue {
        let result = try await run(arguments + ["--json"])
        return try JSONParser().parse(result.output)
    }
}

@Suite struct CommandLineTests {
    /// A value given on the command line is quoted in an error as text: a line break in it is shown as its code, so
    /// the error stays one line.
    @Test func aLineBreakInAnArgumentIsShownNotWritten() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        try await cli.run(["appkey", "create", "--name", "lines"])
        try await cli.run(["keystore", "create", "--name", "s", "--ip4-auth", "Y"])
        let result = try await cli.run(["auth", "delete", "--keystore", "s", "--kind", "ip", "127.0.0.1\nforged"])
        #expect(result.status == 1)
        #expect(result.error.contains("127.0.0.1\\u{A}forged"), "\(result.error)")
        #expect(!result.error.split(separator: "\n").contains { $0.hasPrefix("forged") })
        // An appkey named but unknown is said to be unknown, not the key store in it.
        let unknown = try await cli.run(["auth", "list", "--keystore", "s", "--appkey", "NoSuchAppkey0000"])
        #expect(unknown.status == 3)
        #expect(unknown.error.contains("no appkey 'NoSuchAppkey0000'"), "\(unknown.error)")
    }

    @Test func quickStartEncryptsAndDecrypts() async throws {
        let cli = try CommandLine.fresh()
        #expect(try await cli.run(["init"]).status == 0)
        let rootKey = cli.directory.appendingPathComponent("data/root.key").path
        let permissions = try FileManager.default.attributesOfItem(atPath: rootKey)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        let created = try await cli.json(["appkey", "create", "--name", "demo"])
        let secret = try #require(created["userAccessKeySecret"]?.stringValue)
        #expect(try await cli.run(["keystore", "create", "--name", "payments", "--ip4-auth", "Y"]).status == 0)
        #expect(try await cli.run(["auth", "add-ip", "--keystore", "payments", "10.0.3.0/24"]).status == 0)
        let key = try await cli.run([
            "key", "create", "--keystore", "payments", "--type", "symmetric", "--name", "orders", "-q",
        ])
        .output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ManagedKey.isWellFormedID(key))

        let encrypted = try await cli.run([
            "call", "encrypt", "--key", key, "--field", "plaintext=hello world", "--ip", "10.0.3.7",
        ])
        #expect(encrypted.status == 0)
        let ciphertext = try #require(try JSONParser().parse(encrypted.output)["body"]?["ciphertext"]?.stringValue)
        let decrypted = try await cli.run([
            "call", "decrypt", "--key", key, "--field", "ciphertext=\(ciphertext)", "--ip", "10.0.3.7",
        ])
        #expect(try JSONParser().parse(decrypted.output)["body"]?["plaintext"] == "hello world")

        let refused = try await cli.run([
            "call", "decrypt", "--key", key, "--field", "ciphertext=\(ciphertext)", "--ip", "10.0.4.7",
        ])
        #expect(refused.status == 1)
        #expect(try JSONParser().parse(refused.output)["header"]?["resultMessage"] == "IPv4 Auth Failure")
        #expect(refused.error.contains("10.0.4.7 is not registered"))
        // The condition that decided it, which clients never see, is named for the operator.
        #expect(refused.error.contains("[decided by address-registered]"))
        #expect(!refused.output.contains("address-registered"))

        // Nothing the commands printed or stored leaks the secret in an error or the snapshot.
        let snapshot = try await cli.run(["snapshot", "export"])
        #expect(snapshot.status == 0)
        #expect(!snapshot.output.contains(secret))
        #expect(!snapshot.output.contains("hello world"))
        let parsed = try StateSnapshot.decode(Data(snapshot.output.utf8))
        #expect(parsed.keys.map(\.id) == [key])
        #expect(parsed.events.contains { $0.action == .keyCreate && $0.actor == "cli:tester" })
    }

    @Test func keyImportReadsTheMaterialFromAFileAndTheKeyNeverRotates() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        try await cli.run(["appkey", "create", "--name", "byok"])
        try await cli.run(["keystore", "create", "--name", "s", "--ip4-auth", "Y"])
        try await cli.run(["auth", "add-ip", "--keystore", "s", "10.0.3.0/24"])
        let bytes = (0..<32).map { UInt8(0x11 &+ $0 &* 3) }
        let console = bytes.map { String(format: "0x%02X", $0) }.joined(separator: ", ")
        let file = cli.directory.appendingPathComponent("key.txt")
        try Data((console + "\n").utf8).write(to: file)
        let imported = try await cli.run([
            "key", "import", "--keystore", "s", "--name", "byok", "--material-file", file.path, "-q",
        ])
        #expect(imported.status == 0, "\(imported.error)")
        let key = imported.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ManagedKey.isWellFormedID(key))
        // Standard input takes Base64.
        let second = try await cli.run(
            ["key", "import", "--keystore", "s", "--name", "again", "--material-file", "-", "-q"],
            input: Data(bytes).base64EncodedString())
        #expect(second.status == 0, "\(second.error)")

        let shown = try await cli.run(["key", "show", key])
        #expect(shown.output.contains("imported (never rotates)"), "\(shown.output)")
        let read = try await cli.run(["call", "getSymmetricKey", "--key", key, "--ip", "10.0.3.7"])
        #expect(try JSONParser().parse(read.output)["body"]?["symmetricKey"] == .string(console.lowercased()))

        let rotate = try await cli.run(["key", "rotate", key])
        #expect(rotate.status == 1)
        #expect(rotate.error.contains("Invalid Key Status"), "\(rotate.error)")
        #expect(rotate.error.contains("was imported"), "\(rotate.error)")

        // Wrong material: refused before anything is stored, and never repeated.
        let short = String(console.prefix(6 * 16 - 2))
        try Data(short.utf8).write(to: file)
        let refused = try await cli.run([
            "key", "import", "--keystore", "s", "--name", "x", "--material-file", file.path,
        ])
        #expect(refused.status == 2)
        #expect(refused.error.contains("holds 16 bytes; an AES-256 key is 32 bytes"), "\(refused.error)")
        #expect(!refused.error.contains("0x11"))
        let missing = try await cli.run([
            "key", "import", "--keystore", "s", "--name", "x", "--material-file", "/nonexistent/key",
        ])
        #expect(missing.status == 2)
        // An endless input is refused after its first 4 KB, not read whole.
        let endless = try await cli.run([
            "key", "import", "--keystore", "s", "--name", "x", "--material-file", "/dev/zero",
        ])
        #expect(endless.status == 2)
        #expect(endless.error.contains("at most 4096 bytes"), "\(endless.error)")
        let directory = try await cli.run([
            "key", "import", "--keystore", "s", "--name", "x", "--material-file", cli.directory.path,
        ])
        #expect(directory.error.contains("is a directory"), "\(directory.error)")

        let snapshot = try StateSnapshot.decode(Data(try await cli.run(["snapshot", "export"]).output.utf8))
        #expect(snapshot.keys.filter(\.imported).count == 2)
        #expect(snapshot.events.contains { $0.action == .keyImport && $0.actor == "cli:tester" })
    }

    @Test func authImportRegistersEveryRowOrNone() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        try await cli.run(["appkey", "create", "--name", "bulk"])
        try await cli.run(["keystore", "create", "--name", "payments", "--ip4-auth", "Y", "--mac-auth", "Y"])
        try await cli.run(["auth", "add-ip", "--keystore", "payments", "10.0.9.1"])
        let file = cli.directory.appendingPathComponent("entries.csv")
        try Data(
            ("\u{FEFF}IP Address,Description\r\n10.0.3.0/24,\"office, floor 3\"\r\n10.0.9.1,already there\r\n"
                + "10.0.5.1/24,host bits\r\n10.0.3.0/24,again\r\n").utf8
        ).write(to: file)
        let refused = try await cli.run(["auth", "import", "--keystore", "payments", file.path])
        #expect(refused.status == 1)
        #expect(
            refused.output.contains("4     value   '10.0.5.1/24': has host bits set; did you mean 10.0.5.0/24?"),
            "\(refused.output)")
        #expect(refused.output.contains("3     value   '10.0.9.1' is already registered in key store 'payments'"))
        #expect(refused.output.contains("5     value   '10.0.3.0/24' repeats line 2"))
        #expect(refused.output.contains("Registered nothing: 1 row cannot be registered."), "\(refused.output)")
        #expect(try await cli.json(["auth", "list", "--keystore", "payments"]).arrayValue?.count == 1)

        let dry = try await cli.run([
            "auth", "import", "--keystore", "payments", "--dry-run", "--skip-invalid", file.path,
        ])
        #expect(dry.output.contains("Would register 1 entry from 4 rows"), "\(dry.output)")
        let skipped = try await cli.run(["auth", "import", "--keystore", "payments", "--skip-invalid", file.path])
        #expect(skipped.status == 0, "\(skipped.error)")
        #expect(
            skipped.output.contains("Registered 1 entry from 4 rows; 2 duplicates left out; 1 invalid row skipped."),
            "\(skipped.output)")
        let listed = try await cli.json(["auth", "list", "--keystore", "payments"])
        #expect(listed.arrayValue?.compactMap { $0["value"]?.stringValue }.sorted() == ["10.0.3.0/24", "10.0.9.1"])
        let snapshot = try StateSnapshot.decode(Data(try await cli.run(["snapshot", "export"]).output.utf8))
        #expect(snapshot.events.filter { $0.action == .authAdd }.count == 2)

        let macs = try await cli.run(
            ["auth", "import", "--keystore", "payments", "--json", "-"], input: "mac address\nAA-BB-CC-DD-EE-FF\n")
        #expect(try JSONParser().parse(macs.output)["added"]?.arrayValue?.first?["value"] == "aa:bb:cc:dd:ee:ff")
        let latin1 = cli.directory.appendingPathComponent("latin1.csv")
        try Data([0x31, 0x30, 0x2E, 0x30, 0x2E, 0x30, 0x2E, 0x31, 0x2C, 0xE9, 0x0A]).write(to: latin1)
        let notUTF8 = try await cli.run(["auth", "import", "--keystore", "payments", latin1.path])
        #expect(notUTF8.status == 2)
        #expect(notUTF8.error.contains("not UTF-8 text"))
    }

    @Test func approvalWorkflowThroughTheCommandLine() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        try await cli.run(["appkey", "create", "--name", "approvals"])
        try await cli.run(["keystore", "create", "--name", "billing", "--ip4-auth", "Y"])
        let key = try await cli.run([
            "key", "create", "--keystore", "billing", "--type", "symmetric", "--name", "k", "-q",
        ])
        .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let noApprover = try await cli.run(["approval", "enable"])
        #expect(noApprover.status == 1)
        #expect(noApprover.error.contains("name an approver first"), "\(noApprover.error)")
        #expect(try await cli.run(["approval", "enable", "--approver", "cli:mlee"]).status == 0)
        try await cli.run(["auth", "add-ip", "--keystore", "billing", "10.0.3.7"])
        let listed = try await cli.run(["approval", "list"])
        #expect(listed.output.contains("cli:mlee"), "\(listed.output)")
        #expect(listed.output.contains("Scheduled to Register"), "\(listed.output)")
        #expect(listed.output.contains("cli:tester"))
        let refused = try await cli.run(["call", "encrypt", "--key", key, "--field", "plaintext=x", "--ip", "10.0.3.7"])
        #expect(refused.status == 1)
        #expect(refused.error.contains("[decided by address-approved]"), "\(refused.error)")
        let notApprover = try await cli.run(["approval", "approve", "1"])
        #expect(notApprover.status == 1)
        #expect(notApprover.error.contains("cli:tester is not an approver"), "\(notApprover.error)")
        let selfPromoted = try await cli.run(["approval", "role", "cli:tester", "approver"])
        #expect(selfPromoted.status == 1)
        #expect(try await cli.run(["approval", "disable"]).status == 1)
        let approved = try await cli.run(["approval", "approve", "1"], environment: ["USER": "mlee"])
        #expect(approved.status == 0, "\(approved.error)")
        #expect(approved.output.contains("is now In Service"), "\(approved.output)")
        let allowed = try await cli.run(["call", "encrypt", "--key", key, "--field", "plaintext=x", "--ip", "10.0.3.7"])
        #expect(allowed.status == 0, "\(allowed.error)")
        let snapshot = try StateSnapshot.decode(Data(try await cli.run(["snapshot", "export"]).output.utf8))
        #expect(snapshot.events.map(\.action).contains(.authApprove))
        #expect(snapshot.events.contains { $0.action == .approverGrant && $0.after(.member) == "cli:mlee" })

        // Key and key-store changes wait as change requests, numbered per appkey; an approver makes them.
        let waits = try await cli.run(["key", "delete", key])
        #expect(waits.status == 0, "\(waits.error)")
        #expect(
            waits.output.contains("Waits for approval: change request #1 asks to schedule the deletion of key \(key)"),
            "\(waits.output)")
        let store = try await cli.run(["keystore", "create", "--name", "second", "--ip4-auth", "Y", "--json"])
        #expect(
            store.output.contains("\"changeId\" : 2") || store.output.contains("\"changeId\": 2"), "\(store.output)")
        let changes = try await cli.run(["approval", "list"])
        #expect(changes.output.contains("Scheduled to Request Deletion"), "\(changes.output)")
        #expect(changes.output.contains("create key store 'second'"), "\(changes.output)")
        #expect(try await cli.run(["key", "show", key]).output.contains("ACTIVE"))
        let own = try await cli.run(["approval", "approve", "--change", "1"])
        #expect(own.status == 1)
        let made = try await cli.run(["approval", "approve", "--change", "1"], environment: ["USER": "mlee"])
        #expect(made.status == 0, "\(made.error)")
        #expect(made.output.contains("Change request #1 approved"), "\(made.output)")
        #expect(made.output.contains("Pending Deletion"), "\(made.output)")
        let rejected = try await cli.run(
            ["approval", "reject", "--change", "2", "--json"], environment: ["USER": "mlee"])
        #expect(rejected.output.contains("REJECTED"), "\(rejected.output)")
        #expect(!(try await cli.run(["keystore", "list"]).output.contains("second")))
        // --quiet promises an id: a change that waits prints none, and says so on standard error.
        let quiet = try await cli.run([
            "key", "create", "--keystore", "billing", "--type", "symmetric", "--name", "q", "-q",
        ])
        #expect(quiet.status == 0 && quiet.output.isEmpty, "\(quiet.output)")
        #expect(quiet.error.contains("Waits for approval: change request #3"), "\(quiet.error)")
        // The command line's user becomes an actor in the audit log: it must be a user name.
        let hostile = try await cli.run(["key", "delete", key], environment: ["USER": "mlee\u{1B}[2J"])
        #expect(hostile.status == 2)
        #expect(hostile.error.contains("is not a user name"), "\(hostile.error)")
        #expect(!hostile.error.contains("\u{1B}"))
    }

    @Test func errorsNameWhatWasWrongAndExitNonZero() async throws {
        let cli = try CommandLine.fresh()
        let uninitialised = try await cli.run(["appkey", "list"])
        #expect(uninitialised.status == 2)
        #expect(uninitialised.error.contains("run `skm init`"))
        try await cli.run(["init"])
        try await cli.run(["appkey", "create", "--name", "demo"])
        // No factor named: nothing is turned on behind the user's back.
        let noFactor = try await cli.run(["keystore", "create", "--name", "s"])
        #expect(noFactor.status == 3)
        #expect(noFactor.error.contains("turn on at least one factor"))
        #expect(try await cli.run(["keystore", "create", "--name", "s", "--ip4-auth", "Y"]).status == 0)
        let malformed = try await cli.run(["auth", "add-ip", "--keystore", "s", "10.0.3.5/24"])
        #expect(malformed.status == 1)
        #expect(malformed.error.contains("did you mean 10.0.3.0/24?"))
        let badPeriod = try await cli.run([
            "key", "create", "--keystore", "s", "--type", "symmetric", "--name", "k", "--rotation-period", "7",
        ])
        #expect(badPeriod.status == 1)
        #expect(badPeriod.error.contains("autoRotationPeriod"))
        let usage = try await cli.run(["key", "create", "--keystore", "s", "--type", "triangular", "--name", "k"])
        #expect(usage.status == 3)
        let unknownKey = try await cli.run(["key", "rotate", String(repeating: "0", count: 32)])
        #expect(unknownKey.status == 1)
        #expect(unknownKey.error.contains("Invalid Key ID"))
        let wrongRoot = try await cli.run(
            ["appkey", "list"], environment: ["SKM_ROOT_KEY": String(repeating: "cd", count: 32)])
        #expect(wrongRoot.status == 2)
        #expect(wrongRoot.error.contains("wrong root key"))
        let badOperation = try await cli.run(["call", "explode"])
        #expect(badOperation.status == 3)
    }

    @Test func corruptDatabaseIsReportedNotCrashed() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        let path = cli.directory.appendingPathComponent("data/skm.sqlite")
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: path.path + "-wal"))
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: path.path + "-shm"))
        try Data(repeating: 0x5A, count: 8192).write(to: path)
        let result = try await cli.run(["appkey", "list"])
        #expect(result.status == 2)
        #expect(result.error.contains("skm.sqlite"))
    }

    @Test func certificateIssueAndExportThroughTheCommandLine() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        try await cli.run(["appkey", "create", "--name", "demo"])
        try await cli.run(["keystore", "create", "--name", "s", "--ip4-auth", "N", "--cert-auth", "Y"])
        let issued = try await cli.run(
            ["auth", "issue-cert", "--keystore", "s", "--name", "app", "--password-file", "-", "--lifetime", "30"],
            input: "pa55word\n")
        #expect(issued.status == 0, "\(issued.error)")
        let key = try await cli.run([
            "key", "create", "--keystore", "s", "--type", "asymmetric", "--name", "signer", "-q",
        ])
        .output
        .trimmingCharacters(in: .whitespacesAndNewlines)
        let exported = try await cli.run(["cert", "export", "--keystore", "s", "--name", "app", "--out", "app.p12"])
        #expect(exported.status == 0, "\(exported.error)")
        let passwordFile = cli.directory.appendingPathComponent("pw")
        try Data("pa55word\n".utf8).write(to: passwordFile)
        let signed = try await cli.run([
            "call", "sign", "--key", key, "--field", "plaintext=data", "--cert", "app.p12", "--cert-password-file",
            passwordFile.path,
        ])
        #expect(signed.status == 0, "\(signed.error)")
        let unsigned = try await cli.run(["call", "sign", "--key", key, "--field", "plaintext=data"])
        #expect(unsigned.error.contains("Certificate Auth Failure"))
        // Expired by the time given with --at.
        let later = try await cli.run([
            "call", "sign", "--key", key, "--field", "plaintext=data", "--cert", "app.p12",
            "--cert-password-file", passwordFile.path, "--at", Timestamp.rfc3339(Date() + 31 * 86_400),
        ])
        #expect(later.error.contains("Certificate Expired"))
    }
}

@Suite struct ServeCommandTests {

}

/// `skm serve` did not start on any of the ports tried.
struct ServeFailure: Error, CustomStringConvertible {
    var description: String { "skm serve did not start on any of five pairs of ports" }
}

extension CommandLine {
    /// Starts `skm serve` on a random loopback port in `ports`, writes the installation's CA to `ca.pem`, and waits
    /// until `/health` answers. Terminate the process when done.
    func serve(ports: Range<Int>, arguments extra: [String] = []) async throws -> (Subprocess, Int) {
        let (process, port, _) = try await serve(ports: ports, plainPorts: nil, arguments: extra)
        return (process, port)
    }

    /// The same, with a plain HTTP listener too on a random port in `plainPorts`, when given; waits until every
    /// listener answers (the plain one starts beside the TLS one and may come up after it). The ports are in the
    /// range the system hands out to outgoing connections, so one can be taken: a server that cannot bind exits,
    /// and is started again on other ports.
    func serve(
        ports: Range<Int>, plainPorts: Range<Int>?, arguments extra: [String] = []
    ) async throws -> (Subprocess, Int, Int?) {
        for _ in 0..<5 {
            let port = Int.random(in: ports)
            let plainPort = plainPorts.map { Int.random(in: $0) }
            let process = try Subprocess(
                Self.binary,
                ["serve", "--port", "\(port)", "--log-level", "error"]
                    + (plainPort.map { ["--plain-http-port", "\($0)"] } ?? []) + extra,
                directory: directory, environment: environment)
            try await run(["cert", "ca"]).output.write(
                toFile: directory.appendingPathComponent("ca.pem").path, atomically: true, encoding: .utf8)
            var addresses = ["https://127.0.0.1:\(port)/health"]
            if let plainPort { addresses.append("http://127.0.0.1:\(plainPort)/health") }
            var ready = 0
            // A server that is up answers within a few seconds; one that accepts and never answers is given up on
            // after 30 s and ten tries both (a test can wait that long for a thread of the pool between two tries
            // while the suite starts).
            let deadline = ContinuousClock.now + .seconds(30)
            for address in addresses {
                var tries = 0
                while process.isRunning, tries < 10 || ContinuousClock.now < deadline {
                    tries += 1
                    if try await curl(["--cacert", "ca.pem", address]).contains("UP") {
                        ready += 1
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            if ready == addresses.count { return (process, port, plainPort) }
            if process.isRunning { process.terminate() }
            _ = try? await process.finish(within: .seconds(30))
        }
        throw ServeFailure()
    }

    func curl(_ arguments: [String]) async throws -> String {
        try await Subprocess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["curl", "-s", "--max-time", "5"] + arguments, directory: directory
        ).output
    }
}

@Suite struct StatsCommandTests {
    /// Counts from two nodes' logs add up; filters narrow them; a line that is not a record is reported and skipped.
    @Test func statsCountCallsPerKeyDayOperationAndResult() async throws {
        let cli = try CommandLine.fresh()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let log = root.appendingPathComponent("Fixtures/registrations-wait-for-approval/requests.jsonl")
        let text = try String(contentsOf: log, encoding: .utf8)
        let lines = text.split(separator: "\n")
        let first = cli.directory.appendingPathComponent("node-a.jsonl")
        let second = cli.directory.appendingPathComponent("node-b.jsonl")
        try Data((lines.prefix(20).joined(separator: "\n") + "\nnot json\n").utf8).write(to: first)
        // A failure whose message reads "success" (no server writes one) is still a failure.
        let success = try #require(lines.first { $0.contains(#""isSuccessful":true"#) })
        let contradictory = success.replacingOccurrences(of: #""isSuccessful":true"#, with: #""isSuccessful":false"#)
        try Data((lines.dropFirst(20).joined(separator: "\n") + "\n" + contradictory + "\n").utf8).write(to: second)
        let both = try await cli.run(["stats", "--json", first.path, second.path])
        #expect(both.status == 0, "\(both.error)")
        let parsed = try JSONParser().parse(both.output)
        let cells = try #require(parsed["cells"]?.arrayValue)
        func calls(_ result: String) -> Int {
            cells.filter { $0["result"]?.stringValue == result }.compactMap { $0["calls"]?.intValue }.reduce(0, +)
        }
        #expect(calls("success") == 15)
        #expect(calls("IPv4 Auth Failure") == 20)
        #expect(calls("MAC Auth Failure") == 6)
        #expect(calls("failed (result code 0)") == 1)
        #expect(parsed["unreadableLines"] == 1)
        #expect(both.error.contains("node-a.jsonl:21: not a JSON object"), "\(both.error)")
        let table = try await cli.run(["stats", first.path, second.path, "--key", "f830e3456fb84a106758b084d678a5e7"])
        #expect(table.output.contains("MAC Auth Failure  6"), "\(table.output)")
        #expect(table.output.contains("6 calls, 6 failed."), "\(table.output)")
        let none = try await cli.run(["stats", first.path, "--from", "2026-09-22"])
        #expect(none.output.contains("0 calls, 0 failed."), "\(none.output)")
        let badDay = try await cli.run(["stats", first.path, "--to", "2026-02-30"])
        #expect(badDay.status == 3)
    }
}
