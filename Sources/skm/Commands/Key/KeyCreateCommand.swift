import ArgumentParser
import Foundation
import SKMCore

struct KeyCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key in a key store.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "secret, symmetric (AES-256) or asymmetric (RSA-2048).")
    var type: KeyTypeArgument

    @Option(help: "The key's name.")
    var name: String

    @Option(help: "A description.")
    var description: String = ""

    @Option(help: "Days between automatic rotations: 0 (off) or 30 to 3650.")
    var rotationPeriod: Int = 0

    @Option(
        help: ArgumentHelp(
            "A file holding the secret's value (for --type secret); - reads standard input.", valueName: "path"))
    var secretFile: String?

    @Flag(name: .shortAndLong, help: "Print only the new key's id.")
    var quiet = false

    func validate() throws {
        if type == .secret && secretFile == nil { throw ValidationError("--type secret needs --secret-file") }
        if type != .secret && secretFile != nil { throw ValidationError("--secret-file is only for --type secret") }
    }

    func run() async throws {
        let engine = try await installation.openEngine()
        var secret: String?
        if let secretFile {
            let data =
                secretFile == "-"
                ? FileHandle.standardInput.readDataToEndOfFile()
                : try Data(contentsOf: URL(fileURLWithPath: secretFile))
            guard let text = String(data: data, encoding: .utf8) else {
                throw CommandFailure.setup("\(secretFile): the secret must be UTF-8 text")
            }
            secret = text
        }
        let key = try await engine.createKey(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            type: type.type, name: name, description: description, autoRotationPeriod: rotationPeriod,
            secretValue: secret, actor: commandLineActor)
        if quiet {
            print(key.id)
        } else {
            try printKey(key, versions: try await engine.storage.versions(keyId: key.id), json: output.json)
        }
    }
}
