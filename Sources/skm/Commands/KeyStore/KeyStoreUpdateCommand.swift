import ArgumentParser
import SKMCore

struct KeyStoreUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Replace a key store's settings (every setting; omitted ones take their default).")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var settings: KeyStoreSettingsOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The key store's id or current name.")
    var keystore: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let store = try await engine.updateKeyStore(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            settings: settings.settings, actor: commandLineActor)
        try printKeyStore(store, json: output.json)
    }
}
