import ArgumentParser
import Foundation
import SKMAnalysis
import SKMRules

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Check, test and read the rule files that explain failed requests.",
        subcommands: [
            RulesLintCommand.self, RulesTestCommand.self, RulesListCommand.self, RulesShowCommand.self,
            RulesSchemaCommand.self,
        ])
}

/// Where the rules are: files or directories, default `Rules/`.
struct RulePaths: ParsableArguments {
    @Argument(help: ArgumentHelp("Rule files or directories (default: Rules, or SKM_RULES).", valueName: "path"))
    var paths: [String] = []

    init() {}

    init(paths: [String]) {
        self.paths = paths
    }

    var urls: [URL] {
        (paths.isEmpty ? [ProcessInfo.processInfo.environment["SKM_RULES"] ?? "Rules"] : paths).map {
            URL(fileURLWithPath: $0)
        }
    }

    /// The loaded rule set; a broken set prints every diagnostic and exits with 2.
    func load() throws -> RuleSet {
        if paths.isEmpty, ProcessInfo.processInfo.environment["SKM_RULES"] == nil,
            !FileManager.default.fileExists(atPath: "Rules")
        {
            throw CommandFailure(
                message:
                    "no Rules folder in \(FileManager.default.currentDirectoryPath): name the rules (skm analyze --rules PATH, skm rules … PATH) or set SKM_RULES=PATH",
                exitCode: 2)
        }
        switch SKMFacts.loadRules(urls) {
        case .success(let rules): return rules
        case .failure(let diagnostics):
            FileHandle.standardError.write(Data((diagnostics.description + "\n").utf8))
            throw CommandFailure(message: "", exitCode: 2)
        }
    }
}
