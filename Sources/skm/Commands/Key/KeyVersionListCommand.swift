import ArgumentParser
import SKMCore

struct KeyVersionListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a key's versions.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: KeyTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        guard let key = try await engine.storage.key(id: target.key), key.appkey == appkey else {
            throw Rejection(.keyExists, "no key '\(target.key.prefix(64))' in this appkey")
        }
        let versions = try await engine.storage.versions(keyId: key.id)
        if output.json { try printJSON(versions) } else { printVersions(versions) }
    }
}
