import Foundation
import GRDB
import SKMCore

/// The default storage: one SQLite file through GRDB, in WAL mode with `synchronous=FULL`, so that a commit the
/// engine acknowledged survives a crash or power loss.
///
/// Every ``commit(_:)`` is one SQLite transaction. Updates carry the revision they were computed from; a row that
/// moved on fails the whole transaction with a conflict, which the engine answers by re-reading and retrying.
package final class SQLiteStorage: Storage {
    /// `PRAGMA application_id` of an SKM database ("SKM1"), so that another application's file is refused.
    static let applicationID: Int32 = 0x534B_4D31

    let pool: any DatabaseWriter
    package let path: String
    /// Whether this storage only reads: every commit fails.
    package let readOnly: Bool

    /// Opens (creating when absent, owner-readable only) the database at `path` and brings its schema up to date.
    /// With `readOnly`, opens an existing database without writing to it in any way: no schema change, no
    /// application id, every commit refused (what analysing a copy of a customer's database needs).
    package init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.readonly = readOnly
        if !readOnly {
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
        }
        do {
            if readOnly {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw StorageError(.unusable, "no database at \(path)")
                }
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                try Self.checkReadable(queue, path: path)
                pool = queue
            } else {
                // SQLite gives the -wal and -shm files the database file's permissions: create it 0600 first.
                try Self.createPrivately(path)
                let pool = try DatabasePool(path: path, configuration: configuration)
                try Self.checkApplication(pool, path: path)
                try Self.migrator.migrate(pool)
                self.pool = pool
            }
        } catch let error as StorageError {
            throw error
        } catch let error as DatabaseError {
            throw StorageError(
                .unusable, "\(path) is not a usable SKM database: \(error.message ?? "\(error.resultCode)")")
        } catch {
            throw StorageError(.unusable, "cannot open \(path): \(error)")
        }
    }

    /// Copies every committed page from the write-ahead log into the database file and empties the log, so that
    /// after a clean shutdown the database file alone holds everything (an operator who copies only `skm.sqlite`
    /// loses nothing).
    package func checkpoint() throws {
        guard !readOnly else { return }
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// Creates an empty file at `path`, readable and writable by its owner only, unless one exists.
    private static func createPrivately(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            close(descriptor)
        } else if errno != EEXIST {
            throw StorageError(.unusable, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A read-only database must already be an SKM database with its schema up to date: nothing may be changed.
    private static func checkReadable(_ queue: DatabaseQueue, path: String) throws {
        try queue.read { db in
            let identifier = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            guard identifier == applicationID else {
                throw StorageError(.unusable, "\(path) is not an SKM database")
            }
            guard try migrator.hasCompletedMigrations(db) else {
                throw StorageError(
                    .unusable,
                    "\(path) has an older schema; open it once with `skm keystore list --db …` (which updates it), "
                        + "or analyse a state snapshot exported from it")
            }
        }
    }

    private static func checkApplication(_ pool: DatabasePool, path: String) throws {
        try pool.write { db in
            let identifier = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let tableCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
            if identifier == 0 && tableCount == 0 {
                try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            } else if identifier != applicationID {
                throw StorageError(
                    .unusable, "\(path) is an SQLite database of another application, not an SKM database")
            }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-initial") { db in
            try db.execute(sql: Schema.initial)
        }
        migrator.registerMigration("2-imported-keys") { db in
            try db.execute(sql: Schema.importedKeys)
        }
        migrator.registerMigration("3-call-counts") { db in
            try db.execute(sql: Schema.callCounts)
        }
        return migrator
    }

    // MARK: - Reads

    package func setting(_ name: String) async throws -> Data? {
        try await read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM settings WHERE name = ?", arguments: [name])
        }
    }

    package func settings(prefix: String) async throws -> [String: Data] {
        try await read { db in
            var found: [String: Data] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT name, value FROM settings WHERE name >= ? AND name < ?",
                arguments: [prefix, prefix + "\u{FFFF}"])
            {
                let name: String = row["name"]
                if name.hasPrefix(prefix) { found[name] = row["value"] }
            }
            return found
        }
    }

    package func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int {
        try await write { db in
            try Int.fetchOne(
                db,
                sql: """
                    INSERT INTO sequences (name, value) VALUES (?, 1)
                    ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value
                    """, arguments: [sequence.rawValue])!
        }
    }

    package func appkey(id: String) async throws -> Appkey? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM appkeys WHERE id = ?", arguments: [id]).map(Rows.appkey)
        }
    }

    package func appkeys() async throws -> [Appkey] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM appkeys ORDER BY id").map(Rows.appkey) }
    }

    package func userAccessKey(id: String) async throws -> UserAccessKey? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM user_access_keys WHERE id = ?", arguments: [id]).map(
                Rows.userAccessKey)
        }
    }

    package func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM user_access_keys WHERE appkey = ? ORDER BY id", arguments: [appkey]
            )
            .map(Rows.userAccessKey)
        }
    }

    package func keyStore(id: Int) async throws -> KeyStore? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM key_stores WHERE id = ?", arguments: [id]).map(Rows.keyStore)
        }
    }

    package func keyStores(appkey: String) async throws -> [KeyStore] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM key_stores WHERE appkey = ? ORDER BY id", arguments: [appkey])
                .map(Rows.keyStore)
        }
    }

    package func key(id: String) async throws -> ManagedKey? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM managed_keys WHERE id = ?", arguments: [id]).map(Rows.key)
        }
    }

    package func keys(keyStoreId: Int) async throws -> [ManagedKey] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM managed_keys WHERE key_store_id = ? ORDER BY created_at, id",
                arguments: [keyStoreId]
            ).map(Rows.key)
        }
    }

    package func versions(keyId: String) async throws -> [KeyVersion] {
        try await read { db in try Self.versions(db, keyId: keyId) }
    }

    static func versions(_ db: Database, keyId: String) throws -> [KeyVersion] {
        try Row.fetchAll(db, sql: "SELECT * FROM key_versions WHERE key_id = ? ORDER BY number", arguments: [keyId])
            .map(Rows.version)
    }

    package func authEntry(id: Int) async throws -> AuthEntry? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM auth_entries WHERE id = ?", arguments: [id]).map(Rows.authEntry)
        }
    }

    package func authEntries(keyStoreId: Int) async throws -> [AuthEntry] {
        try await read { db in try Self.authEntries(db, keyStoreId: keyStoreId) }
    }

    static func authEntries(_ db: Database, keyStoreId: Int) throws -> [AuthEntry] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM auth_entries WHERE key_store_id = ? ORDER BY id", arguments: [keyStoreId]
        )
        .map(Rows.authEntry)
    }

    package func sealedItem(_ context: SealContext) async throws -> Data? {
        try await read { db in
            try Data.fetchOne(db, sql: "SELECT data FROM sealed_items WHERE label = ?", arguments: [context.label])
        }
    }

    package func keyContext(keyId: String) async throws -> KeyContext? {
        try await read { db in
            guard
                let key = try Row.fetchOne(db, sql: "SELECT * FROM managed_keys WHERE id = ?", arguments: [keyId]).map(
                    Rows.key)
            else { return nil }
            let store = try Row.fetchOne(db, sql: "SELECT * FROM key_stores WHERE id = ?", arguments: [key.keyStoreId])
                .map(Rows.keyStore)
            var material: [Int: Data] = [:]
            let prefix = "key/\(keyId)/"
            for row in try Row.fetchAll(
                db, sql: "SELECT label, data FROM sealed_items WHERE label >= ? AND label < ?",
                arguments: [prefix, prefix + "\u{FFFF}"])
            {
                let label: String = row["label"]
                if let number = Int(label.dropFirst(prefix.count)) { material[number] = row["data"] }
            }
            return KeyContext(
                key: key, store: store, versions: try Self.versions(db, keyId: keyId),
                authEntries: try Self.authEntries(db, keyStoreId: key.keyStoreId), sealedMaterial: material)
        }
    }

    package func events(after sequence: Int, limit: Int) async throws -> [AuditEvent] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?",
                arguments: [sequence, limit]
            ).map(Rows.event)
        }
    }

    package func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] {
        try await read { db in
            var counts: [UsageCell: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT * FROM call_counts WHERE appkey = ? AND day >= ? AND day <= ?",
                arguments: [appkey, from, through])
            {
                counts[try Rows.usageCell(row), default: 0] += try row.int("count")
            }
            return counts
        }
    }

    package func dueWork(at now: Date) async throws -> DueWork {
        let cutoff = now.millisecondsSince1970
        return try await read { db in
            DueWork(
                keysToPurge: try Row.fetchAll(
                    db,
                    sql:
                        "SELECT * FROM managed_keys WHERE status = 'PENDING_DELETION' AND deletion_at <= ? ORDER BY id",
                    arguments: [cutoff]
                ).map(Rows.key),
                versionsToPurge: try Row.fetchAll(
                    db,
                    sql:
                        "SELECT * FROM key_versions WHERE status = 'PENDING_DELETION' AND deletion_at <= ? ORDER BY key_id, number",
                    arguments: [cutoff]
                ).map(Rows.version),
                entriesToPurge: try Row.fetchAll(
                    db,
                    sql:
                        "SELECT * FROM auth_entries WHERE status = 'PENDING_DELETION' AND deletion_at <= ? ORDER BY id",
                    arguments: [cutoff]
                ).map(Rows.authEntry),
                keysToRotate: try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM managed_keys WHERE status = 'ACTIVE' AND auto_rotation_period > 0
                        AND next_rotation_at <= ? ORDER BY id
                        """, arguments: [cutoff]
                ).map(Rows.key))
        }
    }

    package func exportState() async throws -> StoredState {
        try await read { db in
            var state = StoredState()
            state.appkeys = try Row.fetchAll(db, sql: "SELECT * FROM appkeys ORDER BY id").map(Rows.appkey)
            state.userAccessKeys = try Row.fetchAll(db, sql: "SELECT * FROM user_access_keys ORDER BY id").map(
                Rows.userAccessKey)
            state.keyStores = try Row.fetchAll(db, sql: "SELECT * FROM key_stores ORDER BY id").map(Rows.keyStore)
            state.keys = try Row.fetchAll(db, sql: "SELECT * FROM managed_keys ORDER BY id").map(Rows.key)
            state.versions = try Row.fetchAll(db, sql: "SELECT * FROM key_versions ORDER BY key_id, number").map(
                Rows.version)
            state.authEntries = try Row.fetchAll(db, sql: "SELECT * FROM auth_entries ORDER BY id").map(Rows.authEntry)
            state.events = try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY sequence").map(Rows.event)
            return state
        }
    }

    // MARK: - Writes

    package func commit(_ changes: ChangeSet) async throws {
        guard !changes.isEmpty else { return }
        let acting = changes.actingAccessKeys
        try await write { db in
            for id in acting {
                let status = try String.fetchOne(
                    db, sql: "SELECT status FROM user_access_keys WHERE id = ?", arguments: [id])
                guard status == AccessKeyStatus.inService.rawValue else {
                    throw StorageError(
                        .actorRevoked, "User Access Key \(id) was revoked before the change was committed")
                }
            }
            for mutation in changes.mutations {
                try Writes.apply(mutation, db)
            }
        }
    }

    // MARK: - Plumbing

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw Self.translate(error)
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if readOnly { throw StorageError(.unusable, "\(path) was opened read-only") }
        do {
            return try await pool.write(body)
        } catch let error as DatabaseError {
            throw Self.translate(error)
        }
    }

    static func translate(_ error: DatabaseError) -> any Error {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            let message = error.message ?? ""
            if message.contains("key_stores.appkey") {
                return StorageError(.duplicate, "a key store of that name already exists")
            }
            if message.contains("auth_entries.key_store_id") {
                return StorageError(.duplicate, "that value is already registered in the key store")
            }
            return StorageError(.duplicate, "the row already exists")
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            return StorageError(.missing, "a referenced row does not exist")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StorageError(.unusable, "the database file is damaged")
        default:
            return StorageError(.unusable, "SQLite error \(error.resultCode): \(error.message ?? "unknown")")
        }
    }
}
