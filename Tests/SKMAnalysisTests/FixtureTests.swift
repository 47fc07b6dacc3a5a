import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMRules
import SKMTestSupport
import Testing
import X509

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
        let (snapshot, log, har, attachments) = try await scenario.recordAll()
        let folder = folder(scenario)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try (try snapshot.jsonData() + Data("\n".utf8)).write(to: folder.appendingPathComponent("state.json"))
        try log.write(to: folder.appendingPathComponent("requests.jsonl"))
        if let har { try har.write(to: folder.appendingPathComponent("capture.har")) }
        for (name, data) in attachments { try data.write(to: folder.appendingPathComponent(name)) }
        let readme = """
            # \(scenario.name)

            \(scenario.summary)

            Recorded by driving the SKM engine through the scripted scenario in \
            `Tests/SKMTestSupport/IncidentScenarios.swift`; regenerate with \
            `SKM_RECORD_FIXTURES=1 swift test --filter FixtureTests`.

            ```sh
            skm analyze Fixtures/\(scenario.name)/requests.jsonl --state Fixtures/\(scenario.name)/state.json
            ```

            """ + (har == nil ? "" : Self.harReadme(scenario, attachments: attachments.keys.sorted()))
        try Data(readme.utf8).write(to: folder.appendingPathComponent("README.md"))
    }

    /// How to analyse a fixture's HAR capture, and with what it cannot see.
    static func harReadme(_ scenario: IncidentScenario, attachments: [String]) -> String {
        var text = """
            The client's own HAR capture of the same traffic:

            ```sh
            skm analyze Fixtures/\(scenario.name)/capture.har --state Fixtures/\(scenario.name)/state.json
            ```

            A capture cannot see the address the server saw or the certificate TLS presented: a `GET …/confirm` \
            answer in it tells them, or `--client-ip ADDRESS`, `--client-cert FILE` or `--client-cert none` \
            asserts them (docs/analysis.md).

            """
        for name in attachments where name.hasSuffix(".pem") {
            text += """

                `\(name)` is the certificate the client presented: \
                `--client-cert Fixtures/\(scenario.name)/\(name)`.

                """
        }
        return text
    }

    static func snapshot(_ scenario: IncidentScenario) throws -> StateSnapshot {
        try StateSnapshot.decode(Data(contentsOf: folder(scenario).appendingPathComponent("state.json")))
    }

    /// The analysis of a fixture input, as the JSON report with the run's own time taken out.
    static func report(
        _ scenario: IncidentScenario, input: String, clientIP: String? = nil, clientCert: String? = nil,
        configure: (inout Analyzer) -> Void = { _ in }, check: (AnalysisResult) -> Void = { _ in }
    ) throws -> IncidentReport {
        let snapshot = try snapshot(scenario)
        var analyzer = Analyzer(rules: rules, snapshot: snapshot)
        configure(&analyzer)
        analyzer.harReader.clientIP = clientIP
        if clientCert == "none" {
            analyzer.harReader.noClientCertificate = true
        } else if let clientCert {
            analyzer.harReader.clientCertificate = try Certificate(
                pemEncoded: String(contentsOf: folder(scenario).appendingPathComponent(clientCert), encoding: .utf8))
        }
        let path = folder(scenario).appendingPathComponent(input).path
        var result = AnalysisResult()
        try analyzer.analyze(path, into: &result)
        analyzer.finish(&result)
        check(result)
        var report = IncidentReport(
            analysis: result, rules: rules, snapshot: snapshot,
            options: .init(toolVersion: "test", generatedAt: Date(timeIntervalSince1970: 0)))
        // Golden copies must not depend on where the repository is checked out.
        let root = packageRoot.path + "/"
        report.removePathPrefix(root)
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

/// One group a support engineer must find in a fixture's report, written by hand from the scenario.
struct GroupExpectation: Sendable {
    var rule: String
    /// The cause's check; `nil` when the verdict is not confirmed.
    var check: String?
    var verdict: String
    var count: Int
    /// The hints that hold beside the cause.
    var hints: [String] = []
    /// The simulated fix: how many of the group's requests it makes pass, and of how many.
    var simulation: (passed: Int, of: Int)? = nil
    /// In OR mode, each alternative factor's simulated fix.
    var alternatives: [(passed: Int, of: Int)] = []
    /// The action of the event that caused it.
    var event: String? = nil
}

/// What a support engineer must get from each fixture: every group, in rank order.
struct FixtureExpectation: Sendable, CustomTestStringConvertible {
    var scenario: IncidentScenario
    var input: String
    var clientIP: String?
    var clientCert: String?
    var failures: Int
    var groups: [GroupExpectation]

    var testDescription: String {
        "\(scenario.name)/\(input)" + (clientIP.map { " --client-ip \($0)" } ?? "")
            + (clientCert.map { " --client-cert \($0)" } ?? "")
    }

    var goldenName: String {
        "expected-" + input.replacingOccurrences(of: ".", with: "-") + (clientIP == nil ? "" : "-client-ip")
            + (clientCert == nil ? "" : "-client-cert") + ".json"
    }

    static let all: [FixtureExpectation] = [
        .init(
            scenario: .rotationThenVersionDeleted, input: "requests.jsonl", failures: 30,
            groups: [
                .init(
                    rule: "SKM-INVALID-KEY-VERSION", check: "version-exists", verdict: "confirmed", count: 30,
                    event: "keyVersion.purge")
            ]),
        // The capture does not hold the client's address; the address checks come before the version's, and the
        // logged error says the server got past them.
        .init(
            scenario: .rotationThenVersionDeleted, input: "capture.har", failures: 30,
            groups: [
                .init(
                    rule: "SKM-INVALID-KEY-VERSION", check: "version-exists", verdict: "confirmed", count: 30,
                    event: "keyVersion.purge")
            ]),
        // 10.0.3.7 and 10.0.3.8 (every third call) behind NAT; the registered addresses are public.
        .init(
            scenario: .clientBehindNAT, input: "requests.jsonl", failures: 60,
            groups: [
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-registered", verdict: "confirmed", count: 40,
                    hints: ["behind-nat"], simulation: (40, 40)),
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-registered", verdict: "confirmed", count: 20,
                    hints: ["behind-nat"], simulation: (20, 20)),
            ]),
        // The capture is 10.0.3.7's; its own GET …/confirm answer names the address the server saw.
        .init(
            scenario: .clientBehindNAT, input: "capture.har", failures: 40,
            groups: [
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-registered", verdict: "confirmed", count: 40,
                    hints: ["behind-nat"], simulation: (40, 40))
            ]),
        .init(
            scenario: .clientBehindNAT, input: "capture.har", clientIP: "10.0.3.7", failures: 40,
            groups: [
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-registered", verdict: "confirmed", count: 40,
                    hints: ["behind-nat"], simulation: (40, 40))
            ]),
        .init(
            scenario: .expiredClientCertificate, input: "requests.jsonl", failures: 51,
            groups: [
                .init(
                    rule: "SKM-CERTIFICATE-EXPIRED", check: "certificate-not-expired", verdict: "confirmed", count: 45),
                .init(rule: "SKM-UNTRUSTED-CERTIFICATE", check: "issued-by-this-ca", verdict: "confirmed", count: 6),
            ]),
        // A client-side capture cannot see the certificate TLS presented: unexplained, and says how to settle it.
        .init(
            scenario: .expiredClientCertificate, input: "capture.har", failures: 45,
            groups: [.init(rule: "SKM-CERTIFICATE-EXPIRED", check: nil, verdict: "unexplained", count: 45)]),
        // Given the certificate, the cause is confirmed; the capture's own times show the client's clock two days
        // behind the server's Date.
        .init(
            scenario: .expiredClientCertificate, input: "capture.har", clientCert: "client-cert.pem", failures: 45,
            groups: [
                .init(
                    rule: "SKM-CERTIFICATE-EXPIRED", check: "certificate-not-expired", verdict: "confirmed",
                    count: 45, hints: ["client-clock-behind"])
            ]),
        // The proxy at 10.9.0.2 forwards two devices (X-Forwarded-For) without their header; one device sends dots.
        .init(
            scenario: .proxyDropsMACHeader, input: "requests.jsonl", failures: 54,
            groups: [
                .init(
                    rule: "SKM-MAC-AUTH-FAILURE", check: "header-present", verdict: "confirmed", count: 25,
                    hints: ["proxy-drops-header"]),
                .init(
                    rule: "SKM-MAC-AUTH-FAILURE", check: "header-present", verdict: "confirmed", count: 25,
                    hints: ["proxy-drops-header"]),
                .init(rule: "SKM-MAC-AUTH-FAILURE", check: "header-well-formed", verdict: "confirmed", count: 4),
            ]),
        .init(
            scenario: .keyScheduledForDeletion, input: "requests.jsonl", failures: 40,
            groups: [
                .init(
                    rule: "SKM-INVALID-KEY-ID", check: "key-in-service", verdict: "confirmed", count: 20,
                    simulation: (20, 20), event: "key.scheduleDeletion"),
                .init(
                    rule: "SKM-INVALID-KEY-STATUS", check: "key-in-service", verdict: "confirmed", count: 20,
                    simulation: (20, 20), event: "key.scheduleDeletion"),
            ]),
        .init(
            scenario: .wrongAppkeyAfterDeploy, input: "requests.jsonl", failures: 50,
            groups: [
                .init(
                    rule: "SKM-INVALID-APPKEY", check: "appkey-exists", verdict: "confirmed", count: 45,
                    hints: ["key-of-another-appkey"], simulation: (45, 45)),
                .init(
                    rule: "SKM-INVALID-APPKEY", check: "appkey-well-formed", verdict: "confirmed", count: 5,
                    hints: ["key-of-another-appkey"]),
            ]),
        .init(
            scenario: .mixedTraffic, input: "requests.jsonl", failures: 9,
            groups: [
                .init(rule: "SKM-INVALID-KEY-VERSION", check: "blob-not-encoded-twice", verdict: "confirmed", count: 1),
                .init(rule: "SKM-INVALID-USER-DATA", check: "blob-complete", verdict: "confirmed", count: 1),
                .init(rule: "SKM-INVALID-KEY-ID", check: "key-type-fits", verdict: "confirmed", count: 1),
                .init(rule: "SKM-INVALID-REQUEST", check: "body-is-json", verdict: "confirmed", count: 1),
                .init(rule: "SKM-URL-NOT-FOUND", check: "route-exists", verdict: "confirmed", count: 1),
                .init(rule: "SKM-UNAUTHORIZED", check: "secret-valid", verdict: "confirmed", count: 1),
                .init(rule: "SKM-INVALID-REQUEST", check: "plaintext-within-32kb", verdict: "confirmed", count: 1),
                .init(rule: "SKM-INVALID-KEY-ID", check: "key-type-fits", verdict: "confirmed", count: 1),
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-registered", verdict: "confirmed", count: 1,
                    simulation: (1, 1)),
            ]),
        .init(
            scenario: .hostileLog, input: "requests.jsonl", failures: 4,
            groups: [
                .init(rule: "SKM-MAC-AUTH-FAILURE", check: "header-well-formed", verdict: "confirmed", count: 1),
                .init(rule: "SKM-MAC-AUTH-FAILURE", check: "header-well-formed", verdict: "confirmed", count: 1),
                .init(
                    rule: "SKM-URL-NOT-FOUND", check: "route-exists", verdict: "confirmed", count: 1,
                    hints: ["empty-path-segment"]),
                .init(rule: "SKM-INVALID-REQUEST", check: "key-store-known", verdict: "confirmed", count: 1),
            ]),
        // Five causes from one host and one key: each its own group, each with its own words.
        .init(
            scenario: .releaseBreaksThreeWays, input: "requests.jsonl", failures: 48,
            groups: [
                .init(
                    rule: "SKM-INVALID-KEY-VERSION", check: "version-exists", verdict: "confirmed", count: 18,
                    event: "keyVersion.purge"),
                .init(
                    rule: "SKM-INVALID-KEY-VERSION-STATUS", check: "version-in-service", verdict: "confirmed",
                    count: 12, simulation: (12, 12), event: "keyVersion.scheduleDeletion"),
                .init(
                    rule: "SKM-URL-NOT-FOUND", check: "route-exists", verdict: "confirmed", count: 6,
                    hints: ["empty-path-segment"]),
                .init(rule: "SKM-UNAUTHORIZED", check: "secret-valid", verdict: "confirmed", count: 6),
                .init(rule: "SKM-UNAUTHORIZED", check: "token-authentic", verdict: "confirmed", count: 6),
            ]),
        // A state read through the API: what it cannot show stays unexplained, with what would settle it.
        .init(
            scenario: .stateFromTheAPI, input: "requests.jsonl", failures: 56,
            groups: [
                .init(rule: "SKM-INVALID-KEY-ID", check: nil, verdict: "unexplained", count: 12),
                .init(rule: "SKM-INVALID-KEY-ID", check: nil, verdict: "unexplained", count: 12),
                .init(
                    rule: "SKM-INVALID-KEY-ID", check: "key-in-service", verdict: "confirmed", count: 12,
                    simulation: (12, 12)),
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: nil, verdict: "unexplained", count: 12,
                    simulation: (12, 12)),
                .init(rule: "SKM-UNAUTHORIZED", check: nil, verdict: "unexplained", count: 4),
                .init(
                    rule: "SKM-INVALID-APPKEY", check: "appkey-well-formed", verdict: "confirmed", count: 4,
                    hints: ["key-of-another-appkey"]),
            ]),
        .init(
            scenario: .tokenOfAnotherProject, input: "requests.jsonl", failures: 32,
            groups: [
                .init(rule: "SKM-UNAUTHORIZED", check: "access-key-of-this-appkey", verdict: "confirmed", count: 24),
                .init(rule: "SKM-UNAUTHORIZED", check: "token-not-expired", verdict: "confirmed", count: 8),
            ]),
        // OR mode: registering the address, or the MAC address, alone lets the first host through; the second
        // host sends no MAC header, so only its address helps.
        .init(
            scenario: .orModeNewHost, input: "requests.jsonl", failures: 50,
            groups: [
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-registered", verdict: "confirmed", count: 40,
                    simulation: (40, 40), alternatives: [(40, 40)]),
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-registered", verdict: "confirmed", count: 10,
                    simulation: (10, 10)),
            ]),
        FixtureExpectation(
            scenario: .registrationsWaitForApproval, input: "requests.jsonl", failures: 26,
            groups: [
                // The host whose registration waits, then the device's MAC address.
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-approved", verdict: "confirmed", count: 12,
                    event: "auth.add"),
                .init(
                    rule: "SKM-MAC-AUTH-FAILURE", check: "mac-approved", verdict: "confirmed", count: 6,
                    event: "auth.add"),
                // The office's three hosts, while the cancellation of the range's deletion waits.
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-approved", verdict: "confirmed", count: 3,
                    event: "auth.cancelDeletion"),
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-approved", verdict: "confirmed", count: 3,
                    event: "auth.cancelDeletion"),
                .init(
                    rule: "SKM-IPV4-AUTH-FAILURE", check: "address-approved", verdict: "confirmed", count: 2,
                    event: "auth.cancelDeletion"),
            ]),
        // The decrypts while the cancellation of the key's deletion waits, then before it was asked for; the robot's
        // approval of its own request, and the reporting job's, which is no approver.
        FixtureExpectation(
            scenario: .keyChangesWaitForApproval, input: "requests.jsonl", failures: 22,
            groups: [
                .init(
                    rule: "SKM-INVALID-KEY-STATUS", check: "key-in-service", verdict: "confirmed", count: 12,
                    simulation: (12, 12), event: "change.request"),
                .init(
                    rule: "SKM-INVALID-KEY-STATUS", check: "key-in-service", verdict: "confirmed", count: 8,
                    simulation: (8, 8), event: "key.scheduleDeletion"),
                .init(
                    rule: "SKM-INVALID-REQUEST", check: "not-own-request", verdict: "confirmed", count: 1,
                    event: "change.request"),
                .init(rule: "SKM-INVALID-REQUEST", check: "approver-role", verdict: "confirmed", count: 1),
            ]),
        // The gateway's certificate is this installation's and valid, but its registration waits for approval.
        FixtureExpectation(
            scenario: .certificateWaitsForApproval, input: "requests.jsonl", failures: 16,
            groups: [
                .init(
                    rule: "SKM-CERTIFICATE-AUTH-FAILURE", check: "certificate-approved", verdict: "confirmed",
                    count: 16, event: "auth.add")
            ]),
    ]
}

@Suite struct FixtureAnalysisTests {
    @Test(arguments: FixtureExpectation.all)
    func everyGroupIsTheExpectedOne(_ expected: FixtureExpectation) throws {
        let report = try Fixtures.report(
            expected.scenario, input: expected.input, clientIP: expected.clientIP, clientCert: expected.clientCert)
        #expect(report.summary.failures == expected.failures)
        #expect(report.groups.count == expected.groups.count)
        for (group, wanted) in zip(report.groups, expected.groups) {
            let place = "group #\(group.rank)"
            #expect(group.ruleId == wanted.rule, "\(place)")
            #expect(group.checkId == wanted.check, "\(place)")
            #expect(group.verdict.rawValue == wanted.verdict, "\(place): \(group.note ?? "")")
            #expect(group.count == wanted.count, "\(place)")
            #expect(group.hints.map(\.id) == wanted.hints, "\(place)")
            #expect(
                group.simulation.map { "\($0.passed)/\($0.simulated)" }
                    == wanted.simulation.map { "\($0.passed)/\($0.of)" }, "\(place)")
            #expect(
                group.alternatives.map { "\($0.passed)/\($0.simulated)" }
                    == wanted.alternatives.map { "\($0.passed)/\($0.of)" }, "\(place)")
            #expect(group.event?.action == wanted.event, "\(place)")
        }
        #expect(report.summary.mismatches == 0)
    }

    /// The JSON, HTML, XML and Markdown reports of every fixture input equal their golden copies;
    /// `SKM_RECORD_GOLDEN=1` re-records them. Every XML report validates against the report schema, every JUnit
    /// report against `Schemas/junit.xsd` and every SARIF log against the official SARIF 2.1.0 schema.
    @Test(arguments: FixtureExpectation.all)
    func theReportsMatchTheirGoldenCopies(_ expected: FixtureExpectation) throws {
        let report = try Fixtures.report(
            expected.scenario, input: expected.input, clientIP: expected.clientIP, clientCert: expected.clientCert)
        let xml = try XMLReportRenderer().render(report)
        #expect(XMLReportRenderer.validate(xml) == [])
        let json = JSONReportRenderer().render(report)
        #expect(try schemaViolations(of: [Data(json)], schema: "incident-report.schema.json") == [])
        let junit = try JUnitReportRenderer().render(report)
        #expect(XMLReportRenderer.validate(junit, schema: try TicketFormats.junitSchema()) == [])
        let sarif = SARIFReportRenderer(rules: Fixtures.rules).render(report)
        #expect(try schemaViolations(of: [Data(sarif)], schema: "sarif-schema-2.1.0.json") == [])
        let renditions: [(String, [UInt8])] = [
            ("json", JSONReportRenderer().render(report)), ("html", HTMLReportRenderer().render(report)), ("xml", xml),
            ("md", MarkdownReportRenderer().render(report)),
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
                $0[
                    "\($1.fingerprint.rule ?? "UNEXPLAINED")/\($1.fingerprint.check ?? "none")/\($1.verdict)",
                    default: 0] +=
                    $1.count
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
    package var testDescription: String { name }
}
