import Foundation
import SKMCore
import SKMReport
import SKMTestSupport
import Testing

@testable import SKMAnalysis

/// `skm analyze --merge`: reports of parts, merged in order, are the report of the parts analysed together.
@Suite struct MergeTests {
    /// The JSON report (with the analysis it carries) of an analysis, with the run's own time taken out.
    static func json(_ result: AnalysisResult, snapshot: StateSnapshot) -> String {
        var report = IncidentReport(
            analysis: result, rules: Fixtures.rules, snapshot: snapshot,
            options: .init(toolVersion: "test", generatedAt: Date(timeIntervalSince1970: 0), mergeable: true))
        report.removePathPrefix(packageRoot.path + "/")
        return String(decoding: JSONReportRenderer().render(report), as: UTF8.self)
    }

    /// Each part analysed alone, written as JSON text, read back and merged.
    static func merged(
        _ parts: [String], snapshot: StateSnapshot, configure: (inout Analyzer) -> Void = { _ in }
    )
        throws -> AnalysisResult
    {
        var analyzer = Analyzer(rules: Fixtures.rules, snapshot: snapshot)
        configure(&analyzer)
        var merged = AnalysisResult()
        for part in parts {
            var result = AnalysisResult()
            try analyzer.analyze(part, into: &result)
            analyzer.finish(&result)
            let text = JSONWriter(indented: true).bytes(result.mergeable)
            merged.merge(try AnalysisResult(mergeable: try JSONParser().parse(text), diagnoser: analyzer.diagnoser))
        }
        analyzer.finish(&merged)
        return merged
    }

    /// Every fixture's log cut in three: the merged report equals the report of the three analysed together, its
    /// groups, counts, examples, simulated fixes, timeline, problems and the analysis it carries alike.
    @Test(arguments: IncidentScenario.all)
    func mergingThePartsOfALogGivesTheReportOfTheWhole(_ scenario: IncidentScenario) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let lines = try Fixtures.lines(scenario)
        let cuts = [0, lines.count / 3, 2 * lines.count / 3, lines.count]
        let parts = try (0..<3).map { index in
            try scratch.write(
                "part\(index + 1).jsonl", Data(lines[cuts[index]..<cuts[index + 1]].joined(separator: "\n").utf8))
        }
        let snapshot = try Fixtures.snapshot(scenario)
        let analyzer = Analyzer(rules: Fixtures.rules, snapshot: snapshot)
        let whole = analyzer.analyze(parts)
        let merged = try Self.merged(parts, snapshot: snapshot)
        #expect(whole.triage.failureCount > 0)
        let json = Self.json(merged, snapshot: snapshot)
        #expect(json == Self.json(whole, snapshot: snapshot))
        #expect(try schemaViolations(of: [Data(json.utf8)], schema: "incident-report.schema.json") == [])
    }

    /// A capture's analysis read back alone is the same analysis: HAR (with what the command line gave), curl and
    /// access logs, whose requests carry what they could not show.
    @Test func aCapturesAnalysisSurvivesTheRoundTrip() throws {
        let captures: [(URL, [String], (inout Analyzer) -> Void)] = [
            (Fixtures.folder(.clientBehindNAT), ["capture.har"], { $0.harReader.clientIP = "10.0.3.7" }),
            (Fixtures.folder(.expiredClientCertificate), ["capture.har", "requests.jsonl"], { _ in }),
            (OneSession.folder, OneSession.captures, { _ in }),
        ]
        for (folder, inputs, configure) in captures {
            let snapshot = try StateSnapshot.decode(Data(contentsOf: folder.appendingPathComponent("state.json")))
            let paths = inputs.map { folder.appendingPathComponent($0).path }
            var analyzer = Analyzer(rules: Fixtures.rules, snapshot: snapshot)
            configure(&analyzer)
            let whole = analyzer.analyze(paths)
            let merged = try Self.merged(paths, snapshot: snapshot, configure: configure)
            #expect(Self.json(merged, snapshot: snapshot) == Self.json(whole, snapshot: snapshot), "\(inputs)")
        }
    }

    @Test func aDamagedAnalysisIsRefusedByItsMember() throws {
        let snapshot = try Fixtures.snapshot(.rotationThenVersionDeleted)
        let analyzer = Analyzer(rules: Fixtures.rules, snapshot: snapshot)
        let result = analyzer.analyze([
            Fixtures.folder(.rotationThenVersionDeleted).appendingPathComponent("requests.jsonl").path
        ])
        guard case .object(var object) = result.mergeable, case .object(var triage)? = object["triage"],
            case .array(var groups)? = triage["groups"], case .object(var group)? = groups.first
        else { Issue.record("no group"); return }
        group["count"] = "many"
        groups[0] = .object(group)
        triage["groups"] = .array(groups)
        object["triage"] = .object(triage)
        #expect {
            try AnalysisResult(mergeable: .object(object), diagnoser: analyzer.diagnoser)
        } throws: { error in
            "\(error)" == "mergeable.triage.groups[0]: count is not an integer"
        }
        // A report is trusted for its counts, never for a verdict: one its example requests do not give is refused.
        group["count"] = 30
        guard case .object(var fingerprint)? = group["fingerprint"] else {
            Issue.record("no fingerprint")
            return
        }
        fingerprint["verdict"] = "mismatch"
        group["fingerprint"] = .object(fingerprint)
        groups[0] = .object(group)
        triage["groups"] = .array(groups)
        object["triage"] = .object(triage)
        #expect {
            try AnalysisResult(mergeable: .object(object), diagnoser: analyzer.diagnoser)
        } throws: { error in
            "\(error)".hasPrefix("mergeable.triage.groups[0].examples[0]: diagnosed with these rules and this state")
        }
        // Counts that would overflow, and times no log holds.
        fingerprint["verdict"] = "confirmed"
        group["fingerprint"] = .object(fingerprint)
        for (member, value) in [("count", JSONValue.int(Int.max)), ("firstSeen", .double(1e300)), ("count", -5)] {
            var forged = group
            forged[member] = value
            groups[0] = .object(forged)
            triage["groups"] = .array(groups)
            object["triage"] = .object(triage)
            #expect(throws: MergeError.self) {
                try AnalysisResult(mergeable: .object(object), diagnoser: analyzer.diagnoser)
            }
        }
        object["version"] = 9
        #expect(throws: MergeError.self) {
            try AnalysisResult(mergeable: .object(object), diagnoser: analyzer.diagnoser)
        }
    }
}
