import Foundation
import SKMPrimitives

/// The page's two charts, drawn as inline SVG by `charts.mustache`: failures over time, and failures by group.
extension HTMLReportPage.TimelineChart {
    init?(_ report: IncidentReport, colors: [Int: String]) {
        guard let timeline = report.timeline, !timeline.buckets.isEmpty else { return nil }
        // The plot's frame (520 × 200, 36 left, 26 below, 10 above) is the template's.
        let left = 36.0
        let top = 10.0
        let plotWidth = 520.0 - left - 8
        let plotHeight = 200.0 - top - 26
        let maximum = max(1, timeline.buckets.map { $0.values.reduce(0, +) }.max() ?? 1)
        let barWidth = plotWidth / Double(timeline.buckets.count)
        var bars: [HTMLReportPage.Bar] = []
        for (index, bucket) in timeline.buckets.enumerated() {
            var y = top + plotHeight
            let x = left + Double(index) * barWidth
            let start = timeline.start.addingTimeInterval(Double(index * timeline.bucketSeconds))
            for entry in report.errors {
                guard let count = bucket[entry.error.code], count > 0 else { continue }
                let barHeight = plotHeight * Double(count) / Double(maximum)
                y -= barHeight
                bars.append(
                    HTMLReportPage.Bar(
                        x: HTMLReportPage.format(x + 0.5), y: HTMLReportPage.format(y),
                        width: HTMLReportPage.format(max(1, barWidth - 1)), height: HTMLReportPage.format(barHeight),
                        color: colors[entry.error.code] ?? "#888",
                        label: "\(Timestamp.rfc3339(start)): \(count) × \(shown(entry.error.message))"))
            }
        }
        let end = timeline.start.addingTimeInterval(Double(timeline.buckets.count * timeline.bucketSeconds))
        bucket = Self.describe(seconds: timeline.bucketSeconds)
        self.maximum = maximum
        self.bars = bars
        start = Self.shortTime(timeline.start)
        self.end = Self.shortTime(end)
        legend = report.errors.map {
            HTMLReportPage.Legend(
                color: colors[$0.error.code] ?? "#888", label: "\(shown($0.error.message)) (\(grouped($0.count)))")
        }
    }

    static func shortTime(_ date: Date) -> String {
        String(Timestamp.rfc3339(date).prefix(16)).replacingOccurrences(of: "T", with: " ") + "Z"
    }

    static func describe(seconds: Int) -> String {
        if seconds % 86_400 == 0 { return seconds == 86_400 ? "day" : "\(seconds / 86_400) days" }
        if seconds % 3600 == 0 { return seconds == 3600 ? "hour" : "\(seconds / 3600) hours" }
        return seconds == 60 ? "minute" : "\(seconds / 60) minutes"
    }
}

extension HTMLReportPage.GroupChart {
    init?(_ report: IncidentReport, colors: [Int: String]) {
        let groups = Array(report.groups.prefix(10))
        guard let maximum = groups.map(\.count).max(), maximum > 0 else { return nil }
        let rowHeight = 22.0
        // Labels take the first 250 of the 520 units; the bar's count follows it.
        let labelWidth = 250.0
        height = Int(Double(groups.count) * rowHeight + 14)
        rows = groups.enumerated().map { index, group in
            let y = 6 + Double(index) * rowHeight
            let barWidth = max(2, (520 - labelWidth - 60) * Double(group.count) / Double(maximum))
            let label = "#\(group.rank) \(group.errorLabel) · \(group.causeWords)"
            let short = label.count > 40 ? String(label.prefix(39)) + "…" : label
            return HTMLReportPage.Row(
                groupId: shown(group.id), textY: HTMLReportPage.format(y + 14), barY: HTMLReportPage.format(y + 3),
                width: HTMLReportPage.format(barWidth), countX: HTMLReportPage.format(labelWidth + barWidth + 6),
                short: shown(short), label: shown(label), color: colors[group.resultCode] ?? "#888",
                count: grouped(group.count))
        }
    }
}

extension HTMLReportPage {
    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
