import Foundation
import SKMCore
import SKMPrimitives
import SKMRules
import SKMTestSupport
import SKMWire
import Testing
import X509

@testable import SKMAnalysis

@Suite struct DifferentialTests {
    /// Random installations and requests go through the engine and are logged as the server logs them; replaying
    /// the decision procedure on each logged request, with the state rebuilt at its time, must give the error the
    /// engine answered (or success), and every failure must be confirmed by its rule.
    @Test func theDiagnosisFromTheLogEqualsTheEnginesAnswer() async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["SKM_DIFFERENTIAL_SEED"] ?? "") ?? 20_261_127
        let wanted = Int(ProcessInfo.processInfo.environment["SKM_DIFFERENTIAL_CASES"] ?? "") ?? 200
        let rules = Fixtures.rules
        var counts: [Int: Int] = [:]
        var mismatches: [String] = []
        /// Per deciding check of the engine: how many refusals, and how many the analyser put down to that check.
        var agreement: [DecisionCheck: (cases: Int, agreed: Int)] = [:]
        var overflow = 0
        var holes: [String] = []
        var groupsWithTwoTexts = 0
        /// Approvals and rejections of change requests, by the check that refused them ("" for those that passed).
        var changeDecisions: [String: Int] = [:]
        var total = 0
        var round: UInt64 = 0
        func done() -> Bool {
            APIError.allCases.allSatisfy { counts[$0.resultCode, default: 0] >= wanted }
        }
        while !done() && round < 60 {
            round += 1
            let universe = try await Universe(seed: seed &+ round)
            try await universe.build()
            let draw = RequestDraw(universe: universe)
            for _ in 0..<600 {
                if universe.chance(4), let (call, client) = try await draw.honestEncrypt() {
                    // A storage outage during an otherwise valid call: Internal Error, found by elimination.
                    universe.storage.failNextKeyRead()
                    await universe.workshop.send(call, from: client)
                    continue
                }
                let (call, client) = try draw.next()
                await universe.workshop.send(call, from: client)
            }
            let snapshot = try await universe.workshop.snapshot("differential")
            let diagnoser = Diagnoser(rules: rules, facts: FactBuilder(timeline: StateTimeline(snapshot)))
            // The log as the server writes it, read back as the analyser reads it.
            let log = FileManager.default.temporaryDirectory.appendingPathComponent(
                "skm-differential-\(UUID().uuidString).jsonl")
            try universe.workshop.recorder.requestLog.write(to: log)
            defer { try? FileManager.default.removeItem(at: log) }
            var analysed = AnalysisResult()
            try Analyzer(rules: rules, snapshot: snapshot).analyze(log.path, into: &analysed)
            let engineFailures = universe.workshop.recorder.records.filter { !$0.response.isSuccessful }.count
            #expect(analysed.triage.failureCount == engineFailures)
            #expect(analysed.problemCount == 0)
            let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
            let records = try lines.map { try RequestRecord(json: try JSONParser().parse(String($0))) }
            #expect(records == universe.workshop.recorder.records)
            let decisions = universe.workshop.recorder.decisions
            var triage = Triage()
            for (index, record) in records.enumerated() {
                // Long stretches of pure computation: let the other tests' servers run.
                if index % 50 == 0 { await Task.yield() }
                let code = record.response.resultCode
                if record.operation == APIOperation.approveChange.rawValue
                    || record.operation == APIOperation.rejectChange.rawValue
                {
                    changeDecisions[decisions[index]?.id ?? "", default: 0] += 1
                }
                total += 1
                counts[code, default: 0] += 1
                let captured = CapturedRequest(
                    record: record, location: SourceLocation(file: "round \(round)", number: index + 1))
                let finding = diagnoser.diagnose(captured)
                if code != 0 {
                    // One group, one explanation: every request of a group renders its group's words.
                    triage.add(finding)
                    let example = try #require(triage.groups[finding.fingerprint]?.examples.first)
                    if Self.words(example) != Self.words(finding) { groupsWithTwoTexts += 1 }
                    for text in Self.words(finding) where holes.count < 20 {
                        holes += HoleScan.defects(text).map { "\(record.requestId): \($0)" }
                    }
                }
                let predicted = finding.prediction.failure?.rule.error.code ?? 0
                let confirmed = code == 0 || finding.verdict == .confirmed
                // The engine's deciding condition against the cause the analyser names from the log alone.
                var sameCause = true
                if let decided = decisions[index] {
                    sameCause =
                        finding.rule?.error.code == decided.error.resultCode && finding.cause?.check.id == decided.id
                    agreement[decided, default: (0, 0)].cases += 1
                    if sameCause { agreement[decided, default: (0, 0)].agreed += 1 }
                }
                if predicted != code || !confirmed || !sameCause, mismatches.count < 30 {
                    mismatches.append(
                        "seed \(seed) round \(round) \(record.requestId) \(record.method) \(record.path) "
                            + "engine=\(code) predicted=\(predicted) "
                            + "(\(finding.prediction.failure.map { "\($0.rule.id)/\($0.check.id)" } ?? "none")) "
                            + "verdict=\(finding.verdict) cause=\(finding.cause?.check.id ?? "-") "
                            + "engine=\(decisions[index].map(\.id) ?? "-") note=\(finding.note ?? "")")
                } else if predicted != code || !confirmed || !sameCause {
                    overflow += 1
                }
            }
        }
        let summary = APIError.allCases.map { "\($0.identifier)=\(counts[$0.resultCode, default: 0])" }
            .joined(separator: " ")
        print(
            "differential: seed \(seed), \(round) installations, \(total) requests; success=\(counts[0, default: 0]) \(summary)"
        )
        // The per-check agreement table: every deciding condition the corpus reached.
        print("differential: cause-level agreement (engine's deciding check: refusals, analyser agreed)")
        for (check, tally) in agreement.sorted(by: { $0.key.description < $1.key.description }) {
            print(
                "  \(check.description.padding(toLength: 58, withPad: " ", startingAt: 0)) \(tally.cases) \(tally.agreed)"
            )
        }
        let unreached = DecisionCheck.apiChecks.filter { agreement[$0] == nil }.map(\.description).sorted()
        print(
            "differential: conditions the corpus did not reach: \(unreached.isEmpty ? "none" : unreached.joined(separator: ", "))"
        )
        // Every condition an API request can be refused for is reached, but a revoked User Access Key: the engine
        // cannot revoke one yet.
        // The HTTP parser's refusals never reach the engine: the corpus a real server writes covers them
        // (ServerCorpusTests).
        #expect(unreached == ["INVALID_REQUEST/http-well-formed"])
        // Change requests are decided and refused for each of the workflow's reasons.
        print(
            "differential: approvals and rejections of change requests: \(changeDecisions.sorted { $0.key < $1.key })")
        #expect(Set(changeDecisions.keys).isSuperset(of: ["", "approval-waiting", "approver-role", "not-own-request"]))
        #expect(
            mismatches.isEmpty,
            "\(mismatches.count + overflow) disagreements, the first:\n\(mismatches.prefix(30).joined(separator: "\n"))"
        )
        #expect(done(), "fewer than \(wanted) cases for some error: \(summary)")
        #expect(groupsWithTwoTexts == 0, "requests whose words differ from their group's")
        #expect(holes.isEmpty, "\(holes.joined(separator: "\n"))")
    }

    /// Everything a finding says in words: what one group must say alike for all its requests.
    static func words(_ finding: Finding) -> [String] {
        [finding.explanation ?? "", finding.fix ?? "", finding.note ?? ""]
            + finding.hints.map { $0.explanation + ($0.fix ?? "") }
            + ([finding.simulation] + finding.alternatives).map { $0?.description ?? "" }
    }
}
