import ArgumentParser
import SKMCore

struct AuthDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Schedule an entry for deletion in 7 days.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: EntryTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let entry = try await engine.scheduleAuthDeletion(
            appkey: try await resolveAppkey(target.appkey.appkey, engine: engine),
            store: keyStoreReference(target.keystore),
            kind: target.kind.kind, value: target.value, actor: commandLineActor)
        try printEntry(entry, json: output.json)
    }
}
