import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMTestSupport
import Testing

@Suite struct ReportTests {
    /// `Schemas/incident-report.xsd` is the schema the renderer validates against; `SKM_RECORD_GOLDEN=1` rewrites it.
    @Test func theSchemaFileIsTheRenderersSchema() throws {
        let file = packageRoot.appendingPathComponent("Schemas/incident-report.xsd")
        if ProcessInfo.processInfo.environment["SKM_RECORD_GOLDEN"] == "1" {
            try Data(IncidentReportSchema.xsd.utf8).write(to: file)
            Issue.record("re-recorded Schemas/incident-report.xsd")
            return
        }
        #expect(try String(contentsOf: file, encoding: .utf8) == IncidentReportSchema.xsd)
    }

    /// Characters XML cannot carry are replaced, counted, and the document stays valid; markup stays text.
    @Test func hostileTextStaysWellFormedAndSaysWhatWasReplaced() throws {
        let report = try Fixtures.report(.hostileLog, input: "requests.jsonl")
        var tampered = report
        tampered.groups[0].explanation = "bell \u{07} escape \u{1B}[31m nul \u{0} end"
        let xml = try XMLReportRenderer().render(tampered)
        #expect(XMLReportRenderer.validate(xml) == [])
        let text = String(decoding: xml, as: UTF8.self)
        #expect(text.contains(#"<sanitization replacedCharacters="3"/>"#))
        #expect(text.contains("bell \u{FFFD} escape \u{FFFD}[31m nul \u{FFFD} end"))
        #expect(!text.contains("<script>"))
        #expect(text.contains("&lt;script&gt;"))
    }

    /// What would show as nothing or as a plain space is shown as its code, in the terminal and on the page alike:
    /// a MAC header starting with a non-breaking space, a key id with a zero-width space in it.
    @Test func invisibleCharactersAreShown() {
        let text = "\u{A0}aa:bb\u{200B}cc\u{FEFF}\u{AD}\u{2009}"
        #expect(TerminalText.inert(text) == #"\u{A0}aa:bb\u{200B}cc\u{FEFF}\u{AD}\u{2009}"#)
        // Tag characters, variation selectors, the combining grapheme joiner, Hangul fillers, the blank Braille
        // pattern, prepended concatenation marks: all would make a key id look like another.
        let lookalike = "36a3\u{E0041}\u{FE0F}\u{34F}\u{3164}\u{2800}\u{600}\u{110BD}a4"
        #expect(TerminalText.inert(lookalike) == #"36a3\u{E0041}\u{FE0F}\u{34F}\u{3164}\u{2800}\u{600}\u{110BD}a4"#)
        // Accents and other scripts are text, not hidden.
        #expect(TerminalText.inert("café 한국 ñ") == "café 한국 ñ")
        // Text that reads like an escape cannot pass for one.
        #expect(TerminalText.inert(#"A\u{202E}B"#) == #"A\\u{202E}B"#)
        #expect(TerminalText.inert("A\u{202E}B") == #"A\u{202E}B"#)
        #expect(TerminalText.inert(#"C:\temp\x"#) == #"C:\temp\x"#)
        #expect(TerminalText.inert("plain text, ünïcode and 한국어") == "plain text, ünïcode and 한국어")
    }

    /// A group of calls with a key says how many data calls with it succeeded on the UTC day before the group's first
    /// failure, when the inputs hold some: that day's only, in the terminal, JSON and XML alike.
    @Test func aGroupSaysWhatItsKeyDidTheDayBefore() throws {
        let folder = Fixtures.folder(.keyScheduledForDeletion)
        let lines = try String(contentsOf: folder.appendingPathComponent("requests.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let success = try #require(
            lines.first { $0.contains(#""isSuccessful":true"#) && $0.contains(#""operation":"encrypt""#) })
        let time = try Regex(#""time":"[^"]*""#)
        let id = try Regex(#""requestId":"[^"]*""#)
        func moved(_ day: String, _ number: Int) -> String {
            success.replacing(time, with: #""time":"2026-09-\#(day)T10:00:0\#(number).000Z""#)
                .replacing(id, with: #""requestId":"earlier-\#(day)-\#(number)""#)
        }
        let earlier = (1...3).map { moved("20", $0) } + (1...2).map { moved("19", $0) }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(
            "skm-day-before-\(UUID().uuidString).jsonl")
        try (earlier + lines).joined(separator: "\n").appending("\n").write(to: log, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: log) }
        let snapshot = try Fixtures.snapshot(.keyScheduledForDeletion)
        let analyzer = Analyzer(rules: Fixtures.rules, snapshot: snapshot)
        var result = AnalysisResult()
        try analyzer.analyze(log.path, into: &result)
        analyzer.finish(&result)
        let report = IncidentReport(
            analysis: result, rules: Fixtures.rules, snapshot: snapshot,
            options: .init(toolVersion: "test", generatedAt: Date(timeIntervalSince1970: 0)))
        let keyId = try #require(success.firstMatch(of: try Regex(#""keyId":"([0-9a-f]{32})""#))?.output[1].substring)
        let withKey = report.groups.filter { $0.keyId == String(keyId) }
        #expect(!withKey.isEmpty)
        for group in withKey {
            #expect(
                group.dayBefore
                    == "In the inputs, this key had 3 successful encrypt calls on 2026-09-20 (UTC), the day before the group's first failure."
            )
        }
        #expect(report.groups.filter { $0.keyId != String(keyId) }.allSatisfy { $0.dayBefore == nil })
        let text = TextReportRenderer(color: false).render(report)
        #expect(text.contains("Day before: In the inputs, this key had 3 successful encrypt calls"))
        let xml = try XMLReportRenderer().render(report)
        #expect(XMLReportRenderer.validate(xml) == [])
        #expect(String(decoding: xml, as: UTF8.self).contains("<dayBefore>In the inputs, this key had 3"))
    }

    /// When the reports list fewer groups than the analysis found, the terminal says so and how to see the rest; it
    /// never says the reports describe every group.
    @Test func aCappedListOfGroupsSaysSo() throws {
        let snapshot = try Fixtures.snapshot(.mixedTraffic)
        var result = AnalysisResult()
        let analyzer = Analyzer(rules: Fixtures.rules, snapshot: snapshot)
        try analyzer.analyze(
            Fixtures.folder(.mixedTraffic).appendingPathComponent("requests.jsonl").path, into: &result)
        analyzer.finish(&result)
        let report = IncidentReport(
            analysis: result, rules: Fixtures.rules, snapshot: snapshot,
            options: .init(toolVersion: "test", generatedAt: Date(timeIntervalSince1970: 0), maximumGroups: 2))
        #expect(report.groups.count == 2 && report.summary.groups > 2)
        let text = TextReportRenderer(color: false, detailed: 1).render(report)
        #expect(text.contains("The reports list the 2 largest of the \(report.summary.groups) groups"), "\(text)")
        #expect(!text.contains("every group"))
    }

    @Test func aDocumentThatBreaksTheSchemaIsCaught() throws {
        let report = try Fixtures.report(.mixedTraffic, input: "requests.jsonl")
        var text = String(decoding: try XMLReportRenderer().render(report), as: UTF8.self)
        text = text.replacingOccurrences(of: #"verdict="confirmed""#, with: #"verdict="probably""#)
        let problems = XMLReportRenderer.validate(Array(text.utf8))
        #expect(problems.contains { $0.contains("probably") })
        #expect(XMLReportRenderer.validate(Array("<incidentReport>".utf8)).first == "not well-formed XML")
    }

    /// The page allows only its own style and script, loads nothing, and shows log content as text.
    @Test func theHTMLPageIsSelfContainedAndInert() throws {
        let report = try Fixtures.report(.hostileLog, input: "requests.jsonl")
        let page = String(decoding: HTMLReportRenderer().render(report), as: UTF8.self)
        #expect(
            page.contains(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; style-src &#39;sha256-"
            ))
        #expect(page.components(separatedBy: "<script").count == 2, "exactly the page's own script")
        #expect(!page.contains("<img"))
        #expect(!page.contains("http://") && !page.contains("https://"))
        #expect(!page.contains("style=\""), "inline style attributes would break the policy")
        #expect(page.contains("&lt;script&gt;document.documentElement.setAttribute("))
        #expect(page.contains("\\u{202E}gnp.exe"))
        #expect(!page.unicodeScalars.contains { $0.value == 0x202E })
        #expect(page.contains("id=\"group-"))
    }

    /// The pages' templates insert nothing unescaped but the pages' own style and script.
    @Test func theTemplatesEscapeEveryValue() throws {
        var raw: [String] = []
        for (name, bytes) in HTMLReportRenderer.templateSources {
            let text = String(decoding: bytes, as: UTF8.self)
            for match in text.matches(of: /\{\{\{\s*(\w+)\s*\}\}\}|\{\{&\s*(\w+)\s*\}\}/) {
                raw.append("\(name): \(match.output.1 ?? match.output.2 ?? "?")")
            }
            #expect(HTMLReportRenderer.templates.getTemplate(named: name) != nil, "\(name).mustache")
            #expect(
                text.split(separator: "\n").first { !$0.hasPrefix("{{!") && !$0.hasPrefix("    ") }
                    == "{{% CONTENT_TYPE: SKM-HTML}}", "\(name).mustache escapes by scalar")
        }
        #expect(raw.sorted() == ["report: script", "report: style", "triage-upload: style"])
    }

    /// A mark joined to `<` or `"` (a prepended concatenation mark before, a combining accent after) does not hide it
    /// from escaping: a browser still reads the `<`.
    @Test func markupJoinedToMarksIsEscapedAllTheSame() throws {
        var report = try Fixtures.report(.mixedTraffic, input: "requests.jsonl")
        let hostile = "\u{0600}<meta http-equiv=refresh content=1;url=http://127.0.0.1:1/x>\u{0301}\"\u{0301} x=\""
        report.groups[0].examples[0].requestId = hostile
        report.groups[0].client = hostile
        let page = String(decoding: HTMLReportRenderer().render(report), as: UTF8.self)
        #expect(
            !page.unicodeScalars.split(separator: "<").contains {
                $0.starts(with: "meta http-equiv=refresh".unicodeScalars)
            })
        #expect(page.contains("\\u{600}&lt;meta http-equiv=refresh"))
        #expect(!page.contains("\u{0301}\""))
    }
}
