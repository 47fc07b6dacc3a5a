import ArgumentParser
import SKMCore

struct KeyCancelDeletionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel-deletion", abstract: "Return a key pending deletion to service.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: KeyTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        let key = try await engine.cancelKeyDeletion(appkey: appkey, keyId: target.key, actor: commandLineActor)
        try printKey(key, versions: try await engine.storage.versions(keyId: key.id), json: output.json)
    }
}
