import ArgumentParser
import SKMCore

struct KeyRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Create a new version of a key; it becomes the primary version.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: KeyTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        let version = try await engine.rotateKey(appkey: appkey, keyId: target.key, actor: commandLineActor)
        if output.json {
            try printJSON(version)
        } else {
            print("Key \(target.key) rotated: version \(version.number) is now primary.")
        }
    }
}
