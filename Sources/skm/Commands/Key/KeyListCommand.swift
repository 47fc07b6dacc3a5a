import ArgumentParser
import SKMCore

struct KeyListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "Only this key store (id or name).")
    var keystore: String?

    @Flag(help: "Include deleted keys.")
    var all = false

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkeyID = try await resolveAppkey(appkey.appkey, engine: engine)
        var stores = try await engine.storage.keyStores(appkey: appkeyID)
        if let keystore {
            switch keyStoreReference(keystore) {
            case .id(let id): stores = stores.filter { $0.id == id }
            case .name(let name): stores = stores.filter { $0.name == name }
            }
            guard !stores.isEmpty else {
                throw Rejection(.keyStoreKnown, "no key store \(keyStoreReference(keystore))")
            }
        }
        var keys: [ManagedKey] = []
        for store in stores {
            keys += try await engine.storage.keys(keyStoreId: store.id).filter { all || $0.status != .deleted }
        }
        if output.json {
            try printJSON(keys)
            return
        }
        let names = Dictionary(uniqueKeysWithValues: stores.map { ($0.id, $0.name) })
        var table = Table("KEY ID", "NAME", "TYPE", "STATUS", "VERSION", "KEY STORE")
        for key in keys {
            table.add(
                key.id, key.name, key.type.rawValue, key.status.rawValue,
                key.type.isVersioned ? String(key.latestVersion) : "—", names[key.keyStoreId] ?? String(key.keyStoreId))
        }
        table.print()
    }
}
