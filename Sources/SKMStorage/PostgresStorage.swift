import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SKMCore
import SKMPrimitives

/// The storage for several `skm serve` nodes: one PostgreSQL database, reached through a connection pool.
///
/// It keeps SQLite's guarantees. Every ``commit(_:)`` is one `SERIALIZABLE` transaction: the revision checks, the
/// key-store checks and the acting User Access Key's status are read in it, and PostgreSQL fails it (serialization
/// failure, answered as ``StorageErrorCode/conflict`` so the engine re-reads and retries) when a concurrent
/// transaction changed what it read, on this node or another. Every change of state first takes one lock for all
/// nodes, before its snapshot: changes commit one at a time, each seeing the one before it, so events are numbered in
/// the order their transactions commit and the acting User Access Key is read after any revocation that committed
/// first. A commit that changes the state notifies the other nodes (`NOTIFY skm_changes`), which empty their caches
/// (``listenForChanges(_:)``). Reads never wait for that lock.
package final class PostgresStorage: Storage {
    /// Where the database is, without the password: what logs and errors may show.
    package struct Location: Sendable, Hashable, CustomStringConvertible {
        /// TLS to the database, as libpq's `sslmode` names it.
        package enum TLSMode: String, Sendable {
            /// Plain TCP.
            case disable
            /// TLS when the server offers it, plain TCP otherwise; the server's certificate is not checked.
            case prefer
            /// TLS; the server's certificate is not checked (it protects against eavesdropping, not impersonation).
            case require
            /// TLS with a certificate issued by a trusted authority (`sslrootcert`, or the system's), any name.
            case verifyCA = "verify-ca"
            /// TLS with a trusted certificate that names the host.
            case verifyFull = "verify-full"
        }

        package var host: String
        package var port: Int
        package var username: String
        package var database: String
        package var tls: TLSMode
        /// The authorities `verify-ca` and `verify-full` trust (PEM); the system's when `nil`.
        package var rootCertificates: String?

        package var description: String {
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "postgres://\(PrintableText.escaped(username))@\(PrintableText.escaped(shownHost)):\(port)/"
                + PrintableText.escaped(database)
        }

        /// Whether `text` is meant as a PostgreSQL URL rather than an SQLite file: its scheme, in any case, is
        /// `postgres` or `postgresql` (`postgres:skm@…`, without `//`, is a malformed URL, not a file name).
        package static func isURL(_ text: String) -> Bool {
            let lower = text.prefix(12).lowercased()
            return lower.hasPrefix("postgres:") || lower.hasPrefix("postgresql:")
        }

        static let usage = "postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…]"

        /// Reads `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE]`. A password in the URL is
        /// refused: a URL is given on command lines and shown in process lists and logs. Every part is
        /// percent-decoded once; a port outside 1–65535, a fragment, or a name PostgreSQL would cut is refused.
        package init(url text: String) throws(StorageError) {
            guard Self.isURL(text), let schemeEnd = text.range(of: "://"),
                ["postgres", "postgresql"].contains(text[..<schemeEnd.lowerBound].lowercased()),
                let components = URLComponents(string: "postgres" + text[schemeEnd.lowerBound...])
            else {
                throw StorageError(.unusable, "not a PostgreSQL URL (\(Self.usage))")
            }
            guard components.password == nil else {
                throw StorageError(
                    .unusable,
                    "the PostgreSQL URL holds a password; give it in a file named by SKM_DB_PASSWORD_FILE (or the "
                        + "--db-password-file option of the commands that change the database), or in SKM_DB_PASSWORD")
            }
            guard components.fragment == nil else {
                throw StorageError(
                    .unusable, "the PostgreSQL URL has a '#' part, which SKM does not read (\(Self.usage))")
            }
            guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
                throw StorageError(.unusable, "the PostgreSQL URL names no user (\(Self.usage))")
            }
            guard var host = components.percentEncodedHost?.removingPercentEncoding, !host.isEmpty else {
                throw StorageError(.unusable, "the PostgreSQL URL names no host (\(Self.usage))")
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.unicodeScalars.contains(where: { $0.value < 0x21 || $0 == "\u{7F}" || $0 == "/" }) else {
                throw StorageError(.unusable, "the PostgreSQL URL's host holds a space, a control character or '/'")
            }
            let path = String(
                components.percentEncodedPath.dropFirst(components.percentEncodedPath.hasPrefix("/") ? 1 : 0))
            guard !path.isEmpty, !path.contains("/"), let database = path.removingPercentEncoding, !database.isEmpty
            else {
                throw StorageError(.unusable, "the PostgreSQL URL names no database (\(Self.usage))")
            }
            for (part, value) in [("user", user), ("database", database)] {
                guard value.utf8.count <= 63,
                    !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{7F}" })
                else {
                    throw StorageError(
                        .unusable,
                        "the PostgreSQL URL's \(part) name is longer than PostgreSQL's 63 bytes or holds a control "
                            + "character")
                }
            }
            let port = components.port ?? 5432
            guard (1...65535).contains(port) else {
                throw StorageError(.unusable, "the PostgreSQL URL's port \(port) is not from 1 to 65535")
            }
            var tls = TLSMode.prefer
            var rootCertificates: String?
            for item in components.queryItems ?? [] {
                switch (item.name, item.value) {
                case ("sslmode", let value?) where TLSMode(rawValue: value) != nil:
                    tls = TLSMode(rawValue: value) ?? .prefer
                case ("sslrootcert", let value?) where !value.isEmpty:
                    rootCertificates = value
                default:
                    throw StorageError(
                        .unusable,
                        "the PostgreSQL URL's parameter '\(PrintableText.escaped(String(item.name.prefix(40))))' is not "
                            + "one SKM reads (sslmode=disable, prefer, require, verify-ca or verify-full; sslrootcert=FILE)"
                    )
                }
            }
            if rootCertificates != nil, tls != .verifyCA, tls != .verifyFull {
                throw StorageError(
                    .unusable, "sslrootcert is read with sslmode=verify-ca or verify-full only; add one of them")
            }
            self.host = host
            self.port = port
            self.username = user
            self.database = database
            self.tls = tls
            self.rootCertificates = rootCertificates
        }

        /// The TLS configuration of this mode, or `nil` for plain TCP.
        func tlsConfiguration() -> TLSConfiguration? {
            var configuration = TLSConfiguration.makeClientConfiguration()
            switch tls {
            case .disable: return nil
            case .prefer, .require: configuration.certificateVerification = .none
            case .verifyCA: configuration.certificateVerification = .noHostnameVerification
            case .verifyFull: configuration.certificateVerification = .fullVerification
            }
            if let rootCertificates { configuration.trustRoots = .file(rootCertificates) }
            return configuration
        }
    }

    package let location: Location
    /// Whether this storage only reads: every commit fails, and the database refuses writes too.
    package let readOnly: Bool
    let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    /// Called inside every commit's transaction after its writes, before it commits: lets a test hold two commits
    /// open at once, as two nodes racing would. `nil` outside such tests.
    private let beforeCommit: (@Sendable () async -> Void)?

    /// Every session's settings. A node that stops in the middle of a transaction (frozen, cut off) would hold the
    /// write lock until its connection timed out, hours later: PostgreSQL ends such a transaction after 10 s, and
    /// a write waits at most 15 s for the lock before it fails instead of hanging.
    static func sessionParameters(lockTimeout: Duration) -> [(String, String)] {
        [
            ("application_name", "skm"), ("idle_in_transaction_session_timeout", "10000"),
            (
                "lock_timeout",
                String(
                    lockTimeout.components.seconds * 1000 + lockTimeout.components.attoseconds / 1_000_000_000_000_000)
            ),
        ]
    }

    /// The channel commits notify and nodes listen on.
    static let changesChannel = "skm_changes"
    /// The advisory lock migrations take.
    static let migrationLock = Int64(bitPattern: FNV1a.hash("skm:migrations".utf8))

    /// Connects to the database at `location` and brings its schema up to date (several nodes may start at once:
    /// one migrates, the others wait). With `readOnly`, changes nothing: the schema must be current, and every
    /// transaction is read-only.
    package init(
        location: Location, password: String?, readOnly: Bool = false, maximumConnections: Int = 20,
        lockTimeout: Duration = .seconds(15),
        logger: Logger = Logger(label: "skm.postgres", factory: { _ in SwiftLogNoOpLogHandler() }),
        beforeCommit: (@Sendable () async -> Void)? = nil
    ) async throws {
        self.location = location
        self.readOnly = readOnly
        self.logger = logger
        self.beforeCommit = beforeCommit
        let tls: PostgresClient.Configuration.TLS
        switch (location.tls, location.tlsConfiguration()) {
        case (.prefer, let configuration?): tls = .prefer(configuration)
        case (_, let configuration?): tls = .require(configuration)
        case (_, nil): tls = .disable
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: password,
            database: location.database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = Self.sessionParameters(lockTimeout: lockTimeout)
        if readOnly {
            configuration.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        // The pool retries a connection it cannot open for about a minute and then does not say why (a refused
        // login, a missing database): one direct connection first tells at once.
        if let reason = await Self.connectionFailure(location: location, password: password, logger: logger) {
            runner.cancel()
            throw reason
        }
        do {
            if readOnly {
                try await checkCurrent()
            } else {
                try await migrate()
            }
        } catch {
            runner.cancel()
            throw error
        }
    }

    /// Why a direct connection to `location` fails, or `nil` when it succeeds.
    private static func connectionFailure(location: Location, password: String?, logger: Logger) async -> (any Error)? {
        do {
            let tls: PostgresConnection.Configuration.TLS
            switch (location.tls, location.tlsConfiguration()) {
            case (.prefer, let configuration?): tls = .prefer(try NIOSSLContext(configuration: configuration))
            case (_, let configuration?): tls = .require(try NIOSSLContext(configuration: configuration))
            case (_, nil): tls = .disable
            }
            var configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.username, password: password,
                database: location.database, tls: tls)
            configuration.options.connectTimeout = .seconds(10)
            configuration.options.additionalStartupParameters = sessionParameters(lockTimeout: .seconds(15))
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
            return nil
        } catch {
            return translate(error, at: location)
        }
    }

    deinit {
        runner.cancel()
    }

    // MARK: - Schema

    /// Brings the schema up to date under an advisory lock. Read committed: a node that waited for the lock while
    /// another migrated sees that node's tables once it has it (a serializable snapshot would predate them).
    private func migrate() async throws {
        try await transaction(.readCommitted) { connection, logger in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            let tables = try await Self.tableNames(connection, logger: logger)
            if !tables.isEmpty && !tables.contains(PostgresSchema.migrationsTable) {
                throw StorageError(
                    .unusable,
                    "\(self.location) holds tables of another application (\(tables.sorted().prefix(3).joined(separator: ", "))); "
                        + "give SKM a database of its own")
            }
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS skm_migrations (name TEXT COLLATE "C" PRIMARY KEY, applied_at BIGINT NOT NULL)
                """, logger: logger)
            let applied = Set(
                try await connection.query("SELECT name FROM skm_migrations", logger: logger).collect().map {
                    try $0.decode(String.self)
                })
            for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO skm_migrations (name, applied_at) VALUES (\(migration.name), \(Date().millisecondsSince1970))",
                    logger: logger)
            }
        }
    }

    /// A read-only database must already have the current schema: nothing may be changed.
    private func checkCurrent() async throws {
        try await transaction(.snapshot) { connection, logger in
            let tables = try await Self.tableNames(connection, logger: logger)
            guard tables.contains(PostgresSchema.migrationsTable) else {
                throw StorageError(.unusable, "\(self.location) is not an SKM database")
            }
            let applied = Set(
                try await connection.query("SELECT name FROM skm_migrations", logger: logger).collect().map {
                    try $0.decode(String.self)
                })
            guard PostgresSchema.migrations.allSatisfy({ applied.contains($0.name) }) else {
                throw StorageError(
                    .unusable,
                    "\(self.location) has an older schema; open it once with `skm keystore list --db …` (which updates "
                        + "it), or analyse a state snapshot exported from it")
            }
        }
    }

    private static func tableNames(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        Set(
            try await connection.query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()", logger: logger
            ).collect().map { try $0.decode(String.self) })
    }

    // MARK: - Reads

    package func setting(_ name: String) async throws -> Data? {
        try await one("SELECT value FROM settings WHERE name = \(name)") { try $0.bytes("value") }
    }

    package func settings(prefix: String) async throws -> [String: Data] {
        // The range for the index; starts_with because under a linguistic collation the range can also hold names
        // that only sort alike (another appkey's, differing in case).
        let rows = try await all(
            """
            SELECT name, value FROM settings
            WHERE name >= \(prefix) AND name < \(prefix + "\u{FFFF}") AND starts_with(name, \(prefix))
            """
        ) { (try $0["name"].decode(String.self), try $0.bytes("value")) }
        return Dictionary(rows.filter { $0.0.hasPrefix(prefix) }, uniquingKeysWith: { first, _ in first })
    }

    /// The next number of `sequence`. One upsert, which locks the row: concurrent callers, on any node, each get
    /// their own number without a serialization failure (a number a failed change took is skipped).
    package func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int {
        if readOnly { throw StorageError(.unusable, "\(location) was opened read-only") }
        return try await transaction(.readCommitted) { connection, logger in
            let rows = try await connection.query(
                """
                INSERT INTO sequences (name, value) VALUES (\(sequence.rawValue), 1)
                ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value
                """, logger: logger
            ).collect()
            return Int(try rows[0].decode(Int64.self))
        }
    }

    package func appkey(id: String) async throws -> Appkey? {
        try await one("SELECT * FROM appkeys WHERE id = \(id)", Rows.appkey)
    }

    package func appkeys() async throws -> [Appkey] {
        try await all("SELECT * FROM appkeys ORDER BY id", Rows.appkey)
    }

    package func userAccessKey(id: String) async throws -> UserAccessKey? {
        try await one("SELECT * FROM user_access_keys WHERE id = \(id)", Rows.userAccessKey)
    }

    package func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        try await all("SELECT * FROM user_access_keys WHERE appkey = \(appkey) ORDER BY id", Rows.userAccessKey)
    }

    package func keyStore(id: Int) async throws -> KeyStore? {
        try await one("SELECT * FROM key_stores WHERE id = \(id)", Rows.keyStore)
    }

    package func keyStores(appkey: String) async throws -> [KeyStore] {
        try await all("SELECT * FROM key_stores WHERE appkey = \(appkey) ORDER BY id", Rows.keyStore)
    }

    package func key(id: String) async throws -> ManagedKey? {
        try await one("SELECT * FROM managed_keys WHERE id = \(id)", Rows.key)
    }

    package func keys(keyStoreId: Int) async throws -> [ManagedKey] {
        try await all(
            "SELECT * FROM managed_keys WHERE key_store_id = \(keyStoreId) ORDER BY created_at, id", Rows.key)
    }

    package func versions(keyId: String) async throws -> [KeyVersion] {
        try await all("SELECT * FROM key_versions WHERE key_id = \(keyId) ORDER BY number", Rows.version)
    }

    package func authEntry(id: Int) async throws -> AuthEntry? {
        try await one("SELECT * FROM auth_entries WHERE id = \(id)", Rows.authEntry)
    }

    package func authEntries(keyStoreId: Int) async throws -> [AuthEntry] {
        try await all("SELECT * FROM auth_entries WHERE key_store_id = \(keyStoreId) ORDER BY id", Rows.authEntry)
    }

    package func sealedItem(_ context: SealContext) async throws -> Data? {
        try await one("SELECT data FROM sealed_items WHERE label = \(context.label)") { try $0.bytes("data") }
    }

    package func keyContext(keyId: String) async throws -> KeyContext? {
        try await transaction(.snapshot) { connection, logger in
            guard
                let key = try await Self.rows(
                    "SELECT * FROM managed_keys WHERE id = \(keyId)", connection, logger, Rows.key
                ).first
            else { return nil }
            let store = try await Self.rows(
                "SELECT * FROM key_stores WHERE id = \(key.keyStoreId)", connection, logger, Rows.keyStore
            ).first
            let prefix = "key/\(keyId)/"
            var material: [Int: Data] = [:]
            for (label, data) in try await Self.rows(
                "SELECT label, data FROM sealed_items WHERE label >= \(prefix) AND label < \(prefix + "\u{FFFF}")",
                connection, logger, { (try $0.text("label"), try $0.bytes("data")) })
            {
                // Under a linguistic collation the range can hold labels that only sort alike.
                if label.hasPrefix(prefix), let number = Int(label.dropFirst(prefix.count)) { material[number] = data }
            }
            return KeyContext(
                key: key, store: store,
                versions: try await Self.rows(
                    "SELECT * FROM key_versions WHERE key_id = \(keyId) ORDER BY number", connection, logger,
                    Rows.version),
                authEntries: try await Self.rows(
                    "SELECT * FROM auth_entries WHERE key_store_id = \(key.keyStoreId) ORDER BY id", connection, logger,
                    Rows.authEntry),
                sealedMaterial: material)
        }
    }

    package func events(after sequence: Int, limit: Int) async throws -> [AuditEvent] {
        try await all("SELECT * FROM events WHERE sequence > \(sequence) ORDER BY sequence LIMIT \(limit)", Rows.event)
    }

    package func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] {
        var counts: [UsageCell: Int] = [:]
        for (cell, count) in try await all(
            "SELECT * FROM call_counts WHERE appkey = \(appkey) AND day >= \(from) AND day <= \(through)",
            { (try Rows.usageCell($0), try $0.int("count")) })
        {
            counts[cell, default: 0] += count
        }
        return counts
    }

    package func dueWork(at now: Date) async throws -> DueWork {
        let cutoff = now.millisecondsSince1970
        return try await transaction(.snapshot) { connection, logger in
            DueWork(
                keysToPurge: try await Self.rows(
                    """
                    SELECT * FROM managed_keys WHERE status = 'PENDING_DELETION' AND deletion_at <= \(cutoff) ORDER BY id
                    """, connection, logger, Rows.key),
                versionsToPurge: try await Self.rows(
                    """
                    SELECT * FROM key_versions WHERE status = 'PENDING_DELETION' AND deletion_at <= \(cutoff)
                    ORDER BY key_id, number
                    """, connection, logger, Rows.version),
                entriesToPurge: try await Self.rows(
                    """
                    SELECT * FROM auth_entries WHERE status = 'PENDING_DELETION' AND deletion_at <= \(cutoff) ORDER BY id
                    """, connection, logger, Rows.authEntry),
                keysToRotate: try await Self.rows(
                    """
                    SELECT * FROM managed_keys WHERE status = 'ACTIVE' AND auto_rotation_period > 0
                    AND next_rotation_at <= \(cutoff) ORDER BY id
                    """, connection, logger, Rows.key))
        }
    }

    package func exportState() async throws -> StoredState {
        try await transaction(.snapshot) { connection, logger in
            var state = StoredState()
            state.appkeys = try await Self.rows("SELECT * FROM appkeys ORDER BY id", connection, logger, Rows.appkey)
            state.userAccessKeys = try await Self.rows(
                "SELECT * FROM user_access_keys ORDER BY id", connection, logger, Rows.userAccessKey)
            state.keyStores = try await Self.rows(
                "SELECT * FROM key_stores ORDER BY id", connection, logger, Rows.keyStore)
            state.keys = try await Self.rows("SELECT * FROM managed_keys ORDER BY id", connection, logger, Rows.key)
            state.versions = try await Self.rows(
                "SELECT * FROM key_versions ORDER BY key_id, number", connection, logger, Rows.version)
            state.authEntries = try await Self.rows(
                "SELECT * FROM auth_entries ORDER BY id", connection, logger, Rows.authEntry)
            state.events = try await Self.rows("SELECT * FROM events ORDER BY sequence", connection, logger, Rows.event)
            return state
        }
    }

    // MARK: - Writes

    package func commit(_ changes: ChangeSet) async throws {
        guard !changes.isEmpty else { return }
        let acting = changes.actingAccessKeys.sorted()
        // The last use of keys and entries decides nothing a cache holds and only moves forward: it needs no lock,
        // and only real changes wake the other nodes.
        let changesState = changes.mutations.contains {
            switch $0 {
            case .recordAccess, .addCallCounts: false
            default: true
            }
        }
        let body: (PostgresConnection, Logger) async throws -> Void = { connection, logger in
            for id in acting {
                let status = try await Self.rows(
                    "SELECT status FROM user_access_keys WHERE id = \(id)", connection, logger,
                    { try $0.text("status") }
                ).first
                guard status == AccessKeyStatus.inService.rawValue else {
                    throw StorageError(
                        .actorRevoked, "User Access Key \(id) was revoked before the change was committed")
                }
            }
            for mutation in changes.mutations {
                try await PostgresWrites.apply(mutation, connection, logger)
            }
            await self.beforeCommit?()
            if changesState {
                try await connection.query("SELECT pg_notify(\(Self.changesChannel), '')", logger: logger)
            }
        }
        if readOnly { throw StorageError(.unusable, "\(location) was opened read-only") }
        try await transaction(changesState ? .serializedWrite : .readCommitted, body)
    }

    // MARK: - Several nodes

    /// Calls `changed` whenever a commit on any node changed the state, and once each time listening (re)starts,
    /// since changes made while not listening were missed. Runs until cancelled; a lost connection is re-opened.
    package func listenForChanges(_ changed: @escaping @Sendable () -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.changesChannel) { notifications in
                        changed()
                        for try await _ in notifications { changed() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "listening for changes on \(location) failed; retrying",
                    metadata: ["error": "\(Self.describe(error))"])
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Runs `body` while holding the advisory lock of `job` on this database; `nil`, without running it, when
    /// another node holds it.
    package func exclusively<T: Sendable>(_ job: String, _ body: () async throws -> T) async throws -> T? {
        let key = Int64(bitPattern: FNV1a.hash("skm:job:\(job)".utf8))
        do {
            return try await client.withConnection { connection -> T? in
                let locked = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                    .collect().first?.decode(Bool.self)
                guard locked == true else { return nil }
                let result: T
                do {
                    result = try await body()
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
                    throw error
                }
                try await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
                return result
            }
        } catch {
            throw Self.translate(error, at: location)
        }
    }

    // MARK: - Plumbing

    private enum Isolation {
        /// A change of state: serializable, and first the lock that orders every change on every node (a table lock
        /// on `events`, taken before the transaction's snapshot, so that the snapshot follows the previous change's
        /// commit). Changes therefore commit one at a time, in the order of their audit events, and see each other's
        /// effects: the User Access Key that makes a change is checked after a revocation that came first.
        case serializedWrite
        /// One statement's effect at a time: an upsert, the last use of keys, the schema under its own lock.
        case readCommitted
        /// A read-only transaction on one snapshot.
        case snapshot
    }

    /// Runs `body` in one transaction on one pooled connection; commits when it returns, rolls back when it throws.
    private func transaction<T: Sendable>(
        _ isolation: Isolation, _ body: (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        let logger = logger
        do {
            return try await client.withConnection { connection -> T in
                // Everything from BEGIN on is undone on any failure: a connection must never go back to the pool
                // inside a failed transaction (a lock that timed out left one so, and every later query on it failed).
                do {
                    switch isolation {
                    case .serializedWrite:
                        try await connection.query("BEGIN ISOLATION LEVEL SERIALIZABLE", logger: logger)
                        // LOCK TABLE does not take the snapshot; the first SELECT after it does.
                        try await connection.query("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE", logger: logger)
                    case .readCommitted:
                        try await connection.query("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
                    case .snapshot:
                        try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                    }
                    let result = try await body(connection, logger)
                    try await connection.query("COMMIT", logger: logger)
                    return result
                } catch {
                    do {
                        try await connection.query("ROLLBACK", logger: logger)
                    } catch {
                        // A connection whose transaction state is unknown must not go back to the pool.
                        try? await connection.close()
                    }
                    throw error
                }
            }
        } catch {
            throw Self.translate(error, at: location)
        }
    }

    private func one<T: Sendable>(
        _ query: PostgresQuery, _ decode: (PostgresRandomAccessRow) throws -> T
    ) async throws -> T? {
        try await all(query, decode).first
    }

    private func all<T: Sendable>(
        _ query: PostgresQuery, _ decode: (PostgresRandomAccessRow) throws -> T
    ) async throws -> [T] {
        do {
            return try await client.query(query, logger: logger).collect().map { try decode($0.makeRandomAccess()) }
        } catch {
            throw Self.translate(error, at: location)
        }
    }

    static func rows<T>(
        _ query: PostgresQuery, _ connection: PostgresConnection, _ logger: Logger,
        _ decode: (PostgresRandomAccessRow) throws -> T
    ) async throws -> [T] {
        try await connection.query(query, logger: logger).collect().map { try decode($0.makeRandomAccess()) }
    }

    /// A storage error for what PostgreSQL or the connection reported. Only the server's own message is kept,
    /// never the query or its values.
    static func translate(_ error: any Error, at location: Location) -> any Error {
        if error is StorageError || error is CancellationError { return error }
        if error is NIOSSLError, let file = location.rootCertificates {
            return StorageError(
                .unusable, "cannot load the authorities of sslrootcert=\(PrintableText.escaped(file)) (a PEM file)")
        }
        if let failure = error as? PSQLError, failure.code == .authMechanismRequiresPassword {
            return StorageError(
                .unusable,
                "PostgreSQL at \(location) asks for a password: give it in SKM_DB_PASSWORD or a file named by "
                    + "--db-password-file (or SKM_DB_PASSWORD_FILE)")
        }
        guard let failure = error as? PSQLError else {
            if error is PostgresDecodingError {
                return StorageError(.unusable, "\(location) holds a value this version cannot read")
            }
            if "\(type(of: error))".contains("ConnectionPool") {
                return StorageError(
                    .unusable, "cannot connect to PostgreSQL at \(location) (refused, unreachable or timed out)")
            }
            return StorageError(.unusable, "PostgreSQL at \(location): \(describe(error))")
        }
        let message = failure.serverInfo?[.message].map { PrintableText.escaped(String($0.prefix(300))) } ?? ""
        switch failure.serverInfo?[.sqlState] {
        case "40001", "40P01":
            return StorageError(.conflict, "a concurrent transaction changed the same rows")
        case "23505":
            switch failure.serverInfo?[.constraintName] {
            case "key_stores_live_name": return StorageError(.duplicate, "a key store of that name already exists")
            case "auth_entries_live_value":
                return StorageError(.duplicate, "that value is already registered in the key store")
            default: return StorageError(.duplicate, "the row already exists")
            }
        case "23503": return StorageError(.missing, "a referenced row does not exist")
        case "25006": return StorageError(.unusable, "\(location) is read-only here")
        case "28000", "28P01":
            return StorageError(.unusable, "PostgreSQL at \(location) refused the login: \(message)")
        case "3D000": return StorageError(.unusable, "PostgreSQL at \(location) has no such database: \(message)")
        case "55P03":
            return StorageError(
                .unusable,
                "the change waited 15 s for another change to finish and gave up (a node stopped in the middle of one?)"
            )
        case let state?: return StorageError(.unusable, "PostgreSQL at \(location) failed (\(state)): \(message)")
        case nil: return StorageError(.unusable, "cannot use PostgreSQL at \(location): \(connectionProblem(failure))")
        }
    }

    /// Why a connection failed, in words: never the library's own description, which names source files.
    static func connectionProblem(_ failure: PSQLError) -> String {
        if failure.code == .sslUnsupported {
            return "the server does not offer TLS, which the URL's sslmode asks for (use sslmode=prefer or disable, "
                + "or turn TLS on in PostgreSQL)"
        }
        let text = failure.underlying.map { "\($0)" } ?? ""
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate") {
            return "the server's TLS certificate is not trusted (give its authority with sslrootcert=FILE, or use "
                + "sslmode=require, which does not check it)"
        }
        if text.contains("handshake") || text.contains("NIOSSL") { return "the TLS handshake failed" }
        if text.contains("refused") { return "the connection was refused (is PostgreSQL listening on that port?)" }
        if text.contains("imed out") || text.contains("imeout") { return "the connection timed out" }
        if text.contains("DNS") || text.contains("UnknownHost") || text.contains("resolve") {
            return "the host name does not resolve"
        }
        if failure.code == .connectionError || failure.code == .serverClosedConnection {
            return "the connection failed or was closed (refused, unreachable or timed out)"
        }
        return "\(failure.code)"
    }

    /// What went wrong, in words that hold no query and no value: PostgreSQL's message, or the kind of failure.
    static func describe(_ error: any Error) -> String {
        if let failure = error as? PSQLError {
            if let message = failure.serverInfo?[.message] { return PrintableText.escaped(String(message.prefix(300))) }
            return connectionProblem(failure)
        }
        return PrintableText.escaped("\(type(of: error))")
    }
}

extension PostgresRandomAccessRow: StoredRow {
    func text(_ column: String) throws -> String { try self[column].decode(String.self) }
    func optionalText(_ column: String) throws -> String? { try self[column].decode(String?.self) }
    func integer(_ column: String) throws -> Int64 { try self[column].decode(Int64.self) }
    func optionalInteger(_ column: String) throws -> Int64? { try self[column].decode(Int64?.self) }
    func flag(_ column: String) throws -> Bool { try self[column].decode(Bool.self) }
    func bytes(_ column: String) throws -> Data { try self[column].decode(Data.self) }
}
