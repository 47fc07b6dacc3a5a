import ArgumentParser
import SKMCore

struct KeyVersionPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Delete a version pending deletion now, destroying its material.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: VersionTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        let version = try await engine.deleteVersion(
            appkey: appkey, keyId: target.key, version: target.version, actor: commandLineActor)
        try printVersion(version, json: output.json)
    }
}
