import ArgumentParser
import SKMCore

struct AuthListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a key store's registered entries.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "Only ip, mac or cert entries.")
    var kind: AuthKindArgument?

    @Flag(help: "Include deleted entries.")
    var all = false

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkeyID = try await resolveAppkey(appkey.appkey, engine: engine)
        let store = try await shownKeyStore(keystore, appkey: appkeyID, engine: engine)
        let entries = try await engine.storage.authEntries(keyStoreId: store.id).filter {
            (kind == nil || $0.kind == kind?.kind) && (all || $0.status != .deleted)
        }
        if output.json {
            try printJSON(entries)
            return
        }
        var table = Table("ID", "KIND", "VALUE", "STATUS", "EXPIRES", "DELETION", "LAST USED")
        for entry in entries {
            table.add(
                String(entry.id), entry.kind.rawValue, entry.value, entry.status.rawValue,
                entry.certificate.map { display($0.notAfter) } ?? "—", display(entry.deletionAt),
                display(entry.lastAccessAt))
        }
        table.print()
    }
}
