import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMTestSupport
import Testing

/// The library product's public API gives the report `skm analyze` gives.
@Suite struct IncidentAnalysisTests {
    @Test func thePublicAPIReportsWhatTheAnalyserFinds() throws {
        let folder = packageRoot.appendingPathComponent("Fixtures/mixed-traffic")
        let state = try Data(contentsOf: folder.appendingPathComponent("state.json"))
        let input = folder.appendingPathComponent("requests.jsonl").path
        let time = Date(timeIntervalSince1970: 1_000)
        let report = try IncidentAnalysis(rules: [packageRoot.appendingPathComponent("Rules")], state: state)
            .run([input], generatedAt: time)

        let rules = try SKMFacts.loadRules([packageRoot.appendingPathComponent("Rules")]).get()
        let snapshot = try StateSnapshot.decode(state)
        let result = Analyzer(rules: rules, snapshot: snapshot).analyze([input])
        let expected = IncidentReport(
            analysis: result, rules: rules, snapshot: snapshot,
            options: .init(toolVersion: "library", generatedAt: time))
        #expect(report.json() == String(decoding: JSONReportRenderer().render(expected), as: UTF8.self))
        #expect(report.failures == result.triage.failureCount && report.failures > 0)
        #expect(report.confirmed + report.mismatches + report.unexplained == report.failures)
        #expect(try report.xml().contains("<incidentReport"))
        #expect(report.html().hasPrefix("<!DOCTYPE html>"))
        #expect(report.text().contains("mixed-traffic"))
    }

    @Test func aStateThatIsNotASnapshotIsNamed() {
        #expect {
            _ = try IncidentAnalysis(rules: [packageRoot.appendingPathComponent("Rules")], state: Data("{}".utf8))
        } throws: { error in
            (error as? IncidentAnalysisError)?.code == .state
        }
    }
}

/// The analyser says how far it has read, for the progress line on a terminal.
@Suite struct AnalysisProgressTests {
    @Test func aRequestLogReportsItsBytesReadOfItsSize() throws {
        let folder = packageRoot.appendingPathComponent("Fixtures/mixed-traffic")
        let input = folder.appendingPathComponent("requests.jsonl").path
        let rules = try SKMFacts.loadRules([packageRoot.appendingPathComponent("Rules")]).get()
        let snapshot = try StateSnapshot.decode(Data(contentsOf: folder.appendingPathComponent("state.json")))
        var heard: [AnalysisProgress] = []
        let result = Analyzer(rules: rules, snapshot: snapshot).analyze([input], progress: { heard.append($0) })
        let size = try #require(try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int)
        let last = try #require(heard.last)
        #expect(last.totalBytes == size && last.bytesRead == size)
        #expect(last.items == result.inputs.first?.items && last.items > 0)
        #expect(last.path == input)
    }
}
