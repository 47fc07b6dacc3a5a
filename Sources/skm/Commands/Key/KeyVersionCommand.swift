import ArgumentParser
import SKMCore

struct KeyVersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "List and delete single key versions.",
        subcommands: [
            KeyVersionListCommand.self, KeyVersionStepCommand<ScheduleVersionDeletion>.self,
            KeyVersionStepCommand<CancelVersionDeletion>.self, KeyVersionStepCommand<PurgeVersion>.self,
        ])
}

/// Options of commands that act on one version of a key.
struct VersionTarget: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The appkey (default: the key's own).", valueName: "appkey"))
    var appkey: String?

    @Argument(help: "The key id.")
    var key: String

    @Argument(help: "The version number.")
    var version: Int
}

func printVersion(_ version: KeyVersion, json: Bool) throws {
    if json { try printJSON(version) } else { printVersions([version]) }
}
