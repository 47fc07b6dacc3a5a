import ArgumentParser
import SKMCore

struct KeyPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete a key pending deletion now, destroying its material (a tombstone remains).")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: KeyTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        let key = try await engine.deleteKey(appkey: appkey, keyId: target.key, actor: commandLineActor)
        try printKey(key, versions: try await engine.storage.versions(keyId: key.id), json: output.json)
    }
}
