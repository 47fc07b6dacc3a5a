import ArgumentParser
import SKMRules

struct RulesLintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Load and type-check rule files; print every problem as file:line:col with the line and a caret.",
        discussion: "Exits with 2 when any file has an error: a broken rule set is refused as a whole.")

    @OptionGroup var rules: RulePaths

    func run() async throws {
        let set = try rules.load()
        let checks = set.rules.reduce(0) { $0 + $1.checks.count }
        let tests = set.rules.reduce(0) { $0 + $1.tests.count }
        print(
            "\(set.rules.count) rules, \(checks) checks, \(tests) tests, \(set.definitions.items.count) definitions: no problems"
        )
    }
}
