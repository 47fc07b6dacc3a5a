import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMTestSupport
import Testing

/// What the ticket and CI outputs need beyond their golden copies.
enum TicketFormats {
    static func junitSchema() throws -> String {
        try String(contentsOf: packageRoot.appendingPathComponent("Schemas/junit.xsd"), encoding: .utf8)
    }

    /// Markdown rendered by markdown-it (CommonMark with GitHub's tables and strikethrough, raw HTML allowed as
    /// GitHub and GitLab allow it): the kinds of element it made, one per line, `kind attribute=value`.
    static func renderedElements(of markdown: [UInt8]) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("skm-\(UUID().uuidString).md")
        try Data(markdown).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            import sys
            from markdown_it import MarkdownIt
            md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")
            def walk(tokens):
                for token in tokens:
                    attributes = " ".join(f"{k}={v}" for k, v in (token.attrs or {}).items())
                    print(f"{token.type} {attributes}".strip())
                    if token.children:
                        walk(token.children)
            walk(md.parse(open(sys.argv[1], encoding="utf-8").read()))
            """
        let (status, text) = try python(script, [file.path])
        guard status == 0 else { throw TicketFormatError(message: text) }
        return text.split(separator: "\n").map(String.init)
    }

    struct TicketFormatError: Error {
        var message: String
    }
}

@Suite("Ticket and CI outputs")
struct TicketOutputTests {
    /// A hostile log's Markdown renders as text: no raw HTML, no link, no image, no element the summary does not
    /// write itself, whatever the log holds (markup, script, javascript: URLs, Markdown links and images, pipes,
    /// backticks, bidirectional overrides).
    @Test func aHostileLogsMarkdownRendersAsItsOwnText() throws {
        let report = try Fixtures.report(.hostileLog, input: "requests.jsonl")
        let markdown = MarkdownReportRenderer(detailed: 50).render(report)
        let elements = try TicketFormats.renderedElements(of: markdown)
        let kinds = Set(elements.map { String($0.split(separator: " ").first ?? "") })
        let written: Set<String> = [
            "heading_open", "heading_close", "paragraph_open", "paragraph_close", "inline", "text", "softbreak",
            "strong_open", "strong_close", "em_open", "em_close", "code_inline", "bullet_list_open",
            "bullet_list_close", "list_item_open", "list_item_close", "table_open", "table_close", "thead_open",
            "thead_close", "tbody_open", "tbody_close", "tr_open", "tr_close", "th_open", "th_close", "td_open",
            "td_close",
        ]
        #expect(kinds.subtracting(written).isEmpty, "unexpected elements: \(kinds.subtracting(written).sorted())")
        // Every table row has the header's five cells: no pipe from the log split a cell.
        var cells = 0
        var rows: [Int] = []
        for element in elements {
            if element.hasPrefix("tr_open") { cells = 0 }
            if element.hasPrefix("td_open") || element.hasPrefix("th_open") { cells += 1 }
            if element.hasPrefix("tr_close") { rows.append(cells) }
        }
        #expect(!rows.isEmpty && rows.allSatisfy { $0 == 5 }, "cells per row: \(rows)")
        // The log's markup is there as text.
        let text = String(decoding: markdown, as: UTF8.self)
        #expect(text.contains("\\<script"))
    }

    /// What GitHub links by itself (a URL, `www.`, an address) is broken by a word joiner, which no escape would do.
    @Test func textThatGitHubWouldLinkIsBroken() {
        let escaped = MarkdownReportRenderer.escaped(
            "see https://evil.example/reset, WWW.evil.example and ops@evil.example")
        #expect(!escaped.contains("://") && !escaped.lowercased().contains("www.") && !escaped.contains("@e"))
        #expect(
            escaped.replacingOccurrences(of: "\u{2060}", with: "")
                == "see https://evil.example/reset, WWW.evil.example and ops@evil.example")
    }

    /// The summary is short enough to paste: the headline, the table and five groups, whatever the log's size.
    @Test func theMarkdownSummaryIsShort() throws {
        let report = try Fixtures.report(.releaseBreaksThreeWays, input: "requests.jsonl")
        let text = String(decoding: MarkdownReportRenderer().render(report), as: UTF8.self)
        #expect(text.hasPrefix("## SKM: \(report.summary.failures) of \(report.summary.requests) requests failed"))
        #expect(text.split(separator: "\n").count < 120)
        for group in report.groups.prefix(5) {
            #expect(text.contains("### #\(group.rank) · "))
            if let fix = group.fix { #expect(text.contains(MarkdownReportRenderer.escaped(fix))) }
        }
    }

    /// Each SARIF result points at its first request: the file's line holds that request's id; a HAR entry is named
    /// by its number. Every result's rule is one of the tool's rules, at the index given.
    @Test(arguments: [(IncidentScenario.mixedTraffic, "requests.jsonl"), (.clientBehindNAT, "capture.har")])
    func sarifResultsPointAtTheRequests(_ scenario: IncidentScenario, _ input: String) throws {
        let report = try Fixtures.report(scenario, input: input)
        let sarif = try JSONParser().parse(SARIFReportRenderer(rules: Fixtures.rules).render(report))
        let run = try #require(sarif["runs"]?.arrayValue?.first)
        let rules = try #require(run["tool"]?["driver"]?["rules"]?.arrayValue)
        let results = try #require(run["results"]?.arrayValue)
        #expect(results.count == report.groups.count)
        let lines = try String(contentsOf: Fixtures.folder(scenario).appendingPathComponent(input), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        for (result, group) in zip(results, report.groups) {
            let index = try #require(result["ruleIndex"]?.intValue)
            #expect(rules[index]["id"] == result["ruleId"])
            let expectedRule = group.ruleId.map { rule in group.checkId.map { "\(rule)/\($0)" } ?? rule }
            #expect(result["ruleId"]?.stringValue == expectedRule ?? "unexplained")
            let location = try #require(result["locations"]?.arrayValue?.first)
            let example = try #require(group.examples.first)
            if input.hasSuffix(".jsonl") {
                let line = try #require(location["physicalLocation"]?["region"]?["startLine"]?.intValue)
                #expect(lines[line - 1].contains("\"\(example.requestId)\""))
            } else {
                #expect(location["properties"]?["entry"]?.intValue == example.source.number)
            }
            #expect(result["partialFingerprints"]?["skmGroup/v1"]?.stringValue == group.id)
        }
    }

    /// JUnit: one failing case per group, named the same from run to run, and the suite's counts agree.
    @Test func junitHasAFailingCasePerGroup() throws {
        let report = try Fixtures.report(.releaseBreaksThreeWays, input: "requests.jsonl")
        let junit = String(decoding: try JUnitReportRenderer().render(report), as: UTF8.self)
        #expect(junit.components(separatedBy: "<failure ").count - 1 == report.groups.count)
        #expect(junit.contains("tests=\"\(report.groups.count)\" failures=\"\(report.groups.count)\" errors=\"0\""))
        let again = String(decoding: try JUnitReportRenderer().render(report), as: UTF8.self)
        #expect(junit == again)
        #expect(XMLReportRenderer.validate(Array(junit.utf8), schema: try TicketFormats.junitSchema()) == [])
    }

    /// A log with no failure is one passing case, and unreadable lines one errored case.
    @Test func junitWithoutFailuresAndWithProblems() throws {
        var report = try Fixtures.report(.mixedTraffic, input: "requests.jsonl")
        report.groups = []
        report.summary.failures = 0
        report.problems = [.init(location: "requests.jsonl:3", message: "not JSON")]
        report.summary.problems = 1
        let junit = try JUnitReportRenderer().render(report)
        #expect(XMLReportRenderer.validate(junit, schema: try TicketFormats.junitSchema()) == [])
        let text = String(decoding: junit, as: UTF8.self)
        #expect(text.contains("tests=\"2\" failures=\"0\" errors=\"1\""))
        #expect(text.contains("requests.jsonl:3: not JSON"))
    }
}
