import Foundation
import SKMAnalysis
import SKMRules
import SKMTestSupport
import Testing

@Suite struct RulesDocumentationTests {
    static let page = packageRoot.appendingPathComponent("docs/rules.md")
    static let begin = "<!-- fact-schema:begin -->\n"
    static let end = "<!-- fact-schema:end -->"

    /// The fact-schema section of docs/rules.md is `skm rules schema`'s output; `SKM_RECORD_GOLDEN=1` rewrites it.
    @Test func theFactSchemaSectionMatchesTheDeclaration() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        let start = try #require(text.range(of: Self.begin))
        let finish = try #require(text.range(of: Self.end, range: start.upperBound..<text.endIndex))
        let documented = String(text[start.upperBound..<finish.lowerBound])
        let declared = SKMFacts.schema.reference
        if documented != declared, ProcessInfo.processInfo.environment["SKM_RECORD_GOLDEN"] == "1" {
            try (text[..<start.upperBound] + declared + text[finish.lowerBound...]).write(
                to: Self.page, atomically: true, encoding: .utf8)
            Issue.record("docs/rules.md re-recorded; run the test again")
            return
        }
        #expect(documented == declared, "docs/rules.md's fact schema is stale: SKM_RECORD_GOLDEN=1 swift test")
    }

    @Test func everyRuleKeyIsDocumented() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        for key in RuleSet.ruleFileKeys {
            #expect(text.contains("| `\(key)` |"), "docs/rules.md does not describe '\(key)'")
        }
    }
}
