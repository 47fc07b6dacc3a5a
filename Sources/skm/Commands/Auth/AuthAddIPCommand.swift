import ArgumentParser
import SKMCore

struct AuthAddIPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-ip", abstract: "Register an IPv4 address or CIDR (10.0.3.0/24) in a key store.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "A description.")
    var description: String = ""

    @Argument(help: "The address or CIDR.")
    var value: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let entry = try await engine.addAuthEntry(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            kind: .ipv4, value: value, description: description, actor: commandLineActor)
        try printEntry(entry, json: output.json)
    }
}
