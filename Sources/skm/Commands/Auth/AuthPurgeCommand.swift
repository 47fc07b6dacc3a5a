import ArgumentParser
import SKMCore

struct AuthPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Delete an entry pending deletion now (a tombstone remains).")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: EntryTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let entry = try await engine.deleteAuthEntry(
            appkey: try await resolveAppkey(target.appkey.appkey, engine: engine),
            store: keyStoreReference(target.keystore),
            kind: target.kind.kind, value: target.value, actor: commandLineActor)
        try printEntry(entry, json: output.json)
    }
}
