import ArgumentParser
import SKMCore

struct AuthAddMACCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-mac", abstract: "Register a MAC address (aa:bb:cc:dd:ee:ff) in a key store.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "A description.")
    var description: String = ""

    @Argument(help: "The MAC address; case and : or - separators do not matter.")
    var value: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let entry = try await engine.addAuthEntry(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            kind: .mac, value: value, description: description, actor: commandLineActor)
        try printEntry(entry, json: output.json)
    }
}
