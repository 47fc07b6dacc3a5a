import Crypto
import Foundation
import SKMCore

/// The report as one self-contained HTML page: inline CSS, inline SVG charts, a little inline script for the filter
/// box, and nothing loaded from anywhere.
///
/// A Content-Security-Policy meta tag allows exactly the page's own style and script (by hash) and nothing else, so
/// even a mistake in escaping could not load or run anything. Every string from a capture is escaped, and control
/// characters and bidirectional overrides are shown as `\u{…}`. Without JavaScript the page is complete (the filter
/// box stays hidden); printed, every section is expanded.
public struct HTMLReportRenderer: Sendable {
    public init() {}

    public func render(_ report: IncidentReport) -> [UInt8] {
        let body = Body(report: report).html
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

    static let style = """
        :root{--ink:#1d2330;--muted:#5d6677;--line:#dde2ea;--paper:#fff;--wash:#f5f7fa;--accent:#2456a6;\
        --ok:#1f7a4d;--bad:#b3261e;--warn:#9a6100;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink);\
        background:var(--wash)}
        header.top{background:var(--ink);color:#fff;padding:18px 28px}
        header.top h1{margin:0;font-size:20px;font-weight:600;letter-spacing:.2px}
        header.top p{margin:4px 0 0;color:#c5ccd8;font-size:13px}
        main{max-width:1120px;margin:0 auto;padding:20px 24px 48px}
        section{margin:0 0 28px}
        h2{font-size:17px;margin:0 0 12px;font-weight:600}
        h3{font-size:16px;margin:0;font-weight:600}
        a{color:var(--accent)}
        .card{background:var(--paper);border:1px solid var(--line);border-radius:8px;padding:18px 20px}
        .numbers{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:0 0 16px}
        .number{background:var(--paper);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
        .number b{display:block;font-size:26px;line-height:1.2}
        .number span{color:var(--muted);font-size:13px}
        .number.bad b{color:var(--bad)}
        .headline{font-size:17px;margin:0 0 10px}
        .causes{margin:0;padding-left:20px}
        .causes li{margin:4px 0}
        .verdict{display:inline-block;border-radius:10px;padding:0 9px;font-size:12px;font-weight:600;\
        vertical-align:middle;border:1px solid currentColor}
        .verdict.confirmed{color:var(--ok)}
        .verdict.mismatch{color:var(--bad)}
        .verdict.unexplained{color:var(--warn)}
        .charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}
        .charts svg.chart{width:100%;height:auto;display:block}
        .legend{display:flex;flex-wrap:wrap;gap:6px 14px;margin:8px 0 0;padding:0;list-style:none;font-size:12px;\
        color:var(--muted)}
        .legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
        .filter{margin:0 0 12px}
        .filter input{width:100%;max-width:420px;padding:7px 10px;border:1px solid var(--line);border-radius:6px;\
        font:inherit}
        article.group{background:var(--paper);border:1px solid var(--line);border-left:4px solid var(--line);\
        border-radius:8px;padding:16px 20px;margin:0 0 14px}
        article.group.confirmed{border-left-color:var(--ok)}
        article.group.mismatch{border-left-color:var(--bad)}
        article.group.unexplained{border-left-color:var(--warn)}
        .group header{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:baseline}
        .group .rank{color:var(--muted);text-decoration:none;font-weight:600}
        .meta{display:flex;flex-wrap:wrap;gap:4px 18px;margin:6px 0 10px;color:var(--muted);font-size:13px}
        .meta code{color:var(--ink)}
        code,.mono{font-family:var(--mono);font-size:13px}
        .why,.fix,.event,.note{margin:8px 0}
        .label{font-weight:600;margin-right:4px}
        .fix{background:#eef6f0;border-radius:6px;padding:8px 12px}
        .hint{background:#fff7e6;border-radius:6px;padding:8px 12px}
        .fixrow{display:grid;grid-template-columns:minmax(0,1fr) 250px;gap:12px;align-items:start;margin:8px 0}
        .fixrow .fix{margin:0}
        figure.sim{margin:0;font-size:12px;color:var(--muted)}
        figure.sim svg{display:block;width:100%;height:auto;margin:0 0 4px}
        @media (max-width:760px){.fixrow{grid-template-columns:1fr}}
        .event{background:var(--wash);border-radius:6px;padding:8px 12px;font-size:14px}
        details{margin:10px 0 0}
        summary{cursor:pointer;color:var(--accent);font-size:14px}
        table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 0}
        th,td{text-align:left;padding:6px 8px;border-top:1px solid var(--line);vertical-align:top}
        th{color:var(--muted);font-weight:600;border-top:0}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        .status{font-weight:600;white-space:nowrap}
        .status.passed{color:var(--ok)}
        .status.failed,.status.error{color:var(--bad)}
        .status.unknown{color:var(--warn)}
        .status.skipped,.status.not-reached{color:var(--muted)}
        .evidence{margin:0;padding:0;list-style:none}
        .evidence li{font-family:var(--mono);font-size:12px;overflow-wrap:anywhere}
        .evidence b{font-weight:400;color:var(--muted)}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--wash);border-radius:6px;padding:10px 12px;\
        font:12px/1.5 var(--mono);margin:8px 0 0}
        .ids{display:flex;flex-wrap:wrap;gap:4px 12px;font-family:var(--mono);font-size:12px}
        .empty{color:var(--muted)}
        footer{color:var(--muted);font-size:12px;max-width:1120px;margin:0 auto;padding:0 24px 32px}
        @media (max-width:760px){.charts{grid-template-columns:1fr}}
        @media print{body{background:#fff}header.top{background:#fff;color:#000;border-bottom:2px solid #000}\
        header.top p{color:#333}.filter{display:none}article.group{break-inside:avoid}a{color:inherit}}
        """

    static let script = """
        (function(){var box=document.getElementById('filter');if(!box)return;box.hidden=false;\
        var input=box.querySelector('input');var groups=document.querySelectorAll('article.group');\
        var count=document.getElementById('filter-count');\
        input.addEventListener('input',function(){var q=input.value.trim().toLowerCase();var shown=0;\
        groups.forEach(function(g){var hit=!q||g.textContent.toLowerCase().indexOf(q)>=0;g.hidden=!hit;if(hit)shown++;});\
        count.textContent=q?shown+' of '+groups.length+' groups':'';});\
        window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true;});});})();
        """
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
private struct Body {
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

    func verdictChip(_ verdict: String) -> String {
        "<span class=\"verdict \(escape(verdict))\">\(escape(verdict))</span>"
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
        out += "<div class=\"number\"><b>\(number(summary.groups))</b><span>groups</span></div>"
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

    // MARK: - Charts

    func chartsSection() -> String {
        "<section id=\"charts\">\n<h2>Failures over time and by group</h2>\n<div class=\"charts\">"
            + "<div class=\"card\">\(timelineChart())</div><div class=\"card\">\(groupsChart())</div>"
            + "</div>\n</section>\n"
    }

    func timelineChart() -> String {
        guard let timeline = report.timeline, !timeline.buckets.isEmpty else { return "" }
        let width = 520.0
        let height = 200.0
        let left = 36.0
        let bottom = 26.0
        let top = 10.0
        let plotWidth = width - left - 8
        let plotHeight = height - top - bottom
        let totals = timeline.buckets.map { $0.values.reduce(0, +) }
        let maximum = max(1, totals.max() ?? 1)
        let barWidth = plotWidth / Double(timeline.buckets.count)
        let colors = self.colors
        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"timeline-title\">"
        svg +=
            "<title id=\"timeline-title\">Failed requests per \(describe(seconds: timeline.bucketSeconds)), by error</title>"
        svg +=
            "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - 8)\" y2=\"\(top + plotHeight)\" stroke=\"#dde2ea\"/>"
        svg +=
            "<text x=\"\(left - 6)\" y=\"\(top + 10)\" font-size=\"11\" text-anchor=\"end\" fill=\"#5d6677\">\(maximum)</text>"
        svg +=
            "<text x=\"\(left - 6)\" y=\"\(top + plotHeight)\" font-size=\"11\" text-anchor=\"end\" fill=\"#5d6677\">0</text>"
        for (index, bucket) in timeline.buckets.enumerated() {
            var y = top + plotHeight
            let x = left + Double(index) * barWidth
            let start = timeline.start.addingTimeInterval(Double(index * timeline.bucketSeconds))
            for entry in report.errors {
                guard let count = bucket[entry.error.code], count > 0 else { continue }
                let barHeight = plotHeight * Double(count) / Double(maximum)
                y -= barHeight
                svg +=
                    "<rect x=\"\(format(x + 0.5))\" y=\"\(format(y))\" width=\"\(format(max(1, barWidth - 1)))\" "
                    + "height=\"\(format(barHeight))\" fill=\"\(colors[entry.error.code] ?? "#888")\">"
                    + "<title>\(escape(Timestamp.rfc3339(start))): \(count) × \(escape(entry.error.message))</title></rect>"
            }
        }
        let end = timeline.start.addingTimeInterval(Double(timeline.buckets.count * timeline.bucketSeconds))
        svg +=
            "<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"11\" fill=\"#5d6677\">\(escape(shortTime(timeline.start)))</text>"
        svg +=
            "<text x=\"\(width - 8)\" y=\"\(height - 8)\" font-size=\"11\" text-anchor=\"end\" fill=\"#5d6677\">\(escape(shortTime(end)))</text>"
        svg += "</svg><ul class=\"legend\">"
        for entry in report.errors {
            svg +=
                "<li>\(legendSwatch(colors[entry.error.code] ?? "#888"))\(escape(entry.error.message)) (\(number(entry.count)))</li>"
        }
        return svg + "</ul>"
    }

    /// A legend swatch as inline SVG (no style attributes: the page's policy allows only its own style sheet).
    func legendSwatch(_ color: String) -> String {
        "<svg width=\"10\" height=\"10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" rx=\"2\" fill=\"\(color)\"/></svg> "
    }

    func groupsChart() -> String {
        let groups = Array(report.groups.prefix(10))
        guard let maximum = groups.map(\.count).max(), maximum > 0 else { return "" }
        let rowHeight = 22.0
        let width = 520.0
        let labelWidth = 250.0
        let height = Double(groups.count) * rowHeight + 14
        let colors = self.colors
        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"groups-title\">"
        svg += "<title id=\"groups-title\">The biggest groups of failed requests</title>"
        for (index, group) in groups.enumerated() {
            let y = 6 + Double(index) * rowHeight
            let barWidth = (width - labelWidth - 60) * Double(group.count) / Double(maximum)
            let label =
                "#\(group.rank) \(group.error?.message ?? "code \(group.resultCode)") · \(group.causeWords)"
            let short = label.count > 40 ? String(label.prefix(39)) + "…" : label
            svg +=
                "<a href=\"#group-\(escape(group.id))\"><text x=\"0\" y=\"\(format(y + 14))\" font-size=\"11.5\" fill=\"#1d2330\">"
                + "\(escape(short))<title>\(escape(label))</title></text></a>"
            svg +=
                "<rect x=\"\(labelWidth)\" y=\"\(format(y + 3))\" width=\"\(format(max(2, barWidth)))\" height=\"14\" rx=\"2\" "
                + "fill=\"\(colors[group.resultCode] ?? "#888")\"/>"
            svg +=
                "<text x=\"\(format(labelWidth + max(2, barWidth) + 6))\" y=\"\(format(y + 14))\" font-size=\"11.5\" fill=\"#5d6677\">\(number(group.count))</text>"
        }
        return svg + "</svg><ul class=\"legend\"><li>Bars are coloured by error, as in the chart beside.</li></ul>"
    }

    func format(_ value: Double) -> String { String(format: "%.1f", value) }

    func shortTime(_ date: Date) -> String {
        let text = Timestamp.rfc3339(date)
        return String(text.prefix(16)).replacingOccurrences(of: "T", with: " ") + "Z"
    }

    func describe(seconds: Int) -> String {
        if seconds % 86_400 == 0 { return seconds == 86_400 ? "day" : "\(seconds / 86_400) days" }
        if seconds % 3600 == 0 { return seconds == 3600 ? "hour" : "\(seconds / 3600) hours" }
        return seconds == 60 ? "minute" : "\(seconds / 60) minutes"
    }

    // MARK: - Groups

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
        var out = "<article class=\"group \(escape(group.verdict))\" id=\"group-\(escape(group.id))\">\n<header>"
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
        (event.time.map { "<code>\(escape(Timestamp.rfc3339($0)))</code> " } ?? "") + escape(event.summary)
    }

    /// A stable, safe id for a request: the request id itself is untrusted text.
    func anchor(_ requestID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in requestID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return String(hash, radix: 16)
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
