import ArgumentParser

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Export or fetch a key manager's state for the analyser.",
        subcommands: [SnapshotExportCommand.self, SnapshotFetchCommand.self])
}
