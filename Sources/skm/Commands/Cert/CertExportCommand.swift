import ArgumentParser
import Foundation
import SKMCore

struct CertExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an issued certificate, its key and the CA certificate as a PKCS#12 file (mode 0600).",
        discussion: "Java's KeyStore (PKCS12), Python's cryptography and `openssl pkcs12` read the file.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "The certificate's name.")
    var name: String

    @Option(help: ArgumentHelp("Where to write the PKCS#12 file.", valueName: "path"))
    var out: String

    @Option(
        help: ArgumentHelp(
            "A file whose first line is the password to protect the file with (default: the password chosen at issue).",
            valueName: "path"))
    var passwordFile: String?

    func run() async throws {
        let engine = try await installation.openEngine()
        let bytes = try await engine.exportCertificate(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            name: name,
            password: try passwordFile.map(readPassword))
        guard FileManager.default.createFile(atPath: out, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        else {
            throw CommandFailure.setup("cannot write \(out)")
        }
        print("Wrote \(out) (\(bytes.count) bytes)")
    }
}
