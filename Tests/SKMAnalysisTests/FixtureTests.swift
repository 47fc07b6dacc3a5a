import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMRules
import SKMTestSupport
import Testing

/// The incident fixtures under `Fixtures/`: recorded by driving the engine through each scenario
/// (`SKM_RECORD_FIXTURES=1`), and analysed against golden reports (`SKM_RECORD_GOLDEN=1`).
enum Fixtures {
    static let directory = packageRoot.appendingPathComponent("Fixtures")
    static let rules: RuleSet = try! SKMFacts.loadRules([packageRoot.appendingPathComponent("Rules")]).get()

    static func folder(_ scenario: IncidentScenario) -> URL {
        directory.appendingPathComponent(scenario.name)
    }

    /// Writes a scenario's state, log, capture and description.
    static func write(_ scenario: IncidentScenario) async throws {
        let (snapshot, log, har) = try await scenario.record()
        let folder = folder(scenario)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try (try snapshot.jsonData() + Data("\n".utf8)).write(to: folder.appendingPathComponent("state.json"))
        try log.write(to: folder.appendingPathComponent("requests.jsonl"))
        if let har { try har.write(to: folder.appendingPathComponent("capture.har")) }
        let readme = """
            # \(scenario.name)

            \(scenario.summary)

            Recorded by driving the SKM engine through the scripted scenario in \
            `Tests/SKMTestSupport/IncidentScenarios.swift`; regenerate with \
            `SKM_RECORD_FIXTURES=1 swift test --filter FixtureTests`.

            ```sh
            skm analyze Fixtures/\(scenario.name)/requests.jsonl --state Fixtures/\(scenario.name)/state.json
            ```

            """
        try Data(readme.utf8).write(to: folder.appendingPathComponent("README.md"))
    }

    static func snapshot(_ scenario: IncidentScenario) throws -> StateSnapshot {
        try StateSnapshot.decode(Data(contentsOf: folder(scenario).appendingPathComponent("state.json")))
    }

    /// The analysis of a fixture input, as the JSON report with the run's own time taken out.
    static func report(_ scenario: IncidentScenario, input: String, clientIP: String? = nil) throws -> IncidentReport {
        let snapshot = try snapshot(scenario)
        var analyzer = Analyzer(rules: rules, snapshot: snapshot)
        analyzer.harReader.clientIP = clientIP
        let path = folder(scenario).appendingPathComponent(input).path
        var result = AnalysisResult()
        try analyzer.analyze(path, into: &result)
        var report = IncidentReport(
            analysis: result, rules: rules, snapshot: snapshot,
            options: .init(toolVersion: "test", generatedAt: Date(timeIntervalSince1970: 0)))
        // Golden copies must not depend on where the repository is checked out.
        let root = packageRoot.path + "/"
        report.inputs = report.inputs.map {
            var input = $0
            input.path = $0.path.replacingOccurrences(of: root, with: "")
            return input
        }
        for group in report.groups.indices {
            for example in report.groups[group].examples.indices {
                report.groups[group].examples[example].location =
                    report.groups[group].examples[example].location.replacingOccurrences(of: root, with: "")
                report.groups[group].examples[example].escalation =
                    report.groups[group].examples[example].escalation?.replacingOccurrences(of: root, with: "")
            }
        }
        report.problems = report.problems.map {
            var problem = $0
            problem.location = $0.location.replacingOccurrences(of: root, with: "")
            return problem
        }
        return report
    }
}

@Suite(.serialized) struct FixtureTests {
    @Test func fixturesAreRecordedFromTheirScenarios() async throws {
        if ProcessInfo.processInfo.environment["SKM_RECORD_FIXTURES"] == "1" {
            for scenario in IncidentScenario.all { try await Fixtures.write(scenario) }
        }
        for scenario in IncidentScenario.all {
            let folder = Fixtures.folder(scenario)
            for file in ["state.json", "requests.jsonl", "README.md"] + (scenario.har ? ["capture.har"] : []) {
                #expect(
                    FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path),
                    "\(scenario.name)/\(file)")
            }
        }
    }
}

/// What a support engineer must get from each fixture.
struct FixtureExpectation: Sendable, CustomTestStringConvertible {
    var scenario: IncidentScenario
    var input: String
    var clientIP: String?
    /// rule / check of the biggest group, its verdict, and the action of its causing event (if any).
    var rule: String
    var check: String?
    var verdict: String
    var event: String?
    var failures: Int

    var testDescription: String { "\(scenario.name)/\(input)\(clientIP.map { " --client-ip \($0)" } ?? "")" }

    var goldenName: String {
        "expected-" + input.replacingOccurrences(of: ".", with: "-") + (clientIP == nil ? "" : "-client-ip") + ".json"
    }

    static let all: [FixtureExpectation] = [
        .init(
            scenario: .rotationThenVersionDeleted, input: "requests.jsonl", rule: "SKM-INVALID-KEY-VERSION",
            check: "version-exists", verdict: "confirmed", event: "keyVersion.purge", failures: 30),
        .init(
            scenario: .rotationThenVersionDeleted, input: "capture.har", rule: "SKM-INVALID-KEY-VERSION",
            check: "version-exists", verdict: "confirmed", event: "keyVersion.purge", failures: 30),
        .init(
            scenario: .clientBehindNAT, input: "requests.jsonl", rule: "SKM-IPV4-AUTH-FAILURE",
            check: "address-not-behind-nat", verdict: "confirmed", failures: 60),
        .init(
            scenario: .clientBehindNAT, input: "capture.har", rule: "SKM-IPV4-AUTH-FAILURE", check: nil,
            verdict: "unexplained", failures: 60),
        .init(
            scenario: .clientBehindNAT, input: "capture.har", clientIP: "10.0.3.7", rule: "SKM-IPV4-AUTH-FAILURE",
            check: "address-not-behind-nat", verdict: "confirmed", failures: 60),
        .init(
            scenario: .expiredClientCertificate, input: "requests.jsonl", rule: "SKM-CERTIFICATE-EXPIRED",
            check: "certificate-not-expired", verdict: "confirmed", failures: 51),
        .init(
            scenario: .proxyDropsMACHeader, input: "requests.jsonl", rule: "SKM-MAC-AUTH-FAILURE",
            check: "header-not-dropped-by-proxy", verdict: "confirmed", failures: 54),
        .init(
            scenario: .keyScheduledForDeletion, input: "requests.jsonl", rule: "SKM-INVALID-KEY-ID",
            check: "key-in-service", verdict: "confirmed", event: "key.scheduleDeletion", failures: 40),
        .init(
            scenario: .wrongAppkeyAfterDeploy, input: "requests.jsonl", rule: "SKM-INVALID-APPKEY",
            check: "key-of-another-appkey", verdict: "confirmed", failures: 50),
        .init(
            scenario: .mixedTraffic, input: "requests.jsonl", rule: "SKM-INVALID-KEY-VERSION",
            check: "blob-not-encoded-twice", verdict: "confirmed", failures: 9),
        .init(
            scenario: .hostileLog, input: "requests.jsonl", rule: "SKM-MAC-AUTH-FAILURE", check: "header-well-formed",
            verdict: "confirmed", failures: 4),
    ]
}

@Suite struct FixtureAnalysisTests {
    @Test(arguments: FixtureExpectation.all)
    func theBiggestGroupNamesTheCause(_ expected: FixtureExpectation) throws {
        let report = try Fixtures.report(expected.scenario, input: expected.input, clientIP: expected.clientIP)
        #expect(report.summary.failures == expected.failures)
        let top = try #require(report.groups.first)
        #expect(top.ruleId == expected.rule)
        #expect(top.checkId == expected.check)
        #expect(top.verdict == expected.verdict)
        #expect(top.event?.action == expected.event)
        #expect(
            report.summary.mismatches == 0, "\(report.groups.filter { $0.verdict == "mismatch" }.map(\.explanation))")
    }

    /// The JSON, HTML and XML reports of every fixture input equal their golden copies; `SKM_RECORD_GOLDEN=1`
    /// re-records them. Every XML report validates against the report schema.
    @Test(arguments: FixtureExpectation.all)
    func theReportsMatchTheirGoldenCopies(_ expected: FixtureExpectation) throws {
        let report = try Fixtures.report(expected.scenario, input: expected.input, clientIP: expected.clientIP)
        let xml = try XMLReportRenderer().render(report)
        #expect(XMLReportRenderer.validate(xml) == [])
        let renditions: [(String, [UInt8])] = [
            ("json", JSONReportRenderer().render(report)), ("html", HTMLReportRenderer().render(report)), ("xml", xml),
        ]
        for (suffix, bytes) in renditions {
            let name = expected.goldenName.replacingOccurrences(of: ".json", with: ".\(suffix)")
            let golden = Fixtures.folder(expected.scenario).appendingPathComponent(name)
            if ProcessInfo.processInfo.environment["SKM_RECORD_GOLDEN"] == "1" {
                try Data(bytes).write(to: golden)
                Issue.record("re-recorded \(name); run again without SKM_RECORD_GOLDEN")
                continue
            }
            let recorded = try Data(contentsOf: golden)
            #expect(Data(bytes) == recorded, "\(name) differs: SKM_RECORD_GOLDEN=1 swift test re-records it")
        }
    }

    /// Recording a scenario again gives the same diagnosis as its committed fixture (identifiers and certificate
    /// bytes differ from run to run; the causes do not).
    @Test(arguments: IncidentScenario.all)
    func aFreshRecordingGivesTheSameDiagnosis(_ scenario: IncidentScenario) async throws {
        let (snapshot, log, _) = try await scenario.record()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("requests.jsonl").path
        try log.write(to: URL(fileURLWithPath: path))
        var fresh = AnalysisResult()
        try Analyzer(rules: Fixtures.rules, snapshot: snapshot).analyze(path, into: &fresh)
        let committed = try Fixtures.report(scenario, input: "requests.jsonl")
        func causes(_ groups: [Triage.Group]) -> [String: Int] {
            groups.reduce(into: [:]) {
                $0["\($1.fingerprint.rule)/\($1.fingerprint.check)/\($1.verdict)", default: 0] += $1.count
            }
        }
        let committedCauses = committed.groups.reduce(into: [String: Int]()) {
            $0["\($1.ruleId ?? "UNEXPLAINED")/\($1.checkId ?? "none")/\($1.verdict)", default: 0] += $1.count
        }
        #expect(causes(fresh.triage.ranked) == committedCauses)
        #expect(fresh.triage.successCount == committed.summary.successes)
    }
}

extension IncidentScenario: CustomTestStringConvertible {
    public var testDescription: String { name }
}
