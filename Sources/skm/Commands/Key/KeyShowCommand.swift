import ArgumentParser
import SKMCore

struct KeyShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a key and its versions.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: KeyTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        guard ManagedKey.isWellFormedID(target.key), let key = try await engine.storage.key(id: target.key),
            key.appkey == appkey
        else { throw Rejection(.keyExists, "no key '\(target.key.prefix(64))' in this appkey") }
        try printKey(key, versions: try await engine.storage.versions(keyId: key.id), json: output.json)
    }
}
