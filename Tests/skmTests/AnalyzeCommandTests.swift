import Foundation
import SKMCore
import SKMTestSupport
import SKMWire
import Testing

@Suite struct AnalyzeCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let rules = fixtures.deletingLastPathComponent().appendingPathComponent("Rules").path

    func paths(_ scenario: String) -> (log: String, state: String, har: String) {
        let folder = Self.fixtures.appendingPathComponent(scenario)
        return (
            folder.appendingPathComponent("requests.jsonl").path, folder.appendingPathComponent("state.json").path,
            folder.appendingPathComponent("capture.har").path
        )
    }

    @Test func analyzePrintsTheTriageAndWritesJSON() async throws {
        let cli = try CommandLine.fresh()
        let (log, state, _) = paths("rotation-then-version-deleted")
        let json = cli.directory.appendingPathComponent("report.json").path
        let result = try await cli.run(["analyze", log, "--state", state, "--rules", Self.rules, "--json", json])
        #expect(result.status == 1, "\(result.error)")
        #expect(result.output.contains("30 × Invalid Key Version (-1201) · confirmed"))
        #expect(result.output.contains("system:purge purged version 0 of key"))
        #expect(result.output.contains("Cause") || result.output.contains("The version was deleted"))
        #expect(!result.output.contains("\u{1B}["), "no colour when not a terminal")
        let report = try JSONParser().parse(Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(report["summary"]?["failures"]?.intValue == 30)
        #expect(report["groups"]?.arrayValue?.first?["check"]?.stringValue == "version-exists")
    }

    @Test func theReportIsTheSameOnOneWorkerAndOnSeveral() async throws {
        let cli = try CommandLine.fresh()
        let (log, state, _) = paths("mixed-traffic")
        var reports: [JSONValue] = []
        for workers in ["1", "3"] {
            let json = cli.directory.appendingPathComponent("report-\(workers).json").path
            let result = try await cli.run([
                "analyze", log, "--state", state, "--rules", Self.rules, "--json", json, "--workers", workers,
            ])
            #expect(result.status == 1, "\(result.error)")
            reports.append(try JSONParser().parse(Data(contentsOf: URL(fileURLWithPath: json))))
        }
        #expect(reports[0]["groups"] == reports[1]["groups"])
        #expect(reports[0]["summary"] == reports[1]["summary"])
        #expect(reports[0]["groups"]?.arrayValue?.isEmpty == false)
        let refused = try await cli.run(["analyze", log, "--state", state, "--workers", "0"])
        #expect(refused.status == 3)
        #expect(refused.error.contains("--workers must be from 1 to 256"), "\(refused.error)")
        // A negative number of groups to describe is a usage error, not a crash.
        let negative = try await cli.run(["analyze", log, "--state", state, "--rules", Self.rules, "--top=-1"])
        #expect(negative.status == 3, "\(negative.error)")
        #expect(negative.error.contains("--top must be 0 or more"), "\(negative.error)")
    }

    @Test func standardInputAndHARWork() async throws {
        let cli = try CommandLine.fresh()
        let (log, state, har) = paths("client-behind-nat")
        let piped = try await cli.run(
            ["analyze", "-", "--state", state, "--rules", Self.rules],
            input: try String(contentsOfFile: log, encoding: .utf8))
        #expect(piped.status == 1)
        #expect(piped.output.contains("The address is not registered in the key store"))
        #expect(piped.output.contains("Likely because: The server saw the private address 10.0.3.7"))
        #expect(piped.output.contains("Simulated: Registering 10.0.3.7 in key store 'web' makes all 40 requests pass."))
        // The capture's own GET …/confirm answer names the address the server saw.
        let capture = try await cli.run(["analyze", har, "--state", state, "--rules", Self.rules])
        #expect(capture.output.contains("40 confirmed"))
        let given = try await cli.run([
            "analyze", har, "--state", state, "--rules", Self.rules, "--client-ip", "10.0.3.7",
        ])
        #expect(given.output.contains("40 confirmed"))
        // Without the address, the capture cannot decide, and says how to learn it.
        let (_, rotationState, rotationHAR) = paths("expired-client-certificate")
        let unknown = try await cli.run(["analyze", rotationHAR, "--state", rotationState, "--rules", Self.rules])
        #expect(unknown.output.contains("45 unexplained"))
        #expect(unknown.output.contains("--client-cert"))
        let none = try await cli.run([
            "analyze", rotationHAR, "--state", rotationState, "--rules", Self.rules, "--client-cert", "none",
        ])
        // Told that the client presented no certificate, the analysis holds the server to it, and says what to doubt.
        #expect(none.status == 1)
        #expect(none.output.contains("45 mismatch"), "\(none.output)")
        #expect(none.output.contains("--client-cert none does not describe this client"))
    }

    @Test func explainShowsEveryCheck() async throws {
        let cli = try CommandLine.fresh()
        let (log, state, _) = paths("rotation-then-version-deleted")
        let result = try await cli.run([
            "explain", log, "--state", state, "--rules", Self.rules, "--request", "req-000071",
        ])
        #expect(result.status == 1)
        #expect(result.output.contains("✗ failed   version-exists"))
        #expect(result.output.contains(#"version.status = "DELETED""#))
        let missing = try await cli.run(["explain", log, "--state", state, "--rules", Self.rules, "--request", "nope"])
        #expect(missing.status == 2)
        #expect(missing.error.contains("no request 'nope'"))
    }

    @Test func exitStatusesFollowTheDesign() async throws {
        let cli = try CommandLine.fresh()
        let (log, state, _) = paths("mixed-traffic")
        // Only successes left by the filter: nothing failed.
        let clean = try await cli.run([
            "analyze", log, "--state", state, "--rules", Self.rules, "--until", "2026-09-21T14:13:40Z",
        ])
        #expect(clean.status == 0, "\(clean.output)\(clean.error)")
        #expect(clean.output.contains("No failed requests."))
        // A missing log: an input error, reported by name.
        let missingLog = try await cli.run(["analyze", "/nonexistent.jsonl", "--state", state, "--rules", Self.rules])
        #expect(missingLog.status == 2)
        #expect(missingLog.error.contains("/nonexistent.jsonl: no such file"))
        // A state file that is not a snapshot.
        let badState = cli.directory.appendingPathComponent("state.json")
        try Data(#"{"schema":"skm-state/1","appkeys":"no"}"#.utf8).write(to: badState)
        let broken = try await cli.run(["analyze", log, "--state", badState.path, "--rules", Self.rules])
        #expect(broken.status == 2)
        #expect(broken.error.contains("not a state snapshot"))
        // A broken rule set is refused before anything is read.
        let rulesDirectory = cli.directory.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rulesDirectory, withIntermediateDirectories: true)
        try Data("id: X\n".utf8).write(to: rulesDirectory.appendingPathComponent("x.yaml"))
        let badRules = try await cli.run(["analyze", log, "--state", state, "--rules", rulesDirectory.path])
        #expect(badRules.status == 2)
        #expect(badRules.error.contains("the rule is missing 'title'"))
        // Usage errors.
        #expect(try await cli.run(["analyze", log]).status == 3)
        #expect(try await cli.run(["analyze", log, "--state", state, "--error", "Nonsense"]).status == 3)
        #expect(try await cli.run(["analyze", log, "--state", state, "--since", "yesterday"]).status == 3)
    }
}

@Suite struct SnapshotFetchTests {
    /// A snapshot read through a running server's APIs holds what the database export holds, less what the API does
    /// not show (versions, fingerprints, events), and never a certificate password.
    @Test func fetchReadsStoresKeysAndEntriesThroughTheAPI() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        let created = try await cli.json(["appkey", "create", "--name", "remote"])
        let appkey = try #require(created["appkey"]?.stringValue)
        let uakId = try #require(created["userAccessKeyId"]?.stringValue)
        let secret = try #require(created["userAccessKeySecret"]?.stringValue)
        try await cli.run([
            "keystore", "create", "--name", "payments", "--ip4-auth", "Y", "--cert-auth", "Y", "--auth-mode", "OR",
        ])
        try await cli.run(["auth", "add-ip", "--keystore", "payments", "10.0.3.0/24"])
        try await cli.run(["auth", "add-mac", "--keystore", "payments", "aa:bb:cc:dd:ee:ff"])
        try Data("cert-password".utf8).write(to: cli.directory.appendingPathComponent("password"))
        try await cli.run([
            "auth", "issue-cert", "--keystore", "payments", "--name", "app", "--password-file", "password",
        ])
        for name in ["orders", "archive"] {
            try await cli.run(["key", "create", "--keystore", "payments", "--type", "symmetric", "--name", name])
        }
        let (process, port) = try await cli.serve(ports: 40000..<50000)
        defer { if process.isRunning { process.terminate() } }
        #expect(try await cli.curl(["--cacert", "ca.pem", "https://127.0.0.1:\(port)/health"]).contains("UP"))
        let fetched = try await cli.run(
            [
                "snapshot", "fetch", "--url", "https://127.0.0.1:\(port)", "--appkey", appkey, "--uak-id", uakId,
                "--cacert", "ca.pem", "--out", "fetched.json",
            ], environment: ["SKM_UAK_SECRET": secret])
        #expect(fetched.status == 0, "\(fetched.error)")
        let text = try String(contentsOf: cli.directory.appendingPathComponent("fetched.json"), encoding: .utf8)
        #expect(!text.contains("cert-password"))
        #expect(!text.contains(secret))
        let snapshot = try StateSnapshot.decode(Data(text.utf8))
        #expect(snapshot.source.kind == "api")
        #expect(snapshot.keyStores.map(\.name) == ["payments"])
        #expect(snapshot.keyStores.first?.authMode == .or)
        #expect(Set(snapshot.keys.map(\.name)) == ["orders", "archive"])
        #expect(Set(snapshot.authEntries.map(\.value)) == ["10.0.3.0/24", "aa:bb:cc:dd:ee:ff", "app"])
        #expect(snapshot.keyVersions.isEmpty && snapshot.events.isEmpty)
        let wrong = try await cli.run(
            [
                "snapshot", "fetch", "--url", "https://127.0.0.1:\(port)", "--appkey", appkey, "--uak-id", uakId,
                "--cacert", "ca.pem",
            ], environment: ["SKM_UAK_SECRET": "wrong"])
        #expect(wrong.status == 2)
        #expect(wrong.error.contains("Unauthorized"))
        process.terminate()
        await process.waitUntilExit()
    }
}

@Suite struct AnalyzeFromDatabaseTests {
    /// Support staff given a database but not its root key can still analyse a log against it, and analysing never
    /// changes the database: not a byte, not a migration.
    @Test func theDatabaseIsEnoughWithoutTheRootKeyAndStaysUntouched() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        let created = try await cli.json(["appkey", "create", "--name", "offline"])
        let appkey = try #require(created["appkey"]?.stringValue)
        try await cli.run(["keystore", "create", "--name", "payments", "--ip4-auth", "Y"])
        try await cli.run(["auth", "add-ip", "--keystore", "payments", "10.0.3.0/24"])
        let key = try #require(
            try await cli.json(["key", "create", "--keystore", "payments", "--type", "symmetric", "--name", "k"])[
                "key"]?["id"]?.stringValue)
        // A refused encryption from an unregistered address, as the server logs it.
        let refused = try await cli.run([
            "call", "encrypt", "--key", key, "--ip", "10.0.4.7", "--field", "plaintext=hi",
        ])
        #expect(refused.status == 1)
        let record = RequestRecord(
            time: Date(), requestId: "r-1", method: "POST",
            path: "/keymanager/v1.2/appkey/\(appkey)/symmetric-keys/\(key)/encrypt", apiVersion: "v1.2",
            operation: "encrypt", appkey: appkey, keyId: key,
            client: RequestRecord.Client(ip: "10.0.4.7", peer: "10.0.4.7", tls: true),
            inputs: [RequestRecord.Input(field: "plaintext", bytes: 2)],
            body: RequestRecord.Body(bytes: 18, json: true, fields: ["plaintext:string"]),
            response: RequestRecord.Response(
                httpStatus: 403, resultCode: -1103, resultMessage: "IPV4 Auth Failure", isSuccessful: false))
        let log = cli.directory.appendingPathComponent("requests.jsonl")
        try Data(record.jsonLine).write(to: log)
        try FileManager.default.removeItem(at: cli.directory.appendingPathComponent("data/root.key"))
        let database = cli.directory.appendingPathComponent("data/skm.sqlite")
        for suffix in ["-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: database.path + suffix)
        }
        let before = try Data(contentsOf: database)
        let analysed = try await cli.run([
            "analyze", log.path, "--db", database.path, "--rules", AnalyzeCommandTests.rules,
        ])
        #expect(analysed.status == 1, "\(analysed.error)")
        #expect(analysed.output.contains("IPv4 Auth Failure") || analysed.output.contains("IPV4 Auth Failure"))
        #expect(analysed.output.contains("confirmed"))
        #expect(analysed.output.contains("10.0.4.7"))
        #expect(try Data(contentsOf: database) == before, "analysing changed the database file")
        // A database with an older schema is refused rather than migrated.
        let older = cli.directory.appendingPathComponent("older.sqlite")
        try before.write(to: older)
        let emptied = try await Subprocess.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('delete from grdb_migrations'); c.commit()",
                older.path,
            ])
        try #require(emptied.status == 0, "\(emptied.error)")
        let olderBytes = try Data(contentsOf: older)
        let refusedOlder = try await cli.run([
            "analyze", log.path, "--db", older.path, "--rules", AnalyzeCommandTests.rules,
        ])
        #expect(refusedOlder.status == 2)
        #expect(refusedOlder.error.contains("older schema"))
        #expect(try Data(contentsOf: older) == olderBytes)
    }
}

@Suite struct DamagedInputTests {
    @Test func aTruncatedGzipIsReportedAsDamageAndExitsTwo() async throws {
        let cli = try CommandLine.fresh()
        let state = AnalyzeCommandTests.fixtures.appendingPathComponent("rotation-then-version-deleted/state.json").path
        let source = AnalyzeCommandTests.fixtures.appendingPathComponent("rotation-then-version-deleted/requests.jsonl")
        let whole = cli.directory.appendingPathComponent("whole.jsonl.gz")
        let gzip = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/sh"), ["-c", "gzip -c \"$0\" > \"$1\"", source.path, whole.path])
        try #require(gzip.status == 0, "\(gzip.error)")
        let compressed = try Data(contentsOf: whole)
        let complete = try await cli.run([
            "analyze", whole.path, "--state", state, "--rules", AnalyzeCommandTests.rules,
        ])
        #expect(complete.status == 1)
        let cut = cli.directory.appendingPathComponent("cut.jsonl.gz")
        try compressed.prefix(compressed.count * 2 / 3).write(to: cut)
        let damaged = try await cli.run(["analyze", cut.path, "--state", state, "--rules", AnalyzeCommandTests.rules])
        #expect(damaged.status == 2)
        #expect(damaged.error.contains("cut off") && damaged.error.contains("truncated"), "\(damaged.error)")
        // What came before the cut was analysed all the same.
        #expect(damaged.output.contains("63 requests"), "\(damaged.output)")
    }

    @Test func anOversizedHARIsRefusedBeforeItIsRead() async throws {
        let cli = try CommandLine.fresh()
        let har = cli.directory.appendingPathComponent("huge.har")
        #expect(FileManager.default.createFile(atPath: har.path, contents: Data("{\"log\":{\"entries\":[".utf8)))
        let handle = try FileHandle(forWritingTo: har)
        try handle.truncate(atOffset: (1 << 30) + 1)  // sparse: nothing is written
        try handle.close()
        let state = AnalyzeCommandTests.fixtures.appendingPathComponent("client-behind-nat/state.json").path
        // Run with 600 MB of address space: reading (or mapping) the 1 GB file first could not succeed.
        let result = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c", "ulimit -v 600000; exec \"$0\" analyze \"$1\" --state \"$2\" --rules \"$3\"",
                CommandLine.binary.path, har.path, state, AnalyzeCommandTests.rules,
            ], directory: cli.directory)
        #expect(result.status == 2)
        #expect(result.error.contains("1073741825 bytes, over the limit"), "\(result.error)")
    }

    @Test func aCaptureCutOffMidwayKeepsItsEntriesAndReportsTheDamage() async throws {
        let cli = try CommandLine.fresh()
        let source = AnalyzeCommandTests.fixtures.appendingPathComponent("client-behind-nat/capture.har")
        let bytes = try Data(contentsOf: source)
        let cut = cli.directory.appendingPathComponent("cut.har")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let state = AnalyzeCommandTests.fixtures.appendingPathComponent("client-behind-nat/state.json").path
        let result = try await cli.run(["analyze", cut.path, "--state", state, "--rules", AnalyzeCommandTests.rules])
        #expect(result.status == 2)
        #expect(result.error.contains("damaged") && result.error.contains("cut off"), "\(result.error)")
        // The entries before the damage were analysed.
        #expect(result.output.contains("39 requests"), "\(result.output)")
    }

    @Test func snapshotFetchRefusesPlainHTTPUnlessAsked() async throws {
        let cli = try CommandLine.fresh()
        let refused = try await cli.run(
            ["snapshot", "fetch", "--url", "http://127.0.0.1:9", "--appkey", "A", "--uak-id", "B"],
            environment: ["SKM_UAK_SECRET": "not-sent"])
        #expect(refused.status == 3)
        #expect(refused.error.contains("unencrypted"))
        let allowed = try await cli.run(
            [
                "snapshot", "fetch", "--url", "http://127.0.0.1:9", "--appkey", "A", "--uak-id", "B",
                "--allow-plain-http",
            ],
            environment: ["SKM_UAK_SECRET": "not-sent"])
        #expect(allowed.status == 2, "the connection fails, after the scheme was accepted: \(allowed.error)")
    }
}

@Suite struct AnalysisWordsTests {
    /// A cause dealt with since the incident is said so, rather than its fix recommended again.
    @Test func aCauseFixedSinceIsSaidSo() async throws {
        let cli = try CommandLine.fresh()
        let folder = AnalyzeCommandTests.fixtures.appendingPathComponent("key-scheduled-for-deletion")
        let result = try await cli.run([
            "analyze", folder.appendingPathComponent("requests.jsonl").path, "--state",
            folder.appendingPathComponent("state.json").path, "--rules", AnalyzeCommandTests.rules, "--color", "never",
        ])
        #expect(result.status == 1)
        #expect(result.output.contains("Now: Against the state of"), "\(result.output)")
        #expect(result.output.contains("cancelled the deletion of key"))
    }

    @Test func explainingASuccessSaysThereIsNothingToExplain() async throws {
        let cli = try CommandLine.fresh()
        let folder = AnalyzeCommandTests.fixtures.appendingPathComponent("rotation-then-version-deleted")
        let result = try await cli.run([
            "explain", folder.appendingPathComponent("requests.jsonl").path, "--state",
            folder.appendingPathComponent("state.json").path, "--rules", AnalyzeCommandTests.rules, "--request",
            "req-000001",
        ])
        #expect(result.status == 0)
        #expect(result.output.contains("succeeded") && result.output.contains("nothing to explain"))
        #expect(!result.output.contains("Verdict"))
        // The appkey in the path is masked, as everywhere else.
        #expect(!result.output.contains("MgAGnj6zV2sDT4wu") && result.output.contains("MgAG…wu"), "\(result.output)")
    }

    @Test func usageErrorsSayErrorOnce() async throws {
        let result = try await CommandLine.fresh().run(["analyze", "x.jsonl", "--error"])
        #expect(result.status == 3)
        #expect(result.error.hasPrefix("error: ") && !result.error.contains("Error: "), "\(result.error)")
    }

    @Test func anUnreadableOnlyInputGivesNoReport() async throws {
        let result = try await CommandLine.fresh().run([
            "analyze", "nosuch.jsonl", "--state",
            AnalyzeCommandTests.fixtures.appendingPathComponent("mixed-traffic/state.json").path, "--rules",
            AnalyzeCommandTests.rules,
        ])
        #expect(result.status == 2)
        #expect(result.output.isEmpty, "\(result.output)")
        #expect(result.error.contains("no such file"))
    }
}

/// `skm analyze --merge`: one report per node, combined.
@Suite struct MergeCommandTests {
    @Test func mergedReportsOfTwoNodesAreTheReportOfBothLogs() async throws {
        let cli = try CommandLine.fresh()
        let folder = AnalyzeCommandTests.fixtures.appendingPathComponent("release-breaks-three-ways")
        let state = folder.appendingPathComponent("state.json").path
        let lines = try String(contentsOf: folder.appendingPathComponent("requests.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        var logs: [String] = []
        var reports: [String] = []
        for (index, range) in [0..<(lines.count / 2), (lines.count / 2)..<lines.count].enumerated() {
            let log = cli.directory.appendingPathComponent("node\(index + 1).jsonl").path
            try lines[range].joined(separator: "\n").write(toFile: log, atomically: true, encoding: .utf8)
            let report = cli.directory.appendingPathComponent("node\(index + 1).json").path
            let result = try await cli.run([
                "analyze", log, "--state", state, "--rules", AnalyzeCommandTests.rules, "--json", report, "--mergeable",
            ])
            #expect(result.status == 1, "\(result.error)")
            logs.append(log)
            reports.append(report)
        }
        func report(_ arguments: [String], _ name: String) async throws -> (String, String) {
            let path = cli.directory.appendingPathComponent(name).path
            let result = try await cli.run(
                ["analyze"] + arguments + ["--state", state, "--rules", AnalyzeCommandTests.rules, "--json", path])
            #expect(result.status == 1, "\(result.error)")
            // The time each report was made differs; nothing else may.
            let text = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .filter { !$0.contains("\"generatedAt\"") || $0.contains("state") }.joined(separator: "\n")
            return (text, result.output)
        }
        let (merged, mergedOutput) = try await report(["--merge"] + reports, "merged.json")
        let (whole, wholeOutput) = try await report(logs, "whole.json")
        #expect(merged == whole)
        #expect(mergedOutput == wholeOutput)
        #expect(mergedOutput.contains("failed in"))
    }

    @Test func whatCannotBeMergedIsSaidForEachReport() async throws {
        let cli = try CommandLine.fresh()
        let folder = AnalyzeCommandTests.fixtures.appendingPathComponent("mixed-traffic")
        let state = folder.appendingPathComponent("state.json").path
        let other = AnalyzeCommandTests.fixtures.appendingPathComponent("hostile-log/state.json").path
        let log = folder.appendingPathComponent("requests.jsonl").path
        let plain = cli.directory.appendingPathComponent("plain.json").path
        let carried = cli.directory.appendingPathComponent("carried.json").path
        _ = try await cli.run(["analyze", log, "--state", state, "--rules", AnalyzeCommandTests.rules, "--json", plain])
        _ = try await cli.run([
            "analyze", log, "--state", state, "--rules", AnalyzeCommandTests.rules, "--json", carried, "--mergeable",
        ])
        let refused = try await cli.run([
            "analyze", "--merge", plain, carried, log, "--state", other, "--rules", AnalyzeCommandTests.rules,
        ])
        #expect(refused.status == 2)
        #expect(refused.output.isEmpty)
        #expect(refused.error.contains("plain.json: the report does not carry its analysis"), "\(refused.error)")
        #expect(refused.error.contains("carried.json: made against another state"), "\(refused.error)")
        #expect(refused.error.contains("requests.jsonl: not JSON"), "\(refused.error)")
        let twice = try await cli.run([
            "analyze", "--merge", carried, carried, "--state", state, "--rules", AnalyzeCommandTests.rules,
        ])
        #expect(twice.status == 2 && twice.error.contains("the same analysis as"), "\(twice.error)")
        let filtered = try await cli.run([
            "analyze", "--merge", carried, "--since", "2026-01-01T00:00:00Z", "--state", state,
        ])
        #expect(filtered.status == 3 && filtered.error.contains("--since"), "\(filtered.error)")
    }
}
