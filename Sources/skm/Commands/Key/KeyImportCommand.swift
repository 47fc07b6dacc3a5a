import ArgumentParser
import Foundation
import SKMCore

struct KeyImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an AES-256 key: 32 bytes you already have become a symmetric key of a key store.",
        discussion: """
            The key material is read from a file (or standard input), never from the command line, where the shell \
            history and the process list would keep it. The file holds the 32 bytes as SKM's console writes them \
            (0x1F, 0xA0, … separated by commas or spaces), as 64 hexadecimal digits, or in standard Base64 (the \
            padding may be left out); whitespace around them, or inside hexadecimal and Base64, is ignored.

            An imported key never rotates, on request or automatically: its only material is the one given.
            """)

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "The key's name.")
    var name: String

    @Option(help: "A description.")
    var description: String = ""

    @Option(
        help: ArgumentHelp("A file holding the key's 32 bytes; - reads standard input.", valueName: "path"))
    var materialFile: String

    @Flag(name: .shortAndLong, help: "Print only the new key's id.")
    var quiet = false

    func run() async throws {
        // At most one byte past the limit is read: a huge or endless input (/dev/zero) is refused, not loaded. A FIFO
        // or a process substitution reads as a file does.
        let data: Data
        do {
            var isDirectory: ObjCBool = false
            if materialFile != "-", FileManager.default.fileExists(atPath: materialFile, isDirectory: &isDirectory),
                isDirectory.boolValue
            {
                throw CommandFailure.setup("\(materialFile): is a directory")
            }
            let handle =
                materialFile == "-"
                ? FileHandle.standardInput : try FileHandle(forReadingFrom: URL(fileURLWithPath: materialFile))
            defer { if materialFile != "-" { try? handle.close() } }
            data = try handle.read(upToCount: 4097) ?? Data()
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure.setup("\(materialFile): cannot read the key material")
        }
        guard data.count <= 4096, let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure.setup(
                "\(materialFile): the key material must be text of at most 4096 bytes (0xXX bytes, hexadecimal or Base64)"
            )
        }
        let material: Data
        switch ImportedKeyMaterial.parse(text) {
        case .success(let bytes): material = bytes
        case .failure(let problem):
            throw CommandFailure.setup("\(materialFile): the key material \(problem.reason)")
        }
        let engine = try await installation.openEngine()
        let key = try await engine.importSymmetricKey(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            name: name, description: description, material: material, actor: commandLineActor)
        if quiet {
            print(key.id)
        } else {
            try printKey(key, versions: try await engine.storage.versions(keyId: key.id), json: output.json)
        }
    }
}
