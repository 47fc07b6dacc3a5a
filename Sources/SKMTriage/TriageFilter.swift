import Foundation
import Hummingbird
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMReport

/// The triage page's filters, from its query: `error` (a code), `key`, `since` and `until` re-run the analysis;
/// `verdict` and `client` select groups. A value that is not one of these is ignored, and said so.
struct TriageFilter: Sendable {
    var error: Int?
    var key: String?
    var since: Date?
    var until: Date?
    var verdict: Verdict?
    var client: String?
    /// What the query held that is not a filter ("From '…' is not an RFC 3339 time").
    var ignored: [String] = []
    var sinceText = ""
    var untilText = ""

    init() {}

    init(_ query: Parameters) {
        func value(_ name: String) -> String? {
            guard let text = query.get(name), !text.isEmpty else { return nil }
            return String(text)
        }
        if let text = value("error") {
            if let code = Int(text), APIError(resultCode: code) != nil {
                error = code
            } else {
                ignored.append("the error '\(text)' is not a catalogue code")
            }
        }
        key = value("key")
        client = value("client")
        if let text = value("verdict") {
            if let verdict = Verdict(rawValue: text) {
                self.verdict = verdict
            } else {
                ignored.append("the verdict '\(text)' is not confirmed, mismatch or unexplained")
            }
        }
        for (name, label) in [("since", "From"), ("until", "To")] {
            guard let text = value(name) else { continue }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let date = Timestamp.parse(trimmed) ?? Timestamp.parse(trimmed + "T00:00:00Z") else {
                ignored.append("\(label) '\(text)' is not an RFC 3339 time (2026-09-21T14:00:00Z)")
                continue
            }
            if name == "since" {
                since = date
                sinceText = trimmed
            } else {
                until = date
                untilText = trimmed
            }
        }
    }

    var analysisFilter: AnalysisFilter {
        AnalysisFilter(since: since, until: until, keyId: key, errors: error.map { [$0] } ?? [])
    }

    /// The analysis this filter needs, as a key for the reports kept: each value under its name (values alone
    /// would make `since=T` and `until=T`, or `error=N` and `key=N`, the same key); empty for the whole analysis.
    var analysisKey: String {
        var parts: [String] = []
        if let error { parts.append("error=\(error)") }
        if let key { parts.append("key=\(key)") }
        if let since { parts.append("since=\(since.timeIntervalSince1970)") }
        if let until { parts.append("until=\(until.timeIntervalSince1970)") }
        // A JSON array: no value can forge a separator.
        return parts.isEmpty
            ? "" : String(decoding: JSONWriter().bytes(.array(parts.map(JSONValue.string))), as: UTF8.self)
    }

    var isEmpty: Bool {
        error == nil && key == nil && since == nil && until == nil && verdict == nil && client == nil
    }

    /// What a report made under this filter says it was filtered by.
    var descriptions: [String] {
        var parts: [String] = []
        if let since { parts.append("since \(Timestamp.rfc3339(since))") }
        if let until { parts.append("until \(Timestamp.rfc3339(until))") }
        if let key { parts.append("key \(key)") }
        if let error { parts.append("error \(error)") }
        if let verdict { parts.append("verdict \(verdict.rawValue) (groups)") }
        if let client { parts.append("client \(client) (groups)") }
        return parts
    }

    func selectGroups(_ report: inout IncidentReport) {
        if verdict != nil || client != nil {
            report.groups = report.groups.filter { group in
                (verdict == nil || group.verdict == verdict) && (client == nil || group.client == client)
            }
        }
        report.filters = descriptions
    }

    /// The query string of this filter, `?…`, or empty.
    var query: String {
        var items: [URLQueryItem] = []
        if let error { items.append(URLQueryItem(name: "error", value: String(error))) }
        if let verdict { items.append(URLQueryItem(name: "verdict", value: verdict.rawValue)) }
        if let key { items.append(URLQueryItem(name: "key", value: key)) }
        if let client { items.append(URLQueryItem(name: "client", value: client)) }
        if since != nil { items.append(URLQueryItem(name: "since", value: sinceText)) }
        if until != nil { items.append(URLQueryItem(name: "until", value: untilText)) }
        guard !items.isEmpty else { return "" }
        var components = URLComponents()
        components.queryItems = items
        // `+` is a space in a form's query: written encoded, it stays a plus.
        return "?" + (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
    }

    /// The bar above the report: the choices come from the whole analysis, so that a filter can be widened again.
    func bar(analysis: TriageAnalysis, full: IncidentReport, shown report: IncidentReport) -> TriageBar {
        let errors = full.errors.map {
            TriageBar.Choice(
                value: String($0.error.code), label: "\($0.error.message) (\($0.error.code))",
                selected: $0.error.code == error)
        }
        let verdicts = [Verdict.confirmed, .mismatch, .unexplained].filter { verdict in
            full.groups.contains { $0.verdict == verdict }
        }.map { TriageBar.Choice(value: $0.rawValue, label: $0.rawValue, selected: $0 == verdict) }
        let keys = Set(full.groups.map(\.keyId)).filter { !$0.isEmpty }.sorted().map {
            TriageBar.Choice(value: $0, label: $0, selected: $0 == key)
        }
        let clients = Set(full.groups.map(\.client)).sorted().map {
            TriageBar.Choice(value: $0, label: $0, selected: $0 == client)
        }
        var notes: [String] = []
        if !isEmpty {
            let total = report.summary.groups
            notes.append(
                "Showing \(report.groups.count) of \(total) group\(total == 1 ? "" : "s") of the filtered requests "
                    + "(\(full.summary.groups) in the whole analysis).")
        }
        if !ignored.isEmpty { notes.append("Ignored: " + ignored.joined(separator: "; ") + ".") }
        return TriageBar(
            analysis: analysis.id,
            inputs: analysis.title, query: query, filtered: !isEmpty || !ignored.isEmpty, errors: errors,
            verdicts: verdicts, keys: keys, clients: clients, since: sinceText, until: untilText,
            notes: notes.isEmpty ? nil : notes.joined(separator: " "))
    }
}
