import ArgumentParser
import Foundation
import SKMCore
import SKMStorage

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new installation: database, system key and certificate authority.",
        discussion: """
            Without SKM_ROOT_KEY, a new root key is written to the root key file (mode 0600) unless that file exists. \
            Keep the root key apart from the database: whoever has both has every key.
            """)

    @OptionGroup var installation: InstallationOptions

    @Option(help: "The common name of the installation's client CA.")
    var caName = "SKM Client CA"

    func run() async throws {
        // The SQLite file's directory; with PostgreSQL, the root key file's, unless the key comes from the environment.
        let rootKeyDirectory = URL(fileURLWithPath: installation.rootKeyPath).deletingLastPathComponent()
        let usesKeyFile = installation.environment["SKM_ROOT_KEY"] == nil
        if let directory = installation.isPostgres
            ? (usesKeyFile ? rootKeyDirectory : nil) : installation.localDirectory
        {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let rootKey: RootKey
        // A new root key is written beside its final name first and takes that name only once the database is
        // initialised with it: a refused initialisation (the database was initialised meanwhile, a wrong password)
        // leaves no key file that opens nothing.
        var pendingKeyFile: URL?
        if installation.environment["SKM_ROOT_KEY"] != nil {
            rootKey = try installation.rootKey()
        } else if FileManager.default.fileExists(atPath: installation.rootKeyPath) {
            rootKey = try installation.rootKey()
            Terminal.note("using the existing root key \(installation.rootKeyPath)")
        } else {
            rootKey = RootKey.generate()
            let pending = URL(fileURLWithPath: installation.rootKeyPath + ".new-\(getpid())")
            try rootKey.write(to: pending)
            pendingKeyFile = pending
        }
        defer { if let pendingKeyFile { unlink(pendingKeyFile.path) } }
        let storage = try await installation.openStorage(create: true)
        let engine = try await Engine.initialize(storage: storage, rootKey: rootKey, authorityName: caName)
        if let pending = pendingKeyFile {
            // link(2) refuses to replace a file another process created meanwhile.
            guard link(pending.path, installation.rootKeyPath) == 0 else {
                // The only copy of the key that opens the database: kept where it is.
                pendingKeyFile = nil
                throw CommandFailure.setup(
                    "the database is initialised, but its root key could not be written to "
                        + "\(installation.rootKeyPath) (\(String(cString: strerror(errno)))): it is in "
                        + "\(pending.path); move it there by hand")
            }
            Terminal.note("wrote a new root key to \(installation.rootKeyPath) (mode 0600)")
        }
        print("Initialised \(installation.database)")
        print("CA: \(engine.authority.certificate.subject) (SHA-256 \(engine.authority.certificate.sha256Fingerprint))")
    }
}
