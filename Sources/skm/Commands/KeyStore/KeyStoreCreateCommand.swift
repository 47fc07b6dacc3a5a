import ArgumentParser
import SKMCore

struct KeyStoreCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key store.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var settings: KeyStoreSettingsOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .shortAndLong, help: "Print only the new key store's id.")
    var quiet = false

    func run() async throws {
        let engine = try await installation.openEngine()
        let store = try await engine.createKeyStore(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), settings: settings.settings,
            actor: commandLineActor)
        if quiet { print(store.id) } else { try printKeyStore(store, json: output.json) }
    }
}
