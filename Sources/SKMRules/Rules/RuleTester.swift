/// Runs the tests embedded in rule files, and checks that every check of every rule is made to fail by one.
package struct RuleTestReport: Sendable {
    package struct Failure: Sendable, CustomStringConvertible {
        package var rule: String
        package var test: String
        package var file: String
        package var line: Int
        package var message: String

        package var description: String { "\(file):\(line): \(rule) › \(test): \(message)" }
    }

    package var passed = 0
    package var failures: [Failure] = []
    /// Checks no test makes fail ("rule › check").
    package var untestedChecks: [String] = []

    package var succeeded: Bool { failures.isEmpty && untestedChecks.isEmpty }
}

extension RuleSet {
    /// Runs every rule's tests.
    package func runTests() -> RuleTestReport {
        var report = RuleTestReport()
        for rule in rules {
            var exercised: Set<String> = []
            for test in rule.tests {
                let outcome = evaluate(rule, facts: test.facts, recordingEvidence: true)
                var problem = Self.mismatch(outcome, test.expectation)
                switch test.expectation {
                case .fails(let id, let hint):
                    exercised.insert(id)
                    if let hint {
                        exercised.insert(hint)
                        if problem == nil, let cause = outcome.cause {
                            let held = hints(of: rule, about: cause.check, facts: test.facts).first {
                                $0.hint.id == hint
                            }
                            if held?.holds.boolValue != true {
                                problem =
                                    "expected hint \(hint) to hold beside \(id); it is \(held.map { Format.text($0.holds) } ?? "not about that cause")"
                            }
                        }
                    }
                case .warns(let id): exercised.insert(id)
                default: break
                }
                if let problem {
                    report.failures.append(
                        .init(rule: rule.id, test: test.name, file: rule.file, line: test.line, message: problem))
                } else {
                    report.passed += 1
                }
            }
            for check in rule.checks where !exercised.contains(check.id) {
                report.untestedChecks.append("\(rule.id) › \(check.id)")
            }
            for hint in rule.hints where !exercised.contains(hint.id) {
                report.untestedChecks.append("\(rule.id) › hint \(hint.id)")
            }
        }
        return report
    }

    static func mismatch(_ outcome: RuleOutcome, _ expectation: RuleTest.Expectation) -> String? {
        let applicable = outcome.applicable.boolValue == true
        func describe() -> String {
            if outcome.applicable.boolValue != true {
                return "the rule did not apply (when/applies_to: \(Format.text(outcome.applicable)))"
            }
            let parts = outcome.checks.map {
                "\($0.check.id)=\($0.status.rawValue)" + ($0.failure.map { " (\($0))" } ?? "")
            }
            return parts.joined(separator: ", ")
        }
        switch expectation {
        case .notApplicable:
            return outcome.applicable.boolValue == false ? nil : "expected the rule not to apply; \(describe())"
        case .passes:
            guard applicable, outcome.cause == nil, outcome.firstUnknown == nil,
                !outcome.checks.contains(where: { $0.status == .error })
            else { return "expected every check to pass; \(describe())" }
            return nil
        case .fails(let id, _):
            guard applicable, outcome.cause?.check.id == id else {
                return "expected \(id) to fail first; \(describe())"
            }
            return nil
        case .warns(let id):
            guard applicable, outcome.warnings.contains(where: { $0.check.id == id }) else {
                return "expected warning \(id); \(describe())"
            }
            return nil
        case .unknown(let id):
            guard applicable, outcome.firstUnknown?.check.id == id else {
                return "expected \(id) to be the first unknown; \(describe())"
            }
            return nil
        }
    }
}
