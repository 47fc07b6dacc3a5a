import ArgumentParser
import SKMRules

struct RulesShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one rule and its checks.")

    @Argument(help: "The rule id (SKM-MAC-AUTH-FAILURE) or its error message.")
    var id: String

    @Option(
        name: .customLong("rules"), help: ArgumentHelp("Rule files or directories (default: Rules).", valueName: "path")
    )
    var rulePaths: [String] = []

    func run() async throws {
        let set = try RulePaths(paths: rulePaths).load()
        guard
            let rule = set.rule(id: id)
                ?? set.rules.first(where: {
                    $0.error.message.lowercased() == id.lowercased() || $0.title.lowercased() == id.lowercased()
                })
        else {
            throw CommandFailure.usage("no rule '\(id)'; `skm rules list` shows them")
        }
        var details = Details()
        details.add("id", rule.id)
        details.add("error", "\(rule.error.message) (\(rule.error.code))")
        details.add("order", String(rule.order))
        details.add("applies to", rule.appliesTo.sorted().joined(separator: ", "))
        details.add("guide", rule.guide)
        details.add("file", rule.file)
        details.print()
        print("\n" + rule.summary + "\n")
        for (index, check) in rule.checks.enumerated() {
            let kind = check.byElimination ? " (by elimination)" : check.severity == .warning ? " (warning)" : ""
            print("\(index + 1). \(check.id)\(kind): \(check.title)")
            if !check.byElimination { print("   assert: \(check.assertionText)") }
            print("   explain: \(check.explanation.source)")
            print("   fix: \(check.fix.source)")
        }
        print("\n\(rule.tests.count) tests")
    }
}
