import Foundation
import SKMCore
import SKMPrimitives

/// The report for a terminal: a summary to read in ten seconds, then the biggest groups with their cause, fix and
/// causing event. Colour only when asked (a TTY); every string from a capture is made inert first (control
/// characters and bidirectional overrides are shown as `\u{…}`), so a hostile log cannot drive the terminal.
package struct TextReportRenderer: Sendable {
    package var color: Bool
    /// Groups shown in detail; the rest appear in the table.
    package var detailed: Int
    /// Rows of the group table.
    package var tableRows: Int

    package init(color: Bool = false, detailed: Int = 5, tableRows: Int = 20) {
        self.color = color
        self.detailed = detailed
        self.tableRows = tableRows
    }

    package func render(_ report: IncidentReport) -> String {
        var out = ""
        let summary = report.summary
        out +=
            bold("SKM incident analysis")
            + dim(
                "  rules \(report.ruleSet.rules)/\(report.ruleSet.checks) checks · \(report.ruleSet.digest.prefix(8))")
            + "\n"
        let inputs = report.inputs.map {
            "\(safe($0.path)) (\(number($0.items)) \($0.format == "har" ? "entries" : $0.format == "curl" ? "calls" : "lines"))"
        }
        out += dim("inputs: ") + inputs.joined(separator: ", ") + "\n"
        out +=
            dim("state:  ")
            + "\(safe(report.state.source)) snapshot of \(safe(report.state.location ?? "?")), taken \(Timestamp.rfc3339(report.state.generatedAt)), \(number(report.state.events)) audit events\n"
        if let first = summary.firstTime, let last = summary.lastTime {
            out += dim("time:   ") + "\(Timestamp.rfc3339(first)) → \(Timestamp.rfc3339(last))\n"
        }
        if !report.filters.isEmpty { out += dim("filter: ") + safe(report.filters.joined(separator: ", ")) + "\n" }
        out += "\n"
        out +=
            "\(number(summary.requests)) requests: \(green(number(summary.successes))) succeeded, "
            + "\(summary.failures > 0 ? red(number(summary.failures)) : number(summary.failures)) failed"
        if summary.failures > 0 {
            out +=
                " in \(number(summary.groups)) group\(summary.groups == 1 ? "" : "s") — "
                + "\(green(number(summary.confirmed))) confirmed, "
                + "\(summary.mismatches > 0 ? red(number(summary.mismatches)) : "0") mismatch, "
                + "\(summary.unexplained > 0 ? yellow(number(summary.unexplained)) : "0") unexplained"
        }
        out += "\n"
        if summary.problems > 0 || summary.filteredOut > 0 {
            var parts: [String] = []
            if summary.problems > 0 {
                parts.append(
                    "\(number(summary.problems)) \(summary.problems == 1 ? "problem" : "problems") in the inputs (listed below)"
                )
            }
            if summary.filteredOut > 0 { parts.append("\(number(summary.filteredOut)) requests filtered out") }
            out += dim(parts.joined(separator: ", ")) + "\n"
        }
        guard summary.failures > 0 else {
            out += "\nNo failed requests.\n"
            return out + problems(report)
        }
        out += "\n" + bold("By error") + "\n"
        for entry in report.errors {
            out += "  \(pad(number(entry.count), 8, right: true))  \(entry.error.message) (\(entry.error.code))\n"
        }

        out += "\n" + bold("Groups, biggest first") + "\n"
        out += dim("   #    COUNT  VERDICT      ERROR                        CAUSE") + "\n"
        for group in report.groups.prefix(tableRows) {
            let cause = group.causeWords
            out +=
                "  \(pad(String(group.rank), 2, right: true))  \(pad(number(group.count), 7, right: true))  "
                + verdict(group.verdict, width: 11) + "  "
                + pad(safe(group.errorLabel), 27) + "  " + safe(cause) + "\n"
        }
        if report.groups.count > tableRows {
            out += dim("  … \(report.groups.count - tableRows) more groups in the JSON and HTML reports") + "\n"
        }
        if summary.groups > report.groups.count {
            out +=
                dim(
                    "  The reports list the \(number(report.groups.count)) largest of the \(number(summary.groups)) "
                        + "groups; --error, --appkey, --key, --since or --until narrows the analysis to the rest.")
                + "\n"
        }

        for group in report.groups.prefix(detailed) {
            out += "\n" + detail(group)
        }
        if report.groups.count > detailed {
            let shown = min(report.groups.count, tableRows)
            out +=
                "\n"
                + dim(
                    (detailed + 1 == shown
                        ? "Group #\(shown) is in the table only: --top \(shown) describes it"
                        : "Groups #\(detailed + 1)–#\(shown) are in the table only: --top \(shown) describes them")
                        + (detailed + 1 == shown
                            ? ", and the JSON and HTML reports describe it."
                            : ", and the JSON and HTML reports describe them.")
                ) + "\n"
        }
        if !report.keys.isEmpty {
            out += "\n" + bold("Keys with failures") + dim(" (successes for context)") + "\n"
            for key in report.keys.filter({ $0.failures > 0 }).prefix(10) {
                out +=
                    "  \(safe(key.keyId))  appkey \(safe(key.appkey))  \(red(number(key.failures))) failed, \(number(key.successes)) succeeded\n"
            }
        }
        return out + problems(report)
    }

    func detail(_ group: IncidentReport.Group) -> String {
        var out =
            bold("#\(group.rank)") + "  \(number(group.count)) × \(safe(group.errorLabel))"
            + (group.error.map { " (\($0.code))" } ?? "") + " · " + verdict(group.verdict, width: 0)
            + dim(
                " · \(Timestamp.rfc3339(group.firstSeen)) → \(Timestamp.rfc3339(group.lastSeen))") + "\n"
        var scope: [String] = []
        if !group.keyId.isEmpty { scope.append("key \(safe(group.keyId))") }
        if !group.appkey.isEmpty { scope.append("appkey \(safe(group.appkey))") }
        scope.append("client \(safe(group.client))")
        out += "    " + dim(scope.joined(separator: " · ")) + "\n"
        if let rule = group.ruleId {
            // The cause in words; the rule and the check that failed (named for what should have held) beside it.
            let failed = group.checkId.map { " · failed check \(rule) / \($0)" } ?? " · rule \(rule)"
            out += "    " + dim("cause: \(group.causeWords)\(failed)") + "\n"
        }
        if let explanation = group.explanation { out += wrap("Why: ", safe(explanation)) }
        for hint in group.hints {
            out += wrap("Likely because: ", safe(hint.explanation + (hint.fix.map { " " + $0 } ?? "")))
        }
        if let note = group.note { out += wrap("Not confirmed: ", safe(note)) }
        if let now = group.now { out += wrap("Now: ", safe(now)) }
        if let dayBefore = group.dayBefore { out += wrap("Day before: ", safe(dayBefore)) }
        for missing in group.missing { out += wrap("To settle it: ", safe("\(missing.fact): \(missing.settle)")) }
        if let fix = group.fix { out += wrap("Fix: ", safe(fix)) }
        if let simulation = group.simulation { out += wrap("Simulated: ", safe(simulation.summary)) }
        for alternative in group.alternatives { out += wrap("Simulated: ", safe(alternative.summary)) }
        if let event = group.event {
            out += wrap("Event: ", safe("\(Timestamp.rfc3339(event.time)) \(event.summary)"))
        }
        if let example = group.examples.first, let escalation = example.escalation, group.verdict != .confirmed {
            out += "    " + dim("Escalation summary:") + "\n"
            for line in escalation.split(separator: "\n") { out += "      " + safe(String(line)) + "\n" }
        }
        let ids = group.requestIds.prefix(5).map(safe).joined(separator: ", ")
        out += "    " + dim("requests: \(ids)\(group.count > 5 ? ", …" : "")") + "\n"
        return out
    }

    /// One finding in full: every check with its evidence.
    package func render(_ finding: IncidentReport.Finding, error: IncidentReport.ErrorInfo?, httpStatus: Int) -> String
    {
        var out =
            bold("Request \(safe(finding.requestId))")
            + dim("  \(safe(finding.location)) · \(Timestamp.rfc3339(finding.time))") + "\n"
        out +=
            "\(safe(finding.method)) \(safe(finding.path))" + (finding.operation.map { " (\(safe($0)))" } ?? "")
            + " from \(safe(finding.client))\n"
        out += "Answered: " + (error.map { "\($0.message) (\($0.code))" } ?? "no SKM result") + ", HTTP \(httpStatus)\n"
        out += "Verdict: " + verdict(finding.verdict, width: 0) + "\n"
        if let cause = finding.cause { out += wrap("Cause: ", safe(cause), indent: 0) }
        if let explanation = finding.explanation { out += wrap("Why: ", safe(explanation), indent: 0) }
        for hint in finding.hints {
            out += wrap("Likely because: ", safe(hint.explanation + (hint.fix.map { " " + $0 } ?? "")), indent: 0)
        }
        if let fix = finding.fix { out += wrap("Fix: ", safe(fix), indent: 0) }
        if let simulation = finding.simulation { out += wrap("Simulated: ", safe(simulation), indent: 0) }
        if let note = finding.note { out += wrap("Note: ", safe(note), indent: 0) }
        if let event = finding.event {
            out += wrap("Event: ", safe("\(Timestamp.rfc3339(event.time)) \(event.summary)"), indent: 0)
        }
        if !finding.checks.isEmpty {
            out += "\n" + bold("Checks") + "\n"
            for check in finding.checks + finding.warnings { out += self.check(check) }
        }
        if let predicted = finding.predicted { out += "\nReplay of the decision procedure: \(safe(predicted))\n" }
        if !finding.missing.isEmpty {
            out += "\n" + bold("Missing evidence") + "\n"
            for missing in finding.missing { out += "  \(safe(missing.fact)): \(safe(missing.settle))\n" }
        }
        if let escalation = finding.escalation {
            out += "\n" + bold("Escalation summary") + "\n"
            for line in escalation.split(separator: "\n") { out += "  " + safe(String(line)) + "\n" }
        }
        return out
    }

    func check(_ check: IncidentReport.CheckResult) -> String {
        let mark: String
        switch check.status {
        case .passed: mark = green("✓ passed ")
        case .failed: mark = check.severity == .warning ? yellow("! warning") : red("✗ failed ")
        case .unknown: mark = yellow("? unknown")
        case .error: mark = red("! error  ")
        case .notReached: mark = dim("· not reached")
        case .skipped: mark = dim("· skipped")
        }
        var out =
            "  \(mark)  \(safe(check.id))"
            + dim("  \(safe(check.status == .failed ? check.failureTitle : check.title))")
            + "\n"
        for evidence in check.evidence.prefix(12) {
            // The whole expression: cut, it would read as another one. A long one puts its value on the next line.
            let expression = safe(evidence.expression)
            let value = safe(String(evidence.value.prefix(200)))
            if expression.count > 60 {
                out += "             " + dim(expression) + "\n" + "               = " + value + "\n"
            } else {
                out += "             " + dim(expression) + " = " + value + "\n"
            }
        }
        for missing in check.missing {
            out += "             " + yellow("needs \(safe(missing.fact))") + dim(" (\(safe(missing.settle)))") + "\n"
        }
        if let failure = check.failure { out += "             " + red(safe(failure)) + "\n" }
        return out
    }

    func problems(_ report: IncidentReport) -> String {
        guard !report.problems.isEmpty else { return "" }
        var out = "\n" + bold("Unreadable input") + dim(" (skipped; the rest was analysed)") + "\n"
        for problem in report.problems.prefix(10) { out += "  \(safe(problem.location)): \(safe(problem.message))\n" }
        if report.summary.problems > 10 { out += dim("  … \(report.summary.problems - 10) more") + "\n" }
        return out
    }

    // MARK: - Formatting

    func wrap(_ label: String, _ text: String, indent: Int = 4, width: Int = 110) -> String {
        var lines: [String] = []
        var line = String(repeating: " ", count: indent) + bold(label)
        var length = indent + label.count
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if length + word.count + 1 > width, length > indent + label.count {
                lines.append(line)
                line = String(repeating: " ", count: indent + label.count)
                length = indent + label.count
            }
            line += (length > indent + label.count ? " " : "") + word
            length += word.count + 1
        }
        lines.append(line)
        return lines.joined(separator: "\n") + "\n"
    }

    func number(_ value: Int) -> String { grouped(value) }

    func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }

    func verdict(_ verdict: Verdict, width: Int) -> String {
        let text = pad(verdict.rawValue, width)
        switch verdict {
        case .confirmed: return green(text)
        case .mismatch: return red(text)
        case .unexplained: return yellow(text)
        }
    }

    /// Untrusted text made inert for a terminal.
    package func safe(_ text: String) -> String {
        TerminalText.shown(text)
    }

    func bold(_ text: String) -> String { color ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { color ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
    func red(_ text: String) -> String { color ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    func green(_ text: String) -> String { color ? "\u{1B}[32m\(text)\u{1B}[0m" : text }
    func yellow(_ text: String) -> String { color ? "\u{1B}[33m\(text)\u{1B}[0m" : text }
}

/// `1,234,567`: a count with its digits grouped by thousands, as every rendering shows counts.
package func grouped(_ count: Int) -> String {
    let digits = String(count)
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out += "," }
        out.append(character)
    }
    return out
}

/// Makes text safe to print on a terminal.
package enum TerminalText {
    /// ``PrintableText/escaped(_:keepingLineBreaks:uppercase:)``, in upper case: escape sequences, reordering and
    /// invisible characters in a log line stay visible text.
    package static func inert(_ text: String) -> String {
        PrintableText.escaped(text, uppercase: true)
    }

    /// The most of one value a report shows: a value from a capture can be megabytes long.
    package static let longest = 2000

    /// ``inert(_:)``, cut at ``longest`` characters with a count of what was left out.
    package static func shown(_ text: String) -> String {
        let visible = inert(text)
        guard visible.utf8.count > longest, visible.count > longest else { return visible }
        return String(visible.prefix(longest)) + "… (\(visible.count - longest) more characters)"
    }
}
