import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMReport
import SKMRules

extension AnalyzeCommand {
    /// The largest report `--merge` reads.
    static let maximumReportBytes = 1 << 30

    /// The analyses carried by JSON reports written with `--mergeable`, merged in the order given: the analysis of
    /// their logs read together. Every report must have been made with these rules, against this state and with the
    /// same filters; what is wrong with each is said before anything is merged. Returns the reports' filters too.
    static func merge(
        _ paths: [String], analyzer: Analyzer, rules: RuleSet, snapshot: StateSnapshot
    ) throws -> (AnalysisResult, filters: [String]) {
        var parts: [(path: String, report: JSONValue, analysis: JSONValue)] = []
        var problems: [String] = []
        let stateDigest = snapshot.digest
        for path in paths {
            let data: Data
            do {
                let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
                guard size <= maximumReportBytes else {
                    problems.append(
                        "\(path): \(size) bytes, over the \(maximumReportBytes >> 20) MB a report may have")
                    continue
                }
                data = ByteOrderMark.utf8Text(of: try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                problems.append("\(path): cannot read: \(error.localizedDescription)")
                continue
            }
            let report: JSONValue
            do {
                report = try JSONParser(maximumDepth: 128, invalidUTF8: .replace).parse(data)
            } catch {
                problems.append("\(path): not JSON: \(error)")
                continue
            }
            guard report["schema"]?.stringValue == JSONReportRenderer.schema else {
                problems.append("\(path): not an SKM JSON report (\(JSONReportRenderer.schema))")
                continue
            }
            guard let analysis = report["mergeable"] else {
                problems.append(
                    "\(path): the report does not carry its analysis: write it with skm analyze … --json FILE --mergeable"
                )
                continue
            }
            guard let digest = report["ruleSet"]?["digest"]?.stringValue else {
                problems.append("\(path): the report does not say which rules it was made with (ruleSet.digest)")
                continue
            }
            if digest != rules.digest {
                problems.append(
                    "\(path): made with other rules (digest \(digest.prefix(16)), "
                        + "these are \(rules.digest)): merge with the rules it was made with (--rules)")
            }
            let taken = report["state"]?["generatedAt"]?.stringValue.flatMap(Timestamp.parse)
            let events = report["state"]?["events"]?.intValue
            if analysis["stateDigest"]?.stringValue != stateDigest {
                problems.append(
                    "\(path): made against another state (taken \(taken.map(Timestamp.rfc3339) ?? "?"), "
                        + "\(events.map(String.init) ?? "?") events; this one \(Timestamp.rfc3339(snapshot.generatedAt)), "
                        + "\(snapshot.events.count) events): give the state it was made against")
            }
            parts.append((path, report, analysis))
        }
        let filters = parts.map { ($0.report["filters"]?.arrayValue ?? []).compactMap(\.stringValue) }
        if let first = filters.first, filters.contains(where: { $0 != first }) {
            problems.append(
                "the reports were filtered differently (\(Set(filters.map { $0.joined(separator: ", ") }).sorted().map { "'\($0)'" }.joined(separator: " and "))): merge reports of the same filters"
            )
        }
        for (index, part) in parts.enumerated() {
            if let earlier = parts[..<index].first(where: { $0.analysis == part.analysis }) {
                problems.append(
                    "\(part.path): the same analysis as \(earlier.path): "
                        + "its requests would count twice")
            }
        }
        guard problems.isEmpty else {
            for problem in problems { Terminal.error(problem) }
            throw CommandFailure(message: "", exitCode: 2)
        }
        var result = AnalysisResult()
        for part in parts {
            do {
                result.merge(try AnalysisResult(mergeable: part.analysis, diagnoser: analyzer.diagnoser))
            } catch {
                throw CommandFailure.setup("\(part.path): \(error)")
            }
        }
        analyzer.finish(&result)
        return (result, filters.first ?? [])
    }
}
