import Foundation
import SKMCore
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

    @Test func analyzePrintsTheTriageAndWritesJSON() throws {
        let cli = try CommandLine.fresh()
        let (log, state, _) = paths("rotation-then-version-deleted")
        let json = cli.directory.appendingPathComponent("report.json").path
        let result = try cli.run(["analyze", log, "--state", state, "--rules", Self.rules, "--json", json])
        #expect(result.status == 1, "\(result.error)")
        #expect(result.output.contains("30 × Invalid Key Version (-1201) · confirmed"))
        #expect(result.output.contains("keyVersion.purge by system:purge"))
        #expect(!result.output.contains("\u{1B}["), "no colour when not a terminal")
        let report = try JSONParser().parse(Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(report["summary"]?["failures"]?.intValue == 30)
        #expect(report["groups"]?.arrayValue?.first?["check"]?.stringValue == "version-exists")
    }

    @Test func standardInputAndHARWork() throws {
        let cli = try CommandLine.fresh()
        let (log, state, har) = paths("client-behind-nat")
        let piped = try cli.run(
            ["analyze", "-", "--state", state, "--rules", Self.rules],
            input: try String(contentsOfFile: log, encoding: .utf8))
        #expect(piped.status == 1)
        #expect(piped.output.contains("address-not-behind-nat"))
        let capture = try cli.run(["analyze", har, "--state", state, "--rules", Self.rules])
        #expect(capture.output.contains("unexplained"))
        #expect(capture.output.contains("--client-ip"))
        let given = try cli.run(["analyze", har, "--state", state, "--rules", Self.rules, "--client-ip", "10.0.3.7"])
        #expect(given.output.contains("60 confirmed"))
    }

    @Test func explainShowsEveryCheck() throws {
        let cli = try CommandLine.fresh()
        let (log, state, _) = paths("rotation-then-version-deleted")
        let result = try cli.run(["explain", log, "--state", state, "--rules", Self.rules, "--request", "req-000071"])
        #expect(result.status == 1)
        #expect(result.output.contains("✗ failed   version-exists"))
        #expect(result.output.contains(#"version.status = "DELETED""#))
        let missing = try cli.run(["explain", log, "--state", state, "--rules", Self.rules, "--request", "nope"])
        #expect(missing.status == 2)
        #expect(missing.error.contains("no request 'nope'"))
    }

    @Test func exitStatusesFollowTheDesign() throws {
        let cli = try CommandLine.fresh()
        let (log, state, _) = paths("mixed-traffic")
        // Only successes left by the filter: nothing failed.
        let clean = try cli.run([
            "analyze", log, "--state", state, "--rules", Self.rules, "--until", "2026-09-21T14:13:40Z",
        ])
        #expect(clean.status == 0, "\(clean.output)\(clean.error)")
        #expect(clean.output.contains("No failed requests."))
        // A missing log: an input error, reported by name.
        let missingLog = try cli.run(["analyze", "/nonexistent.jsonl", "--state", state, "--rules", Self.rules])
        #expect(missingLog.status == 2)
        #expect(missingLog.error.contains("/nonexistent.jsonl: no such file"))
        // A state file that is not a snapshot.
        let badState = cli.directory.appendingPathComponent("state.json")
        try Data(#"{"schema":"skm-state/1","appkeys":"no"}"#.utf8).write(to: badState)
        let broken = try cli.run(["analyze", log, "--state", badState.path, "--rules", Self.rules])
        #expect(broken.status == 2)
        #expect(broken.error.contains("not a state snapshot"))
        // A broken rule set is refused before anything is read.
        let rulesDirectory = cli.directory.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rulesDirectory, withIntermediateDirectories: true)
        try Data("id: X\n".utf8).write(to: rulesDirectory.appendingPathComponent("x.yaml"))
        let badRules = try cli.run(["analyze", log, "--state", state, "--rules", rulesDirectory.path])
        #expect(badRules.status == 2)
        #expect(badRules.error.contains("the rule is missing 'title'"))
        // Usage errors.
        #expect(try cli.run(["analyze", log]).status == 3)
        #expect(try cli.run(["analyze", log, "--state", state, "--error", "Nonsense"]).status == 3)
        #expect(try cli.run(["analyze", log, "--state", state, "--since", "yesterday"]).status == 3)
    }
}
