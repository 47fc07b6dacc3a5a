import ArgumentParser
import SKMCore

struct KeyStoreListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List key stores.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Flag(help: "Include deleted key stores.")
    var all = false

    func run() async throws {
        let engine = try await installation.openEngine()
        let stores = try await engine.storage.keyStores(appkey: try await resolveAppkey(appkey.appkey, engine: engine))
            .filter { all || $0.status == .active }
        if output.json {
            try printJSON(stores)
            return
        }
        var table = Table("ID", "NAME", "IPV4", "MAC", "CERT", "MODE", "STATUS", "DESCRIPTION")
        for store in stores {
            table.add(
                String(store.id), store.name, yesNo(store.ip4AuthUse), yesNo(store.macAuthUse),
                yesNo(store.certificateAuthUse), store.authMode.rawValue, store.status.rawValue, store.description)
        }
        table.print()
    }
}
