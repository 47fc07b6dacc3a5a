import Foundation
import SKMCore
import SKMPrimitives

/// The report as JUnit XML (the Ant schema CI servers read, `Schemas/junit.xsd`), for pipelines that replay traffic
/// against SKM: each triage group is a failing test case named by its error, cause, key and client, so the same
/// problem keeps the same name from run to run; unreadable input is an errored case; with no failure, one passing
/// case says how many requests succeeded.
package struct JUnitReportRenderer: Sendable {
    package init() {}

    package func render(_ report: IncidentReport) throws(ReportError) -> [UInt8] {
        try XMLWriter.document { $0.writeJUnit(report) }
    }

    /// A test case's name: the error, the cause, the key and the client.
    static func name(_ group: IncidentReport.Group) -> String {
        var parts = [group.errorWithCode, group.causeWords]
        if !group.keyId.isEmpty { parts.append("key \(group.keyId)") }
        parts.append("client \(group.client)")
        return TerminalText.shown(parts.joined(separator: " · "))
    }
}

extension XMLWriter {
    fileprivate mutating func writeJUnit(_ report: IncidentReport) {
        let summary = report.summary
        let errors = summary.problems > 0 ? 1 : 0
        let cases = max(report.groups.count, 1) + errors
        start("testsuites")
        start(
            "testsuite",
            [
                ("name", "skm.analysis"), ("package", "skm"), ("id", "0"),
                // The schema's timestamp has no zone: UTC, as every time in the report.
                ("timestamp", String(Timestamp.rfc3339(report.generatedAt).prefix(19))), ("hostname", "localhost"),
                ("tests", String(cases)), ("failures", String(report.groups.count)), ("errors", String(errors)),
                ("skipped", "0"), ("time", "0"),
            ])
        start("properties")
        var properties: [(String, String)] = [
            ("skm.version", report.tool.version),
            ("skm.rules", "\(report.ruleSet.rules) rules, \(report.ruleSet.checks) checks, \(report.ruleSet.digest)"),
            (
                "skm.state",
                "\(report.state.source) snapshot\(report.state.location.map { " of \($0)" } ?? ""), taken "
                    + "\(Timestamp.rfc3339(report.state.generatedAt)), \(report.state.events) audit events"
            ),
            (
                "skm.requests",
                "\(summary.requests) requests: \(summary.successes) succeeded, \(summary.failures) failed "
                    + "(\(summary.confirmed) confirmed, \(summary.mismatches) mismatch, "
                    + "\(summary.unexplained) unexplained)"
            ),
        ]
        for input in report.inputs {
            properties.append(("skm.input", "\(input.path) (\(input.format), \(input.items) items)"))
        }
        for filter in report.filters { properties.append(("skm.filter", filter)) }
        for (name, value) in properties { element("property", [("name", name), ("value", TerminalText.shown(value))]) }
        end()
        let text = TextReportRenderer(color: false)
        for group in report.groups {
            start(
                "testcase",
                [
                    ("name", JUnitReportRenderer.name(group)),
                    ("classname", "skm." + (group.error?.identifier ?? "code\(group.resultCode)")), ("time", "0"),
                ])
            let message =
                "\(group.count) request\(group.count == 1 ? "" : "s"), \(group.verdict.rawValue): \(group.causeWords)"
            element(
                "failure", [("message", TerminalText.shown(message)), ("type", group.verdict.rawValue)],
                text: text.detail(group))
            end()
        }
        if report.groups.isEmpty {
            element(
                "testcase",
                [("name", "\(summary.requests) requests, none failed"), ("classname", "skm.requests"), ("time", "0")])
        }
        if errors > 0 {
            start("testcase", [("name", "readable input"), ("classname", "skm.inputs"), ("time", "0")])
            let lines = report.problems.prefix(50).map { "\(text.safe($0.location)): \(text.safe($0.message))" }
            element(
                "error",
                [
                    ("message", "\(summary.problems) input item\(summary.problems == 1 ? "" : "s") could not be read"),
                    ("type", "unreadable input"),
                ],
                text: lines.joined(separator: "\n") + (summary.problems > 50 ? "\n…" : ""))
            end()
        }
        element("system-out", text: text.render(report))
        element("system-err", text: "")
        end()
        end()
    }
}
