import ArgumentParser
import Foundation
import SKMCore

struct SnapshotExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the whole state and its audit events as JSON (Schemas/state.schema.json).",
        discussion: """
            No key material, secret value, password or UAK secret is included; User Access Keys by id only. Needs \
            the database only, not the root key.
            """)

    @OptionGroup var installation: InstallationOptions

    @Option(help: ArgumentHelp("Where to write the snapshot (default: standard output).", valueName: "path"))
    var out: String?

    func run() async throws {
        let storage = try await installation.openStorage()
        let snapshot = try await StateSnapshot.export(
            from: storage, at: Date(), location: installation.database)
        let data = try snapshot.jsonData() + Data("\n".utf8)
        if let out {
            try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            Terminal.note("Wrote \(out)")
        } else {
            FileHandle.standardOutput.write(data)
        }
    }
}
