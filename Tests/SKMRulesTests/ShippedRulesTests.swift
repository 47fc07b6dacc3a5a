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

/// The facts of a test, then the same facts under every operation and one that is none.
func operationVariants(of facts: Activation) throws -> [Activation] {
    let operations = APIOperation.allCases.map(\.rawValue) + ["noSuchOperation"]
    return try [facts] + operations.compactMap { try facts.underOperation($0) }
}

extension Activation {
    /// The same facts with `request.operation` set to `operation`; `nil` when they hold no request.
    func underOperation(_ operation: String) throws -> Activation? {
        let requestIndex = try #require(SKMFacts.schema.index(ofVariable: "request"))
        let operationField = try #require(SKMFacts.request.index(of: "operation"))
        guard case .object(let request) = values[requestIndex] else { return nil }
        var fields = request.fields
        fields[operationField] = .string(operation)
        var variant = self
        variant.set(requestIndex, .object(ObjectValue(type: request.type, fields: fields)))
        return variant
    }
}

@Suite struct GuardIndexTests {
    /// The replay skips checks by `request.operation` only where their guards are certainly false, and reads the
    /// tests of the operation in the rest as the constants they are for it: for every embedded test's facts, and for
    /// those facts under every other operation, it predicts what the unindexed replay predicts, with the same
    /// unknowns before it.
    @Test func theIndexedReplayPredictsWhatTheFullReplayPredicts() throws {
        let indexed = try ShippedRules.load()
        var plain = SKMFacts.configuration
        plain.discriminator = nil
        let unindexed = try RuleSet.load(paths: [ShippedRules.directory], configuration: plain).get()
        var compared = 0
        for rule in indexed.rules {
            for test in rule.tests {
                for var facts in try operationVariants(of: test.facts) {
                    let indexedReads = ReadLog()
                    facts.reads = indexedReads
                    let a = indexed.predict(facts: facts, logged: rule.error.code)
                    let unindexedReads = ReadLog()
                    facts.reads = unindexedReads
                    let b = unindexed.predict(facts: facts, logged: rule.error.code)
                    // What the analyser keys a diagnosis on: whether it read a per-request or a deferred fact.
                    #expect(indexedReads.readPerRequest == unindexedReads.readPerRequest, "\(rule.id) / \(test.name)")
                    #expect(indexedReads.readDeferred == unindexedReads.readDeferred, "\(rule.id) / \(test.name)")
                    #expect(a.failure?.check.id == b.failure?.check.id, "\(rule.id) / \(test.name)")
                    #expect(a.failure?.rule.id == b.failure?.rule.id, "\(rule.id) / \(test.name)")
                    #expect(a.byElimination == b.byElimination, "\(rule.id) / \(test.name)")
                    #expect(
                        a.unknownsBefore.map { "\($0.rule.id)/\($0.check.id): \(String(describing: $0.unknown))" }
                            == b.unknownsBefore.map {
                                "\($0.rule.id)/\($0.check.id): \(String(describing: $0.unknown))"
                            },
                        "\(rule.id) / \(test.name)")
                    compared += 1
                }
            }
        }
        #expect(compared > 3000)
    }
}

/// The shipped rules' conditions read for their truth alone, as the replay reads them.
@Suite struct ConditionTruthTests {
    /// Every condition of the shipped rules (guards, assertions, definitions), read for its truth alone as the replay
    /// reads it, is true or false exactly when its value is that bool, and notes a per-request read exactly when
    /// evaluating it does: on every embedded test's facts, under every operation.
    @Test func everyShippedConditionReadForItsTruthAgreesWithItsValue() throws {
        let rules = try ShippedRules.load()
        var programs = rules.definitions.items.map(\.program)
        for rule in rules.rules {
            programs += [rule.when].compactMap { $0 }
            for check in rule.checks { programs += [check.when, check.assertion].compactMap { $0 } }
        }
        var decided = 0
        var undecided = 0
        for rule in rules.rules {
            for test in rule.tests {
                for var facts in try operationVariants(of: test.facts) {
                    for program in programs {
                        let valueReads = ReadLog()
                        facts.reads = valueReads
                        let value = program.evaluate(facts)
                        let truthReads = ReadLog()
                        facts.reads = truthReads
                        let truth = program.truth(facts)
                        #expect(truth == value.boolValue, "\(program.source.text) in \(rule.id) / \(test.name)")
                        #expect(
                            truthReads.readPerRequest == valueReads.readPerRequest,
                            "per-request read: \(program.source.text) in \(rule.id) / \(test.name)")
                        // With the definitions it reads already kept in the request's cache, as a later reading finds
                        // them.
                        let warm = DefinitionCache()
                        _ = program.evaluate(facts, cache: warm)
                        #expect(
                            program.truth(facts, cache: warm) == value.boolValue,
                            "kept definitions: \(program.source.text) in \(rule.id) / \(test.name)")
                        if truth == nil { undecided += 1 } else { decided += 1 }
                    }
                }
            }
        }
        // Both kinds are met: the facts hold unknowns as well as values.
        #expect(decided > 10_000)
        #expect(undecided > 100)
    }

    /// Every condition of the shipped rules made for one operation, as the replay's steps for it are: its tests of
    /// `request.operation` read as constants, and the definitions it reads made for the operation too
    /// (`missingBodyFields` lists one operation's members). Read for its truth, it is true or false exactly when
    /// its general value is that bool, and notes a per-request read exactly when evaluating it does: on every
    /// embedded test's facts under that operation. A condition the operation alone decides is decided as it
    /// evaluates.
    @Test func everyConditionMadeForOneOperationAgreesWithItsGeneralValue() throws {
        let rules = try ShippedRules.load()
        var programs = rules.definitions.items.map(\.program)
        for rule in rules.rules {
            programs += [rule.when].compactMap { $0 }
            for check in rule.checks { programs += [check.when, check.assertion].compactMap { $0 } }
        }
        var made = 0
        var compared = 0
        for operation in APIOperation.allCases.map(\.rawValue) {
            let assumption = Assumption(path: ["request", "operation"], value: operation)
            let pairs = programs.compactMap { general in
                general.testing(assuming: assumption, schema: SKMFacts.schema, definitions: rules.definitions).map {
                    (general: general, made: $0.program, decided: $0.decided)
                }
            }
            made += pairs.count
            for rule in rules.rules {
                for test in rule.tests {
                    guard var facts = try test.facts.underOperation(operation) else { continue }
                    for pair in pairs {
                        let valueReads = ReadLog()
                        facts.reads = valueReads
                        let value = pair.general.evaluate(facts)
                        let truthReads = ReadLog()
                        facts.reads = truthReads
                        let truth = pair.made.truth(facts)
                        let text = "\(pair.general.source.text) under \(operation) in \(rule.id) / \(test.name)"
                        #expect(truth == value.boolValue, "\(text)")
                        #expect(truthReads.readPerRequest == valueReads.readPerRequest, "per-request read: \(text)")
                        if let decided = pair.decided { #expect(decided == value.boolValue, "decided: \(text)") }
                        compared += 1
                    }
                }
            }
        }
        // Many conditions read the operation, and the members' check reads it only through its definition.
        #expect(made > 100)
        #expect(compared > 10_000)
    }

    /// A definition read first for its truth (as the replay reads guards) is kept in the request's cache as that bool,
    /// with whether it read a field without a value: afterwards, read plainly and strictly (as explanations are), it
    /// gives what it gives with a cache of its own, for every shipped definition on every embedded test's facts.
    @Test func definitionsKeptFromTheirTruthServeEveryReading() throws {
        let rules = try ShippedRules.load()
        let programs = try rules.definitions.items.map {
            try Compiler.compile(Source(text: $0.name), schema: SKMFacts.schema, definitions: rules.definitions).get()
        }
        var strictDiffers = 0
        for rule in rules.rules {
            for test in rule.tests {
                for facts in [test.facts] {
                    for program in programs {
                        let cache = DefinitionCache()
                        let truth = program.truth(facts, cache: cache)
                        let plain = program.evaluate(facts)
                        let strict = program.evaluateStrictly(facts)
                        #expect(truth == plain.boolValue, "\(program.source.text) in \(rule.id) / \(test.name)")
                        #expect(
                            "\(program.evaluate(facts, cache: cache))" == "\(plain)",
                            "\(program.source.text) in \(rule.id) / \(test.name)")
                        #expect(
                            "\(program.evaluateStrictly(facts, cache: cache))" == "\(strict)",
                            "strictly: \(program.source.text) in \(rule.id) / \(test.name)")
                        if "\(strict)" != "\(plain)" { strictDiffers += 1 }
                    }
                }
            }
        }
        // The two readings differ on some: fields without a value are met.
        #expect(strictDiffers > 20)
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
