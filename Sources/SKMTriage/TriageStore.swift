import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMRules

/// One analysis of the session: the uploaded files (kept for re-analysis over another time range), the state, and
/// the reports made so far, by their filter.
struct TriageAnalysis: Sendable {
    var id: String
    var directory: URL
    var logs: [String]
    /// The folder prefix of every stored file, taken out of the names the report shows.
    var prefixes: [String]
    var names: [String]
    var snapshot: StateSnapshot
    var stateName: String
    var clientIP: String?
    /// "requests.jsonl and capture.har against state.json"
    var title: String {
        let inputs =
            names.count <= 2 ? names.joined(separator: " and ") : "\(names[0]) and \(names.count - 1) more files"
        return "\(inputs) against \(stateName)"
    }
}

/// The analyses of this session, newest last; the oldest are dropped (and their files removed) past the limit.
actor TriageStore {
    private var analyses: [String: TriageAnalysis] = [:]
    private var order: [String] = []
    private var reports: [String: [String: IncidentReport]] = [:]
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    func add(_ analysis: TriageAnalysis) {
        analyses[analysis.id] = analysis
        order.append(analysis.id)
        while order.count > limit {
            let dropped = order.removeFirst()
            if let old = analyses.removeValue(forKey: dropped) {
                try? FileManager.default.removeItem(at: old.directory)
            }
            reports[dropped] = nil
        }
    }

    func analysis(_ id: String) -> TriageAnalysis? { analyses[id] }

    func report(_ id: String, filter key: String) -> IncidentReport? { reports[id]?[key] }

    func keep(_ report: IncidentReport, for id: String, filter key: String) {
        guard analyses[id] != nil else { return }
        // A few filtered reports per analysis are kept; a report can be large.
        if (reports[id]?.count ?? 0) >= 8 { reports[id] = reports[id]?.filter { $0.key.isEmpty } }
        reports[id, default: [:]][key] = report
    }

    /// Newest first.
    func recent() -> [(id: String, title: String)] {
        order.reversed().compactMap { id in analyses[id].map { (id: id, title: $0.title) } }
    }
}
