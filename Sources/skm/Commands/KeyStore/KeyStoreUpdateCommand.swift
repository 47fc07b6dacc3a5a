import ArgumentParser
import SKMCore

struct KeyStoreUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Change a key store's settings: only those named change.",
        discussion: """
            Every setting not named keeps its current value: `skm keystore update payments --mac-auth Y` turns MAC \
            authentication on and leaves IPv4, certificates, the mode, the name and the description as they are.
            """)

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var changes: KeyStoreChangeOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The key store's id or current name.")
    var keystore: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkeyID = try await resolveAppkey(appkey.appkey, engine: engine)
        let current = try await engine.liveKeyStore(appkey: appkeyID, keyStoreReference(keystore))
        let settings = changes.applied(to: current)
        guard settings.ip4AuthUse || settings.macAuthUse || settings.certificateAuthUse else {
            throw CommandFailure.usage(
                "that would turn off every factor of key store '\(current.name)': keep one of --ip4-auth, --mac-auth "
                    + "or --cert-auth at Y")
        }
        let store = try await engine.updateKeyStore(
            appkey: appkeyID, store: .id(current.id), settings: settings, actor: commandLineActor)
        try printKeyStore(store, json: output.json)
    }
}
