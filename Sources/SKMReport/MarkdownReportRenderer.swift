import Foundation
import SKMCore
import SKMPrimitives

/// The report as Markdown short enough to paste into a ticket: the headline, the biggest groups with their cause,
/// the deciding evidence in one line, the fix and its simulated effect, and what the inputs could not tell.
///
/// Every string from a capture or a rule is made inert: control characters and bidirectional overrides are shown as
/// `\u{…}`, line breaks cannot start a block, and every character Markdown or HTML gives a meaning to is escaped, so a
/// hostile log renders as its own text and never as a link, an image or markup.
package struct MarkdownReportRenderer: Sendable {
    /// Groups described in detail; the rest are named in one line.
    package var detailed: Int

    package init(detailed: Int = 5) {
        self.detailed = detailed
    }

    package func render(_ report: IncidentReport) -> [UInt8] {
        Array(text(report).utf8)
    }

    package func text(_ report: IncidentReport) -> String {
        let summary = report.summary
        var out = ""
        if summary.failures == 0 {
            out += "## SKM: no failed requests among \(grouped(summary.requests))\n\n"
        } else {
            out +=
                "## SKM: \(grouped(summary.failures)) of \(grouped(summary.requests)) requests failed, in "
                + "\(grouped(summary.groups)) group\(summary.groups == 1 ? "" : "s")\n\n"
            out +=
                "**\(grouped(summary.confirmed)) confirmed** · \(grouped(summary.mismatches)) mismatch · "
                + "\(grouped(summary.unexplained)) unexplained"
            if let first = summary.firstTime, let last = summary.lastTime {
                out += " · \(Timestamp.rfc3339(first)) → \(Timestamp.rfc3339(last))"
            }
            out += "\n\n"
        }
        let inputs = report.inputs.map {
            "\(Self.code($0.path)) (\(grouped($0.items)) \($0.format == "har" ? "entries" : "lines"))"
        }
        out += "Inputs: \(inputs.joined(separator: ", ")). "
        out +=
            "State: \(Self.escaped(report.state.source)) snapshot"
            + (report.state.location.map { " of \(Self.escaped($0))" } ?? "")
            + ", taken \(Timestamp.rfc3339(report.state.generatedAt)), \(grouped(report.state.events)) audit events. "
        out +=
            "Rules: \(report.ruleSet.rules) rules, \(report.ruleSet.checks) checks "
            + "(\(report.ruleSet.digest.prefix(8))).\n"
        if !report.filters.isEmpty {
            out += "Only: \(Self.escaped(report.filters.joined(separator: ", "))).\n"
        }
        if summary.problems > 0 {
            let first = report.problems.first.map { " (first: \(Self.escaped("\($0.location): \($0.message)")))" }
            out += "\(grouped(summary.problems)) unreadable input items were skipped\(first ?? "").\n"
        }
        guard summary.failures > 0 else { return out }

        out += "\n| # | Requests | Verdict | Error | Cause |\n|--:|--:|---|---|---|\n"
        for group in report.groups.prefix(max(detailed, 10)) {
            out +=
                "| \(group.rank) | \(grouped(group.count)) | \(group.verdict.rawValue) | \(Self.errorWords(group)) | "
                + "\(Self.escaped(group.causeWords)) |\n"
        }
        if report.groups.count > max(detailed, 10) {
            out += "\n\(report.groups.count - max(detailed, 10)) more groups are in the full report.\n"
        }
        for group in report.groups.prefix(detailed) { out += "\n" + self.group(group) }
        if report.groups.count > detailed {
            let rest = report.groups.dropFirst(detailed).reduce(0) { $0 + $1.count }
            out +=
                "\n_Groups #\(detailed + 1)–#\(report.groups.count) (\(grouped(rest)) requests) are described in "
                + "the HTML, XML and JSON reports._\n"
        }
        return out
    }

    func group(_ group: IncidentReport.Group) -> String {
        var out =
            "### #\(group.rank) · \(grouped(group.count)) × \(Self.errorWords(group)) · \(group.verdict.rawValue)\n\n"
        var scope: [String] = []
        if !group.keyId.isEmpty { scope.append("key \(Self.code(group.keyId))") }
        if !group.appkey.isEmpty { scope.append("appkey \(Self.code(group.appkey))") }
        scope.append("client \(Self.code(group.client))")
        scope.append("\(Timestamp.rfc3339(group.firstSeen)) → \(Timestamp.rfc3339(group.lastSeen))")
        out += scope.joined(separator: " · ") + "\n\n"
        var items: [(String, String)] = []
        let check = group.checkId.flatMap { id in group.ruleId.map { "\($0) / \(id)" } }
        items.append(("Cause", Self.escaped(group.causeWords) + (check.map { " (check \(Self.code($0)))" } ?? "")))
        if let evidence = Self.evidence(group) { items.append(("Evidence", evidence)) }
        if let explanation = group.explanation { items.append(("Why", Self.escaped(explanation))) }
        for hint in group.hints {
            items.append(("Likely because", Self.escaped(hint.explanation + (hint.fix.map { " " + $0 } ?? ""))))
        }
        if let note = group.note { items.append(("Not confirmed", Self.escaped(note))) }
        if let now = group.now { items.append(("Now", Self.escaped(now))) }
        if let dayBefore = group.dayBefore { items.append(("Day before", Self.escaped(dayBefore))) }
        if let fix = group.fix { items.append(("Fix", Self.escaped(fix))) }
        if let simulation = group.simulation { items.append(("Simulated", Self.escaped(simulation.summary))) }
        for alternative in group.alternatives { items.append(("Simulated", Self.escaped(alternative.summary))) }
        if let event = group.event {
            items.append(("Event", Self.escaped("\(Timestamp.rfc3339(event.time)) \(event.summary)")))
        }
        for missing in group.missing {
            items.append(("Unknown", Self.escaped(missing.fact) + ": " + Self.escaped(missing.settle)))
        }
        let ids = group.requestIds.prefix(3).map(Self.code).joined(separator: ", ")
        items.append(("Requests", ids + (group.count > 3 ? ", … (\(grouped(group.count)) in all)" : "")))
        for (label, text) in items { out += "- **\(label):** \(text)\n" }
        return out
    }

    /// The deciding check's evidence of the group's first request, in one line.
    static func evidence(_ group: IncidentReport.Group) -> String? {
        guard let example = group.examples.first,
            let check = example.checks.first(where: { $0.status == .failed })
                ?? example.checks.first(where: {
                    $0.status == .unknown
                })
        else { return nil }
        var parts = check.evidence.prefix(3).map { evidence in
            let value = evidence.value.count > 80 ? String(evidence.value.prefix(80)) + "…" : evidence.value
            return "\(code(evidence.expression)) = \(code(value))"
        }
        if check.evidence.count > 3 { parts.append("…") }
        return parts.isEmpty ? nil : parts.joined(separator: " · ")
    }

    static func errorWords(_ group: IncidentReport.Group) -> String {
        Self.escaped(group.errorWithCode)
    }

    /// The characters to which Markdown (CommonMark, GitHub's tables and strikethrough) or HTML give a meaning inside
    /// a line. Escaped text never starts a line here, so the characters that matter only there (`#`, `-`, `+`, `=`,
    /// digits before `.`) are left as they are; `(` matters only after `]`, which is escaped.
    static let special: Set<Unicode.Scalar> = ["\\", "`", "*", "_", "[", "]", "<", ">", "|", "~", "&"]

    /// Text shown as itself: made inert for a terminal (escapes for control characters, bidirectional overrides and
    /// line breaks; long values cut), every Markdown character backslash-escaped, and what GitHub would turn into a
    /// link by itself (`https://…`, `www.…`, `name@host`) broken by an invisible word joiner (U+2060), which no
    /// escape prevents there.
    package static func escaped(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        let scalars = Array(TerminalText.shown(text).unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            if special.contains(scalar) { out.append("\\") }
            out.append(scalar)
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            let third = index + 2 < scalars.count ? scalars[index + 2] : nil
            if (scalar == ":" && next == "/" && third == "/") || scalar == "@"
                || (next == "." && index >= 2
                    && String(String.UnicodeScalarView(scalars[(index - 2)...index])).lowercased() == "www")
            {
                out.append("\u{2060}")
            }
        }
        return String(out)
    }

    /// Text in a code span (never inside a table, where a pipe would end the cell even in code): inert, and fenced
    /// by a longer run of backticks than any it holds.
    package static func code(_ text: String) -> String {
        let visible = TerminalText.shown(text)
        var longest = 0
        var run = 0
        for character in visible {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: longest + 1)
        let padding = visible.hasPrefix("`") || visible.hasSuffix("`") || visible.isEmpty ? " " : ""
        return fence + padding + visible + padding + fence
    }
}
