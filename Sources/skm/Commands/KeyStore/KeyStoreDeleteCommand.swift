import ArgumentParser
import SKMCore

struct KeyStoreDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete (deactivate) a key store that holds no live key.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Argument(help: "The key store's id or name.")
    var keystore: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let store = try await engine.deleteKeyStore(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            actor: commandLineActor)
        try printKeyStore(store, json: output.json)
    }
}
