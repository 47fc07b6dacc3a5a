import ArgumentParser
import SKMCore

struct KeyDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Schedule a key for deletion in 7 days (cancel with cancel-deletion).")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: KeyTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        let key = try await engine.scheduleKeyDeletion(appkey: appkey, keyId: target.key, actor: commandLineActor)
        try printKey(key, versions: try await engine.storage.versions(keyId: key.id), json: output.json)
    }
}
