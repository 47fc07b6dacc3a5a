import ArgumentParser
import Foundation
import SKMCore
import SKMPrimitives
import SKMStorage

/// Where the installation lives: the database and the root key.
struct InstallationOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The SQLite database file, or a PostgreSQL URL postgres://USER@HOST:PORT/DATABASE (default: SKM_DB, "
                + "else .skm/skm.sqlite).", valueName: "path|url"))
    var db: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A file holding the PostgreSQL password (default: SKM_DB_PASSWORD_FILE; or the password itself in "
                + "SKM_DB_PASSWORD).", valueName: "path"))
    var dbPasswordFile: String?

    @Option(name: .long, help: ArgumentHelp("The root key file (ignored when SKM_ROOT_KEY is set).", valueName: "path"))
    var rootKeyFile: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// `--db`, else `SKM_DB`, else `.skm/skm.sqlite`. Logs and reports may show it: a PostgreSQL URL holding a
    /// password is refused before it is used.
    var database: String {
        db ?? environment["SKM_DB"] ?? ".skm/skm.sqlite"
    }

    /// Whether the database is PostgreSQL's rather than an SQLite file.
    var isPostgres: Bool { PostgresStorage.Location.isURL(database) }

    /// The directory of files kept beside the database (the root key, the request log): the SQLite file's
    /// directory, or `.skm` for PostgreSQL.
    var localDirectory: URL {
        isPostgres
            ? URL(fileURLWithPath: ".skm") : URL(fileURLWithPath: database).deletingLastPathComponent()
    }

    /// `--root-key-file`, else `SKM_ROOT_KEY_FILE`, else `root.key` in ``localDirectory``.
    var rootKeyPath: String {
        rootKeyFile ?? environment["SKM_ROOT_KEY_FILE"] ?? localDirectory.appendingPathComponent("root.key").path
    }

    func rootKey() throws -> RootKey {
        if let text = environment["SKM_ROOT_KEY"] {
            do {
                return try RootKey(encoded: text)
            } catch {
                throw CommandFailure.setup("SKM_ROOT_KEY: \(error.reason)")
            }
        }
        guard FileManager.default.fileExists(atPath: rootKeyPath) else {
            throw CommandFailure.setup(
                "no root key at \(rootKeyPath): give the installation's root key (the file `skm init` wrote when the "
                    + "database was set up; on another node, a copy of it) with SKM_ROOT_KEY_FILE, --root-key-file "
                    + "or SKM_ROOT_KEY; `skm init` makes one for a new database only")
        }
        return try RootKey(contentsOf: URL(fileURLWithPath: rootKeyPath))
    }

    /// The PostgreSQL password: from the file `--db-password-file` or `SKM_DB_PASSWORD_FILE` names, else
    /// `SKM_DB_PASSWORD`, else none (a server that trusts the connection). Never from the command line itself.
    func databasePassword() throws -> String? {
        if let file = dbPasswordFile ?? environment["SKM_DB_PASSWORD_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                return String(text.trimmingTrailingLineBreaks)
            } catch {
                let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
                throw CommandFailure.setup("cannot read the database password file \(file): \(reason)")
            }
        }
        return environment["SKM_DB_PASSWORD"]
    }

    /// The installation's storage. With `create`, an SQLite file that does not exist yet is created (`skm init`);
    /// otherwise it must exist.
    func openStorage(readOnly: Bool = false, create: Bool = false) async throws -> any Storage {
        if isPostgres {
            let location: PostgresStorage.Location
            do {
                location = try PostgresStorage.Location(url: database)
            } catch {
                throw CommandFailure.usage("\(db == nil ? "SKM_DB" : "--db"): \(error.reason)")
            }
            return try await PostgresStorage(location: location, password: try databasePassword(), readOnly: readOnly)
        }
        guard create || FileManager.default.fileExists(atPath: database) else {
            throw CommandFailure.setup("no database at \(database): run `skm init` or pass --db")
        }
        return try SQLiteStorage(path: database, readOnly: readOnly)
    }

    /// The engine of an initialised installation.
    func openEngine(clock: EngineClock = .system) async throws -> Engine {
        let storage = try await openStorage()
        return try await Engine.open(storage: storage, rootKey: try rootKey(), configuration: .init(clock: clock))
    }
}

/// `--json` for machine-readable output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}

/// The name recorded in audit events for changes made from this command line. A `USER` that is not a user name
/// (control characters, spaces, over 64 characters) stops the command: it would be written into the audit log and
/// shown as someone it is not.
var commandLineActor: String {
    if let user = ProcessInfo.processInfo.environment["USER"], !user.isEmpty {
        guard Engine.isUserName(Substring(user)) else {
            Terminal.error(
                "USER '\(Table.printable(String(user.prefix(80))))' is not a user name this command line can act as "
                    + "(1 to 64 letters, digits, '.', '_', '-' or '@')")
            exit(2)
        }
        return "cli:\(user)"
    }
    if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return "cli:\(String(cString: name))" }
    return "cli:uid\(getuid())"
}

/// Resolves the appkey: the one given, or the only one in the installation.
func resolveAppkey(_ given: String?, engine: Engine) async throws -> String {
    if let given {
        // Named but unknown: say so, rather than that the key store or key is not in it.
        guard try await engine.storage.appkey(id: given) != nil else {
            throw CommandFailure.usage("no appkey '\(given.prefix(64))' in this installation (skm appkey list)")
        }
        return given
    }
    let appkeys = try await engine.storage.appkeys()
    switch appkeys.count {
    case 1: return appkeys[0].id
    case 0: throw CommandFailure.usage("no appkey yet: create one with `skm appkey create --name NAME`")
    default: throw CommandFailure.usage("this installation has \(appkeys.count) appkeys: pass --appkey")
    }
}

/// A key store named on the command line: digits are an id, anything else a name.
func keyStoreReference(_ text: String) -> KeyStoreReference {
    if let id = Int(text), !text.isEmpty, text.allSatisfy(\.isNumber) { return .id(id) }
    return .name(text)
}

/// A key store named on the command line, deleted ones included when named by id (a name finds the live one).
func shownKeyStore(_ text: String, appkey: String, engine: Engine) async throws -> KeyStore {
    let stores = try await engine.storage.keyStores(appkey: appkey)
    let store: KeyStore?
    switch keyStoreReference(text) {
    case .id(let id): store = stores.first { $0.id == id }
    case .name(let name): store = stores.first { $0.name == name && $0.status == .active }
    }
    guard let store else {
        throw Rejection(.keyStoreKnown, "no key store \(keyStoreReference(text)) in this appkey")
    }
    return store
}

/// The appkey that owns a key, for commands that name only the key.
func appkeyOwning(key keyId: String, given: String?, engine: Engine) async throws -> String {
    if let given { return try await resolveAppkey(given, engine: engine) }
    guard ManagedKey.isWellFormedID(keyId), let key = try await engine.storage.key(id: keyId) else {
        throw Rejection(.keyExists, "no key '\(keyId.prefix(64))'")
    }
    return key.appkey
}

/// Options for commands that act inside one appkey.
struct AppkeyOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The appkey (default: the only one).", valueName: "appkey"))
    var appkey: String?
}
