import Foundation
import SKMAnalysis
import SKMRules
import Testing

/// Writes rule files into a fresh directory and loads them against the SKM schema.
struct RuleDirectory {
    let url: URL

    init(_ files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("skm-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: url.appendingPathComponent("fixtures"), withIntermediateDirectories: true)
        for (name, text) in files {
            try Data(text.utf8).write(to: url.appendingPathComponent(name))
        }
    }

    func load() -> Result<RuleSet, Diagnostics> {
        SKMFacts.loadRules([url])
    }

    /// The diagnostics, with the directory path shortened to `Rules/`.
    func diagnostics() -> [String] {
        guard case .failure(let found) = load() else { return [] }
        return found.items.map { $0.description.replacingOccurrences(of: url.path + "/", with: "Rules/") }
    }
}

let goodRule = """
    id: SKM-TEST
    title: MAC Auth Failure
    error: {message: MAC Auth Failure, code: -1301}
    order: 610
    applies_to: [encrypt]
    checks:
      - id: header-present
        assert: has(request.client.macHeader)
        explain: "no header"
        fix: "send it"
        title: The request has the header
        failure: The request has no header
    """

@Suite struct RuleLoaderTests {
    @Test func aGoodRuleLoads() throws {
        let directory = try RuleDirectory(["a.yaml": goodRule])
        let rules = try directory.load().get()
        #expect(rules.rules.map(\.id) == ["SKM-TEST"])
    }

    @Test(
        arguments: [
            ("SKM-TEST", "header-present", nil),
            ("SKM-TEST-2", "a-1", nil),
            ("skm-test", "header-present", "rule id 'skm-test' must be upper case letters, digits and '-'"),
            ("1SKM", "header-present", "rule id '1SKM' must be upper case letters, digits and '-'"),
            ("SKM_TEST", "header-present", "rule id 'SKM_TEST' must be upper case letters, digits and '-'"),
            ("SKM-TÉST", "header-present", "rule id 'SKM-TÉST' must be upper case letters, digits and '-'"),
            ("SKM-TEST", "Header-present", "check id 'Header-present' must be lower case letters, digits and '-'"),
            ("SKM-TEST", "-header", "check id '-header' must be lower case letters, digits and '-'"),
            ("SKM-TEST", "header present", "check id 'header present' must be lower case letters, digits and '-'"),
        ] as [(String, String, String?)])
    func idsAreLettersDigitsAndDashes(rule: String, check: String, problem: String?) throws {
        let text = goodRule.replacingOccurrences(of: "id: SKM-TEST", with: "id: '\(rule)'")
            .replacingOccurrences(of: "- id: header-present", with: "- id: '\(check)'")
        let diagnostics = try RuleDirectory(["a.yaml": text]).diagnostics()
        if let problem {
            #expect(diagnostics.contains { $0.contains(problem) }, "\(diagnostics)")
        } else {
            #expect(diagnostics.isEmpty, "\(diagnostics)")
        }
    }

    @Test(arguments: [
        (
            goodRule.replacingOccurrences(of: "  - id: header-present", with: "  - id: header-present\n    asert: x"),
            """
            Rules/a.yaml:8:5: error: unknown key 'asert' in a check; did you mean 'assert'?
                asert: x
                ^
            """
        ),
        (
            goodRule.replacingOccurrences(of: "has(request.client.macHeader)", with: "has(request.client.macHeadr)"),
            """
            Rules/a.yaml:8:32: error: undefined field 'macHeadr' of Client; did you mean 'macHeader'?
                assert: has(request.client.macHeadr)
                                           ^
            """
        ),
        (
            goodRule.replacingOccurrences(
                of: "has(request.client.macHeader)", with: "size(request.client.macHeader) + 'x' == 1"),
            """
            Rules/a.yaml:8:13: error: found no matching overload for '+' applied to '(int, string)'
                assert: size(request.client.macHeader) + 'x' == 1
                        ^
            """
        ),
        (
            goodRule.replacingOccurrences(of: "has(request.client.macHeader)", with: "request.client.macHeader"),
            """
            Rules/a.yaml:8:13: error: expected a bool, but the expression is a string
                assert: request.client.macHeader
                        ^
            """
        ),
        (
            goodRule.replacingOccurrences(of: "has(request.client.macHeader)", with: "isMac(request.client.macHeader)"),
            """
            Rules/a.yaml:8:13: error: undeclared reference to function 'isMac'; did you mean 'isMAC'?
                assert: isMac(request.client.macHeader)
                        ^
            """
        ),
        (
            goodRule.replacingOccurrences(
                of: "explain: \"no header\"", with: "explain: \"no header from {{request.client.ip\""),
            """
            Rules/a.yaml:9:30: error: unclosed '{{' in template
                explain: "no header from {{request.client.ip"
                                         ^
            """
        ),
        (
            goodRule.replacingOccurrences(of: "code: -1301", with: "code: -1399"),
            """
            Rules/a.yaml:3:42: error: unknown error code -1399; 'MAC Auth Failure' is -1301
            error: {message: MAC Auth Failure, code: -1399}
                                                     ^
            """
        ),
        (
            goodRule.replacingOccurrences(of: "message: MAC Auth Failure", with: "message: MAC Authentication Failure"),
            """
            Rules/a.yaml:3:18: error: error code -1301 is 'MAC Auth Failure', not 'MAC Authentication Failure'
            error: {message: MAC Authentication Failure, code: -1301}
                             ^
            """
        ),
        (
            goodRule.replacingOccurrences(of: "order: 610\n", with: ""),
            """
            Rules/a.yaml:1:1: error: the rule is missing 'order'
            id: SKM-TEST
            ^
            """
        ),
        (
            goodRule.replacingOccurrences(of: "[encrypt]", with: "[encrpyt]"),
            """
            Rules/a.yaml:5:14: error: unknown operation or category 'encrpyt' in applies_to; did you mean 'encrypt'?
            applies_to: [encrpyt]
                         ^
            """
        ),
        (
            goodRule + "\n  - id: x\n    assert: [true\n",
            """
            Rules/a.yaml:14:13: error: YAML syntax: did not find expected ',' or ']' (while parsing a flow sequence that began here)
                assert: [true
                        ^
            """
        ),
    ])
    func diagnosticsNameFileLineColumnWithACaret(_ text: String, _ expected: String) throws {
        let diagnostics = try RuleDirectory(["a.yaml": text]).diagnostics()
        #expect(diagnostics.first?.hasPrefix(expected) == true, "got:\n\(diagnostics.joined(separator: "\n"))")
        // Written on Windows (CR LF) or with CR alone, the file gets the same diagnostics: the same place, the line
        // shown without its line ending, the caret under the column.
        for ending in ["\r\n", "\r"] {
            let other = try RuleDirectory(["a.yaml": text.replacingOccurrences(of: "\n", with: ending)]).diagnostics()
            #expect(other == diagnostics, "\(ending.debugDescription):\n\(other.joined(separator: "\n"))")
        }
    }

    /// Saved as a Windows editor's "Unicode" (UTF-16 after its byte order mark), a rule file loads as its UTF-8
    /// copy does, and its problems are found at the same places.
    @Test func aRuleFileInUTF16Loads() throws {
        func utf16(_ text: String) -> Data {
            Data([0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        }
        let directory = try RuleDirectory([:])
        try utf16(goodRule.replacingOccurrences(of: "\n", with: "\r\n"))
            .write(to: directory.url.appendingPathComponent("a.yaml"))
        let loaded = try directory.load().get()
        #expect(loaded.rules.map(\.id) == ["SKM-TEST"])
        // The same rules, so the same digest: reports made from either merge.
        #expect(loaded.digest == (try RuleDirectory(["a.yaml": goodRule]).load().get().digest))
        #expect(loaded.digest != (try RuleDirectory(["a.yaml": goodRule + "\n# another"]).load().get().digest))
        let broken = goodRule.replacingOccurrences(of: "has(request.client.macHeader)", with: "nosuch.field")
        try utf16(broken).write(to: directory.url.appendingPathComponent("a.yaml"))
        #expect(directory.diagnostics() == (try RuleDirectory(["a.yaml": broken]).diagnostics()))
        #expect(directory.diagnostics().first?.hasPrefix("Rules/a.yaml:8:13: error: undeclared reference") == true)
    }

    /// A line separator (U+2028) in a value ends a line as the YAML reader counts lines: the line a later problem
    /// is reported at is the line shown under it.
    @Test func aLineSeparatorKeepsTheShownLineWithItsNumber() throws {
        let text = goodRule.replacingOccurrences(of: "title: MAC Auth Failure", with: "title: MAC\u{2028} Auth Failure")
            .replacingOccurrences(of: "has(request.client.macHeader)", with: "nosuch.field")
        let diagnostics = try RuleDirectory(["a.yaml": text]).diagnostics()
        let first = try #require(diagnostics.first)
        #expect(first.contains("error: undeclared reference to 'nosuch'"), "\(first)")
        #expect(first.hasSuffix("\n    assert: nosuch.field\n            ^"), "\(first)")
    }

    @Test func problemsInEveryFileAreReportedAndTheSetIsRefused() throws {
        let second = goodRule.replacingOccurrences(of: "has(request.client.macHeader)", with: "nosuch.field")
        let directory = try RuleDirectory(["a.yaml": goodRule, "b.yaml": second, "c.yaml": goodRule])
        let diagnostics = directory.diagnostics()
        #expect(diagnostics.contains { $0.hasPrefix("Rules/b.yaml:8:13: error: undeclared reference to 'nosuch'") })
        #expect(diagnostics.contains { $0.hasPrefix("Rules/c.yaml:1:5: error: duplicate rule id 'SKM-TEST'") })
        guard case .failure = directory.load() else {
            Issue.record("a broken set loaded")
            return
        }
    }

    @Test func testsNameChecksThatExistAndFixturesThatExist() throws {
        let withTests =
            goodRule + """

                tests:
                  - name: missing fixture
                    base: nothere
                    expect: {fails: header-present}
                  - name: wrong check
                    facts: {request: {operation: encrypt}}
                    expect: {fails: header-presnt}
                  - name: wrong fact
                    facts: {request: {operaton: encrypt}}
                    expect: {fails: header-present}
                """
        let diagnostics = try RuleDirectory(["a.yaml": withTests]).diagnostics()
        #expect(
            diagnostics.contains {
                $0.hasSuffix("\n    facts: {request: {operaton: encrypt}}\n                      ^")
            }, "got:\n\(diagnostics.joined(separator: "\n"))")
        // Written on Windows, the file gets the same diagnostics, each with its line and caret.
        let windows = try RuleDirectory(["a.yaml": withTests.replacingOccurrences(of: "\n", with: "\r\n")])
            .diagnostics()
        #expect(windows == diagnostics, "got:\n\(windows.joined(separator: "\n"))")
        #expect(diagnostics.contains { $0.contains("no fixture 'nothere' (looked for fixtures/nothere.yaml)") })
        #expect(
            diagnostics.contains {
                $0.contains("no check 'header-presnt' in this rule; did you mean 'header-present'?")
            })
    }

    @Test func embeddedTestsReportWhatTheChecksSaid() throws {
        let withTests =
            goodRule + """

                tests:
                  - name: header present but expected to fail
                    facts: {request: {operation: encrypt, client: {macHeader: "aa:bb:cc:dd:ee:ff"}}}
                    expect: {fails: header-present}
                """
        let report = try RuleDirectory(["a.yaml": withTests]).load().get().runTests()
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.message == "expected header-present to fail first; header-present=passed")
    }

    /// The checks of one rule evaluation record their evidence into one list: each outcome shows its own assertion's
    /// values and none of another's, whether it recorded some, none, or was skipped.
    @Test func eachCheckShowsItsOwnEvidence() throws {
        // The good rule's heading, with checks that record some evidence, none, or are skipped; the last two read the
        // same header, each with a fact of its own beside it.
        let rule =
            goodRule.components(separatedBy: "checks:")[0] + """
                checks:
                  - {id: header-present, assert: has(request.client.macHeader), explain: e, fix: f, title: t, failure: u}
                  - {id: decrypt-only, when: request.operation == 'decrypt', assert: request.client.macHeader == 'x',
                     explain: e, fix: f, title: t, failure: u}
                  - {id: header-long, assert: size(request.client.macHeader) > 3 && request.appkey != '',
                     explain: e, fix: f, title: t, failure: u}
                  - {id: constant, assert: 'true', explain: e, fix: f, title: t, failure: u}
                  - {id: header-short, assert: size(request.client.macHeader) < 5 || request.operation == 'decrypt',
                     explain: e, fix: f, title: t, failure: u}
                tests:
                  - name: a long header
                    facts: {request: {operation: encrypt, appkey: A, client: {macHeader: "aa:bb:cc:dd:ee:ff"}}}
                    expect: {fails: header-short}
                """
        let rules = try RuleDirectory(["a.yaml": rule]).load().get()
        let loaded = try #require(rules.rules.first)
        let facts = try #require(loaded.tests.first).facts
        let outcome = rules.evaluate(loaded, facts: facts)
        #expect(outcome.checks.map(\.status) == [.passed, .skipped, .passed, .passed, .failed])
        let header = ["request.client.macHeader=aa:bb:cc:dd:ee:ff", "size(request.client.macHeader)=17"]
        let shown = outcome.checks.map { $0.evidence.map { "\($0.expression)=\(Format.text($0.value))" } }
        #expect(
            shown == [
                ["has(request.client.macHeader)=true"], [], header + ["request.appkey=A"], [],
                header + ["request.operation=encrypt"],
            ])
        #expect(outcome.cause?.check.id == "header-short")
        #expect(
            rules.evaluate(loaded, facts: facts, recordingEvidence: false).checks.allSatisfy { $0.evidence.isEmpty })
    }
}

@Suite struct HostileRuleInputTests {
    @Test func randomBytesGetADiagnostic() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let bytes = (0..<2000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let directory = try RuleDirectory([:])
            try Data(bytes).write(to: directory.url.appendingPathComponent("noise.yaml"))
            #expect(!directory.diagnostics().isEmpty)
        }
    }

    @Test func deepNestingGetsALimit() throws {
        let deep = "a: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let indented = (0..<400).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        for text in [deep, indented] {
            let diagnostics = try RuleDirectory(["deep.yaml": text]).diagnostics()
            #expect(diagnostics.first?.contains("nesting deeper than 64 levels") == true, "\(diagnostics.first ?? "")")
        }
    }

    @Test func deepNestingGetsALimitWithWindowsLineEndings() throws {
        // Line 258 is the first indented past 64 levels of 4 spaces; "\r\n" ends a line as "\n" does.
        let indented = (0..<400).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\r\n")
        let diagnostics = try RuleDirectory(["deep.yaml": indented]).diagnostics()
        #expect(
            diagnostics.first?.contains("deep.yaml:258:257: error: nesting deeper than 64 levels") == true,
            "\(diagnostics.first ?? "no diagnostic")")
    }

    @Test func hugeFilesGetALimit() throws {
        let huge = goodRule + "\nsummary: " + String(repeating: "x", count: 2 << 20)
        let diagnostics = try RuleDirectory(["huge.yaml": huge]).diagnostics()
        #expect(diagnostics.first?.contains("over the limit of 1048576") == true)
    }

    @Test func pathologicalExpressionsInRulesGetDiagnostics() throws {
        let expressions = [
            String(repeating: "(", count: 2000) + "true" + String(repeating: ")", count: 2000),
            (0..<2000).map { _ in "true" }.joined(separator: " && "),
            String(repeating: "!", count: 3000) + "true",
        ]
        for expression in expressions {
            let text = goodRule.replacingOccurrences(of: "has(request.client.macHeader)", with: "\"\(expression)\"")
            let diagnostics = try RuleDirectory(["p.yaml": text]).diagnostics()
            #expect(diagnostics.first?.contains("deeper than") == true, "\(diagnostics.first?.prefix(200) ?? "")")
        }
    }

    @Test func aliasesAreRefused() throws {
        let text = goodRule + "\nsummary: &a x\nreferences: [*a]\n"
        let diagnostics = try RuleDirectory(["alias.yaml": text]).diagnostics()
        #expect(
            diagnostics.first?.hasPrefix("Rules/alias.yaml:13:10: error: YAML anchors and aliases are not allowed")
                == true)

        var laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1..<12 {
            laughs +=
                "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        let laughed = try RuleDirectory(["laughs.yaml": laughs]).diagnostics()
        #expect(laughed.first?.contains("anchors and aliases are not allowed") == true)
    }
}
