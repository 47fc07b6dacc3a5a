import Crypto
import Foundation
import SKMCore
import SKMPrimitives

/// The page's two charts, as inline SVG: failures over time, and failures by group.
extension HTMLBody {
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
}
