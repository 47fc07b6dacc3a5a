import ArgumentParser
import SKMCore

struct AuthCancelDeletionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel-deletion", abstract: "Return an entry pending deletion to service.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: EntryTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let entry = try await engine.cancelAuthDeletion(
            appkey: try await resolveAppkey(target.appkey.appkey, engine: engine),
            store: keyStoreReference(target.keystore),
            kind: target.kind.kind, value: target.value, actor: commandLineActor)
        try printEntry(entry, json: output.json)
    }
}
