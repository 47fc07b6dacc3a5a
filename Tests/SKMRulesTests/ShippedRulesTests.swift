import Foundation
import SKMAnalysis
import SKMCore
import SKMRules
import SKMTestSupport
import Testing

enum ShippedRules {
    static let directory = packageRoot.appendingPathComponent("Rules")

    static func load() throws -> RuleSet {
        switch SKMFacts.loadRules([directory]) {
        case .success(let rules): return rules
        case .failure(let diagnostics):
            Issue.record("Rules/ does not load:\n\(diagnostics)")
            throw diagnostics
        }
    }
}

@Suite struct ShippedRulesTests {
    @Test func rulesLoadWithoutProblems() throws {
        let rules = try ShippedRules.load()
        #expect(rules.rules.count == 16)
    }

    /// Explanations name operations in words: every operation has its words.
    @Test func everyOperationHasAName() throws {
        let text = try String(
            contentsOf: ShippedRules.directory.appendingPathComponent("definitions.yaml"), encoding: .utf8)
        for operation in APIOperation.allCases {
            #expect(text.contains("'\(operation.rawValue)': '"), "operationNames lacks \(operation.rawValue)")
        }
    }

    @Test func embeddedTestsPassAndEveryCheckIsMadeToFail() throws {
        let report = try ShippedRules.load().runTests()
        for failure in report.failures { Issue.record("\(failure)") }
        #expect(report.untestedChecks == [])
        #expect(report.passed >= 100)
    }

    @Test(arguments: APIError.allCases)
    func everyCatalogueErrorHasARule(_ error: APIError) throws {
        let rules = try ShippedRules.load().rules(explaining: error.resultCode)
        #expect(rules.count == 1, "no rule explains \(error)")
        #expect(rules.first?.error.message == error.resultMessage)
    }

    @Test func everySolutionGuideHeadingIsCited() throws {
        let text = try String(
            contentsOf: packageRoot.appendingPathComponent("Tests/SKMRulesTests/Fixtures/solution-guide-headings.txt"),
            encoding: .utf8)
        let headings = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(headings.count == 11)
        let cited = Set(try ShippedRules.load().rules.compactMap(\.guide))
        for heading in headings {
            #expect(cited.contains(heading), "no rule cites '\(heading)'")
        }
    }

    @Test func decisionOrderFollowsTheEngine() throws {
        // DESIGN §6: route, appkey, credentials, body, key, IPv4, MAC, certificate, key status, versions and data.
        let order = try ShippedRules.load().rules.map(\.error.identifier)
        #expect(
            order == [
                "URL_NOT_FOUND", "INVALID_APPKEY", "UNAUTHORIZED", "INVALID_REQUEST", "INVALID_KEY_ID",
                "IPV4_AUTH_FAILURE", "MAC_AUTH_FAILURE", "CERTIFICATE_AUTH_FAILURE", "UNTRUSTED_CERTIFICATE",
                "CERTIFICATE_NOT_YET_VALID", "CERTIFICATE_EXPIRED", "INVALID_KEY_STATUS", "INVALID_USER_DATA",
                "INVALID_KEY_VERSION", "INVALID_KEY_VERSION_STATUS", "INTERNAL_ERROR",
            ])
    }
}

extension Rule.ErrorReference {
    var identifier: String { APIError(resultCode: code)?.identifier ?? "?" }
}

@Suite struct GuardIndexTests {
    /// The replay skips checks by `request.operation` only where their guards are certainly false: for every embedded
    /// test's facts, and for those facts under every other operation, it predicts what the unindexed replay predicts.
    @Test func theIndexedReplayPredictsWhatTheFullReplayPredicts() throws {
        let indexed = try ShippedRules.load()
        var plain = SKMFacts.configuration
        plain.discriminator = nil
        let unindexed = try RuleSet.load(paths: [ShippedRules.directory], configuration: plain).get()
        let operations = APIOperation.allCases.map(\.rawValue) + ["noSuchOperation"]
        let requestIndex = try #require(SKMFacts.schema.index(ofVariable: "request"))
        let operationField = try #require(SKMFacts.request.index(of: "operation"))
        var compared = 0
        for rule in indexed.rules {
            for test in rule.tests {
                var variants = [test.facts]
                if case .object(let request) = test.facts.values[requestIndex] {
                    for operation in operations {
                        var fields = request.fields
                        fields[operationField] = .string(operation)
                        var facts = test.facts
                        facts.set(requestIndex, .object(ObjectValue(type: request.type, fields: fields)))
                        variants.append(facts)
                    }
                }
                for facts in variants {
                    let a = indexed.predict(facts: facts, logged: rule.error.code)
                    let b = unindexed.predict(facts: facts, logged: rule.error.code)
                    #expect(a.failure?.check.id == b.failure?.check.id, "\(rule.id) / \(test.name)")
                    #expect(a.failure?.rule.id == b.failure?.rule.id, "\(rule.id) / \(test.name)")
                    #expect(a.unknownsBefore.map(\.check.id) == b.unknownsBefore.map(\.check.id))
                    compared += 1
                }
            }
        }
        #expect(compared > 3000)
    }
}

@Suite struct DecisionCheckTests {
    /// Every condition the engine refuses an API request for has a check of the same id in the rule file of its
    /// error, and every check that is not a warning is such a condition: the engine and the rules name causes alike.
    @Test func theEnginesConditionsAreTheRulesChecks() throws {
        let rules = try ShippedRules.load()
        var named: Set<String> = []
        for check in DecisionCheck.apiChecks {
            let rule = try #require(rules.rules(explaining: check.error.resultCode).first)
            #expect(rule.checks.contains { $0.id == check.id }, "\(rule.id) has no check '\(check.id)'")
            named.insert("\(check.error.resultCode)/\(check.id)")
        }
        for rule in rules.rules {
            for check in rule.checks where check.severity == .error {
                #expect(
                    named.contains("\(rule.error.code)/\(check.id)"), "the engine never decides \(rule.id)/\(check.id)")
            }
        }
    }

    /// Causes and hints are told apart in the rule files: no shipped check infers intent.
    @Test func inferencesAreHintsNotCauses() throws {
        let rules = try ShippedRules.load()
        let hints = rules.rules.flatMap { $0.hints.map(\.id) }
        #expect(
            Set(hints) == [
                "behind-nat", "proxy-drops-header", "key-of-another-appkey", "client-clock-behind",
                "client-clock-ahead",
                "other-method", "empty-path-segment",
            ])
        for rule in rules.rules {
            for check in rule.checks {
                #expect(!check.failure.isEmpty && check.failure != check.title, "\(rule.id)/\(check.id)")
            }
        }
    }
}
