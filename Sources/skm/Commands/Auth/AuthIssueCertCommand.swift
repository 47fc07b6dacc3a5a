import ArgumentParser
import Foundation
import SKMCore
import SKMPrimitives

struct AuthIssueCertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue-cert",
        abstract: "Issue a client certificate from this installation's CA and register it in a key store.",
        discussion: "Download it as PKCS#12 with `skm cert export`.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "The certificate's name (its common name).")
    var name: String

    @Option(
        help: ArgumentHelp(
            "A file whose first line is the PKCS#12 password; - reads standard input.", valueName: "path"))
    var passwordFile: String

    @Option(help: "Lifetime in days (1 to 3650).")
    var lifetime: Int = 365

    @Option(help: "A description.")
    var description: String = ""

    func run() async throws {
        let engine = try await installation.openEngine()
        let password = try readPassword(passwordFile)
        let entry = try await engine.issueCertificate(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            name: name, password: password, lifetimeDays: lifetime, description: description, actor: commandLineActor)
        try printEntry(entry, json: output.json)
    }
}

/// The first line of a file (or standard input for `-`), without its line ending.
func readPassword(_ path: String) throws -> String {
    let data =
        path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
    guard let text = String(data: data, encoding: .utf8) else {
        throw CommandFailure.setup("\(path): the password must be UTF-8")
    }
    return String(text.firstLine)
}
