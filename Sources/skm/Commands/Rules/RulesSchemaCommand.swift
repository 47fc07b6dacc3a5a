import ArgumentParser
import SKMAnalysis
import SKMRules

struct RulesSchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the facts rule expressions may refer to, as Markdown.")

    func run() async throws {
        print(SKMFacts.schema.reference, terminator: "")
    }
}
