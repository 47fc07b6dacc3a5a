import ArgumentParser
import SKMCore

struct KeyVersionDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Schedule one version for deletion in 7 days (not the primary version).")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: VersionTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        let version = try await engine.scheduleVersionDeletion(
            appkey: appkey, keyId: target.key, version: target.version, actor: commandLineActor)
        try printVersion(version, json: output.json)
    }
}
