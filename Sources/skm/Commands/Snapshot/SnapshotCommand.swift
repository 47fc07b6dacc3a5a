import ArgumentParser

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Export the key manager's state for the analyser.",
        subcommands: [SnapshotExportCommand.self])
}
