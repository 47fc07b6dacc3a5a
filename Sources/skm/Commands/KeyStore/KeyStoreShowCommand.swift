import ArgumentParser
import SKMCore

struct KeyStoreShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a key store.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Argument(help: "The key store's id or name.")
    var keystore: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkeyID = try await resolveAppkey(appkey.appkey, engine: engine)
        let store = try await shownKeyStore(keystore, appkey: appkeyID, engine: engine)
        try printKeyStore(store, json: output.json)
    }
}
