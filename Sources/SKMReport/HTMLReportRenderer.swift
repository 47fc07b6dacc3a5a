import Crypto
import Foundation
import SKMCore
import SKMPrimitives

/// The report as one self-contained HTML page: inline CSS, inline SVG charts, a little inline script for the filter
/// box, and nothing loaded from anywhere.
///
/// A Content-Security-Policy meta tag allows exactly the page's own style and script (by hash) and nothing else, so
/// even a mistake in escaping could not load or run anything. Every string from a capture is escaped, and control
/// characters and bidirectional overrides are shown as `\u{…}`. Without JavaScript the page is complete (the filter
/// box stays hidden); printed, every section is expanded.
package struct HTMLReportRenderer: Sendable {
    package init() {}

    package func render(_ report: IncidentReport) -> [UInt8] {
        let body = HTMLBody(report: report).html
        let styleHash = Data(SHA256.hash(data: Data(Self.style.utf8))).base64EncodedString()
        let scriptHash = Data(SHA256.hash(data: Data(Self.script.utf8))).base64EncodedString()
        let policy =
            "default-src 'none'; style-src 'sha256-\(styleHash)'; script-src 'sha256-\(scriptHash)'; "
            + "img-src 'none'; base-uri 'none'; form-action 'none'"
        let failures = report.summary.failures
        // Dated by the failures, not by the first request of the log.
        let firstFailure = report.groups.map(\.firstSeen).min()
        let lastFailure = report.groups.map(\.lastSeen).max()
        var days = ""
        if let first = firstFailure, let last = lastFailure {
            days =
                Self.day(first) == Self.day(last) ? ", \(Self.day(first))" : ", \(Self.day(first)) to \(Self.day(last))"
        }
        let title = "SKM incident report: \(failures) failed request\(failures == 1 ? "" : "s")" + days
        let page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(policy)">
            <meta name="referrer" content="no-referrer">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="\(escape("\(report.tool.name) \(report.tool.version)"))">
            <title>\(escape(title))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            \(body)
            <script>\(Self.script)</script>
            </body>
            </html>

            """
        return Array(page.utf8)
    }

    static func day(_ date: Date) -> String {
        String(Timestamp.rfc3339(date).prefix(10))
    }

    // MARK: - Style and script

    /// The page's style and script, from `Resources/` (their hashes are the policy's).
    static let style = String(decoding: PackageResources.report_css, as: UTF8.self)
    static let script = String(decoding: PackageResources.report_js, as: UTF8.self)
}

/// Escapes text for HTML (element content and quoted attributes), with control characters and bidirectional
/// overrides shown as `\u{…}`.
func escape(_ text: String) -> String {
    var output = ""
    output.reserveCapacity(text.utf8.count)
    for character in TerminalText.inert(text) {
        switch character {
        case "&": output += "&amp;"
        case "<": output += "&lt;"
        case ">": output += "&gt;"
        case "\"": output += "&quot;"
        case "'": output += "&#39;"
        default: output.append(character)
        }
    }
    return output
}

/// A multi-line summary for a `<pre>`: each line escaped, the line breaks kept (the summary escapes any break inside
/// a value itself).
func escalationLines(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { escape(String($0)) }.joined(separator: "\n")
}

/// The page's body.
struct HTMLBody {
    let report: IncidentReport

    static let palette = ["#2456a6", "#b3261e", "#1f7a4d", "#9a6100", "#6b3fa0", "#00838f", "#c2185b", "#5d4037"]

    /// A color per error code, in the order of the error table.
    var colors: [Int: String] {
        var colors: [Int: String] = [:]
        for (index, entry) in report.errors.enumerated() {
            colors[entry.error.code] = Self.palette[index % Self.palette.count]
        }
        return colors
    }

    var html: String {
        let summary = report.summary
        var out = "<header class=\"top\"><h1>SKM incident report</h1><p>"
        var facts: [String] = []
        if let first = summary.firstTime, let last = summary.lastTime {
            facts.append("\(escape(Timestamp.rfc3339(first))) → \(escape(Timestamp.rfc3339(last)))")
        }
        facts.append("\(report.inputs.count) input\(report.inputs.count == 1 ? "" : "s")")
        facts.append(
            "state: \(escape(report.state.source)) snapshot taken \(escape(Timestamp.rfc3339(report.state.generatedAt)))"
        )
        facts.append("rules \(report.ruleSet.rules) · \(escape(String(report.ruleSet.digest.prefix(8))))")
        out += facts.joined(separator: " · ") + "</p></header>\n<main>\n"
        out += summarySection()
        if summary.failures > 0 {
            out += chartsSection()
            out += groupsSection()
        }
        out += keysSection()
        out += inputsSection()
        out +=
            "</main>\n<footer>Generated by \(escape(report.tool.name)) \(escape(report.tool.version)) at "
            + "\(escape(Timestamp.rfc3339(report.generatedAt))). "
            + (report.redacted ? "Appkeys and User Access Key ids are masked. " : "Credentials are shown in full. ")
            + "Everything quoted from the logs is shown as text.</footer>"
        return out
    }

    func number(_ value: Int) -> String { grouped(value) }

    func verdictChip(_ verdict: Verdict) -> String {
        "<span class=\"verdict \(verdict.rawValue)\">\(verdict.rawValue)</span>"
    }

    func summarySection() -> String {
        let summary = report.summary
        var out = "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"numbers\">"
        let share =
            summary.requests > 0
            ? String(format: "%.1f %% of requests", Double(summary.failures) * 100 / Double(summary.requests)) : ""
        out += "<div class=\"number\"><b>\(number(summary.requests))</b><span>requests analysed</span></div>"
        out +=
            "<div class=\"number\(summary.failures > 0 ? " bad" : "")\"><b>\(number(summary.failures))</b>"
            + "<span>failed · \(share)</span></div>"
        out +=
            "<div class=\"number\"><b>\(number(summary.groups))</b><span>group\(summary.groups == 1 ? "" : "s")</span></div>"
        out += "<div class=\"number\"><b>\(number(summary.confirmed))</b><span>confirmed</span></div>"
        out +=
            "<div class=\"number\(summary.mismatches > 0 ? " bad" : "")\"><b>\(number(summary.mismatches))</b>"
            + "<span>mismatch</span></div>"
        out += "<div class=\"number\"><b>\(number(summary.unexplained))</b><span>unexplained</span></div>"
        out += "</div>\n<div class=\"card\">"
        if summary.failures == 0 {
            out += "<p class=\"headline\">No failed requests in the analysed inputs.</p>"
        } else if let top = report.causes.first {
            let share = Int((Double(top.count) * 100 / Double(summary.failures)).rounded())
            out +=
                "<p class=\"headline\"><b>\(share) %</b> of the failures (\(number(top.count))) are "
                + "<b>\(escape(top.error?.message ?? "not SKM errors"))</b>: \(escape(top.title)).</p>"
            if top.groups == 1, let group = report.groups.first(where: { $0.id == top.groupIds.first }),
                let explanation = group.explanation
            {
                out += "<p>\(escape(explanation))</p>"
            }
            out += "<ol class=\"causes\">"
            for cause in report.causes.prefix(5) {
                let group = report.groups.first { $0.id == cause.groupIds.first }
                let link = group.map { " <a href=\"#group-\(escape($0.id))\">details</a>" } ?? ""
                // One group: its fix is the cause's. Several (other clients, other keys): each has its own fix.
                var fix = ""
                if let text = group?.fix {
                    fix =
                        cause.groups == 1
                        ? ". Fix: \(escape(text))"
                        : ". \(cause.groups) groups, each with its own fix; the largest: \(escape(text))"
                }
                out +=
                    "<li><b>\(number(cause.count))</b> × \(escape(cause.error?.message ?? "no SKM result")) — "
                    + "\(escape(cause.title)) <span class=\"mono\">(\(escape(cause.ruleId)) / \(escape(cause.checkId)))</span>, "
                    + "\(cause.clients) client\(cause.clients == 1 ? "" : "s"), \(cause.keys) key\(cause.keys == 1 ? "" : "s")"
                    + fix + link + "</li>"
            }
            out += "</ol>"
        }
        if summary.problems > 0 || summary.filteredOut > 0 {
            var parts: [String] = []
            if summary.problems > 0 {
                parts.append(
                    "\(number(summary.problems)) \(summary.problems == 1 ? "problem" : "problems") in the inputs")
            }
            if summary.filteredOut > 0 { parts.append("\(number(summary.filteredOut)) requests were filtered out") }
            out += "<p class=\"empty\">\(parts.joined(separator: "; ")) (see <a href=\"#inputs\">inputs</a>).</p>"
        }
        if !report.filters.isEmpty {
            out += "<p class=\"empty\">Filters: \(escape(report.filters.joined(separator: ", ")))</p>"
        }
        return out + "</div>\n</section>\n"
    }

    func groupsSection() -> String {
        var out = "<section id=\"groups\">\n<h2>Groups, biggest first</h2>\n"
        out +=
            "<div class=\"filter\" id=\"filter\" hidden><input type=\"search\" placeholder=\"Filter groups: error, "
            + "key, client, check…\" aria-label=\"Filter groups\"> <span id=\"filter-count\" class=\"empty\"></span></div>\n"
        for group in report.groups { out += self.group(group) }
        if report.summary.groups > report.groups.count {
            out +=
                "<p class=\"empty\">\(number(report.summary.groups - report.groups.count)) smaller groups are in the JSON and XML reports.</p>"
        }
        return out + "</section>\n"
    }

    func group(_ group: IncidentReport.Group) -> String {
        var out = "<article class=\"group \(group.verdict.rawValue)\" id=\"group-\(escape(group.id))\">\n<header>"
        out += "<a class=\"rank\" href=\"#group-\(escape(group.id))\">#\(group.rank)</a>"
        out +=
            "<h3>\(number(group.count)) × \(escape(group.error?.message ?? "no SKM result"))"
            + (group.error.map { " <span class=\"mono\">(\($0.code))</span>" } ?? "") + "</h3>"
        out += verdictChip(group.verdict)
        out += "<span class=\"empty\">cause: \(escape(group.causeWords))</span>"
        out += "</header>\n<div class=\"meta\">"
        if !group.keyId.isEmpty { out += "<span>key <code>\(escape(group.keyId))</code></span>" }
        if !group.appkey.isEmpty { out += "<span>appkey <code>\(escape(group.appkey))</code></span>" }
        out += "<span>client <code>\(escape(group.client))</code></span>"
        out +=
            "<span>\(escape(Timestamp.rfc3339(group.firstSeen))) → \(escape(Timestamp.rfc3339(group.lastSeen)))</span>"
        if let rule = group.ruleId {
            out +=
                "<span>rule <code>\(escape(rule))</code>"
                + (group.checkId.map { " / <code>\(escape($0))</code>" } ?? "")
                + "</span>"
        }
        out += "</div>\n"
        if let explanation = group.explanation {
            out += "<p class=\"why\"><span class=\"label\">Why</span>\(escape(explanation))</p>\n"
        }
        for hint in group.hints {
            out +=
                "<p class=\"hint\"><span class=\"label\">Likely because</span>\(escape(hint.explanation))"
                + (hint.fix.map { " <b>\(escape($0))</b>" } ?? "")
                + "<br><span class=\"empty\">An inference (\(escape(hint.title))), not a confirmed cause; it rests on "
                + hint.evidence.prefix(6).map {
                    "<code>\(escape($0.expression))</code> = \(escape(String($0.value.prefix(120))))"
                }
                .joined(separator: ", ") + ".</span></p>\n"
        }
        if let note = group.note {
            out += "<p class=\"note\"><span class=\"label\">Not confirmed</span>\(escape(note))</p>\n"
        }
        if !group.missing.isEmpty {
            out +=
                "<p><span class=\"label\">What would settle it</span>"
                + group.missing.map { "<code>\(escape($0.fact))</code>: \(escape($0.settle))" }.joined(separator: "; ")
                + "</p>\n"
        }
        if let now = group.now {
            out += "<p class=\"note\"><span class=\"label\">Now</span>\(escape(now))</p>\n"
        }
        let fix = group.fix.map { "<p class=\"fix\"><span class=\"label\">Fix</span>\(escape($0))</p>" }
        if let simulation = group.simulation {
            out +=
                "<div class=\"fixrow\">"
                + (fix
                    ?? "<p class=\"fix\"><span class=\"label\">Simulated change</span>\(escape(simulation.change))</p>")
                + simulationFigure(simulation) + "</div>\n"
        } else if let fix {
            out += fix + "\n"
        }
        for alternative in group.alternatives {
            out +=
                "<div class=\"fixrow\"><p class=\"fix\"><span class=\"label\">Or</span>\(escape(alternative.change))</p>"
                + simulationFigure(alternative) + "</div>\n"
        }
        if let event = group.event {
            out += "<p class=\"event\"><span class=\"label\">Event</span>\(self.event(event))</p>\n"
        }
        if let guide = group.guide {
            out += "<p class=\"empty\">Solution Guide: “\(escape(guide))”</p>\n"
        }
        for (index, finding) in group.examples.enumerated() {
            out +=
                "<details\(index == 0 ? " open" : "") id=\"request-\(anchor(finding.requestId))\"><summary>"
                + "\(index == 0 ? "Evidence" : "Another example"): request <code>\(escape(finding.requestId))</code> at "
                + "\(escape(Timestamp.rfc3339(finding.time)))</summary>\n" + self.finding(finding) + "</details>\n"
        }
        if group.count > group.examples.count {
            out +=
                "<details><summary>Request ids (\(number(min(group.count, group.requestIds.count))) of \(number(group.count)))</summary>"
                + "<div class=\"ids\">" + group.requestIds.map { "<span>\(escape($0))</span>" }.joined()
                + "</div></details>\n"
        }
        return out + "</article>\n"
    }

    /// What a simulated fix does for a group: a bar of the requests that would pass, stay undecided or still fail,
    /// with the sentence beside it.
    func simulationFigure(_ simulation: IncidentReport.Simulation) -> String {
        let total = Double(max(1, simulation.simulated))
        let width = 240.0
        var x = 0.0
        var svg = "<svg viewBox=\"0 0 240 14\" role=\"img\" aria-label=\"\(escape(simulation.summary))\">"
        let failing = simulation.stillFailing.reduce(0) { $0 + $1.count }
        for (count, color, label) in [
            (simulation.passed, "#1f7a4d", "would pass"), (simulation.undecided, "#9a6100", "cannot be decided"),
            (failing, "#b3261e", "would still fail"),
        ] where count > 0 {
            let part = width * Double(count) / total
            svg +=
                "<rect x=\"\(format(x))\" y=\"0\" width=\"\(format(part))\" height=\"14\" fill=\"\(color)\">"
                + "<title>\(number(count)) \(label)</title></rect>"
            x += part
        }
        svg += "</svg>"
        return "<figure class=\"sim\">\(svg)<figcaption>\(escape(simulation.summary))</figcaption></figure>"
    }

    func event(_ event: IncidentReport.Event) -> String {
        "<code>\(escape(Timestamp.rfc3339(event.time)))</code> " + escape(event.summary)
    }

    /// A stable, safe id for a request: the request id itself is untrusted text.
    func anchor(_ requestID: String) -> String {
        String(FNV1a.hash(requestID.utf8), radix: 16)
    }

    func finding(_ finding: IncidentReport.Finding) -> String {
        var out =
            "<p class=\"meta\"><span><code>\(escape(finding.method)) \(escape(finding.path))</code></span>"
            + (finding.operation.map { "<span>operation <code>\(escape($0))</code></span>" } ?? "")
            + "<span>from <code>\(escape(finding.client))</code></span><span>\(escape(finding.location))</span></p>\n"
        if let note = finding.note { out += "<p class=\"note\"><span class=\"label\">Note</span>\(escape(note))</p>\n" }
        if let simulation = finding.simulation {
            out += "<p class=\"empty\">Simulated fix for this request: \(escape(simulation)).</p>\n"
        }
        let checks = finding.checks + finding.warnings
        if !checks.isEmpty {
            out += "<table><thead><tr><th>Check</th><th>Result</th><th>Evidence</th></tr></thead><tbody>\n"
            for check in checks {
                let status = check.severity == "warning" && check.status == "failed" ? "warning" : check.status
                out +=
                    "<tr><td>\(escape(check.status == "failed" ? check.failureTitle : check.title))<br><code>\(escape(check.id))</code></td>"
                    + "<td class=\"status \(escape(check.status))\">\(escape(status))</td><td><ul class=\"evidence\">"
                for evidence in check.evidence.prefix(16) {
                    out +=
                        "<li><b>\(escape(evidence.expression))</b> = \(escape(String(evidence.value.prefix(300))))</li>"
                }
                for missing in check.missing {
                    out += "<li>needs <b>\(escape(missing.fact))</b>: \(escape(missing.settle))</li>"
                }
                if let failure = check.failure { out += "<li>\(escape(failure))</li>" }
                out += "</ul></td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        if let predicted = finding.predicted {
            out += "<p class=\"empty\">Replaying the decision procedure gives: \(escape(predicted)).</p>\n"
        }
        if !finding.missing.isEmpty {
            out +=
                "<p><span class=\"label\">Missing evidence</span>"
                + finding.missing.map { "<code>\(escape($0.fact))</code>: \(escape($0.settle))" }.joined(
                    separator: "; ")
                + "</p>\n"
        }
        if let escalation = finding.escalation {
            out +=
                "<p><span class=\"label\">Escalation summary</span>(ready to paste into a ticket)</p>"
                + "<pre>\(escalationLines(escalation))</pre>\n"
        }
        return out
    }

    // MARK: - Keys and inputs

    func keysSection() -> String {
        guard !report.keys.isEmpty else { return "" }
        var out =
            "<section id=\"keys\">\n<h2>Keys</h2>\n<div class=\"card\"><table><thead><tr><th>Key</th><th>Appkey</th>"
            + "<th class=\"num\">Failed</th><th class=\"num\">Succeeded</th></tr></thead><tbody>\n"
        for key in report.keys.prefix(50) {
            out +=
                "<tr><td><code>\(escape(key.keyId))</code></td><td><code>\(escape(key.appkey))</code></td>"
                + "<td class=\"num\">\(number(key.failures))</td><td class=\"num\">\(number(key.successes))</td></tr>\n"
        }
        return out + "</tbody></table></div>\n</section>\n"
    }

    func inputsSection() -> String {
        var out =
            "<section id=\"inputs\">\n<h2>Inputs</h2>\n<div class=\"card\"><table><thead><tr><th>File</th>"
            + "<th>Format</th><th class=\"num\">Items</th><th class=\"num\">Unreadable</th></tr></thead><tbody>\n"
        for input in report.inputs {
            out +=
                "<tr><td><code>\(escape(input.path))</code></td><td>\(escape(input.format))</td>"
                + "<td class=\"num\">\(number(input.items))</td><td class=\"num\">\(number(input.problems))</td></tr>\n"
        }
        out += "</tbody></table>\n"
        if !report.problems.isEmpty {
            out += "<p>Unreadable lines and entries (skipped; the rest was analysed):</p><ul>"
            for problem in report.problems.prefix(50) {
                out += "<li><code>\(escape(problem.location))</code>: \(escape(problem.message))</li>"
            }
            out += "</ul>"
        }
        out +=
            "<p class=\"empty\">State: \(escape(report.state.source)) snapshot"
            + (report.state.location.map { " of <code>\(escape($0))</code>" } ?? "")
            + ", \(number(report.state.events)) audit events. Rule set digest <code>\(escape(report.ruleSet.digest))</code>.</p>"
        return out + "</div>\n</section>\n"
    }
}
