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
        let stores = try await engine.storage.keyStores(appkey: appkeyID)
        let store: KeyStore?
        switch keyStoreReference(keystore) {
        case .id(let id): store = stores.first { $0.id == id }
        case .name(let name): store = stores.first { $0.name == name && $0.status == .active }
        }
        guard let store else {
            throw Rejection(.keyStoreKnown, "no key store \(keyStoreReference(keystore)) in this appkey")
        }
        try printKeyStore(store, json: output.json)
    }
}
