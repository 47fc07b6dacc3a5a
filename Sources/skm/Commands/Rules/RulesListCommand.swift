import ArgumentParser
import SKMRules

struct RulesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the rules in decision order.")

    @OptionGroup var rules: RulePaths
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let set = try rules.load()
        if output.json {
            printJSON(
                .array(
                    set.rules.map { rule in
                        [
                            "id": .string(rule.id), "title": .string(rule.title), "code": .int(rule.error.code),
                            "order": .int(rule.order), "checks": .array(rule.checks.map { .string($0.id) }),
                            "file": .string(rule.file),
                        ]
                    }))
            return
        }
        var table = Table("ORDER", "ID", "ERROR", "CODE", "CHECKS")
        for rule in set.rules {
            table.add(
                String(rule.order), rule.id, rule.error.message, String(rule.error.code), String(rule.checks.count))
        }
        table.print()
    }
}
