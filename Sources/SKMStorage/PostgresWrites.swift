import Foundation
import Logging
import PostgresNIO
import SKMCore

/// Applies change-set mutations inside one PostgreSQL transaction: the same rows and checks as SQLite's
/// (``Writes``), in PostgreSQL's SQL.
enum PostgresWrites {
    static func apply(_ mutation: ChangeSet.Mutation, _ connection: PostgresConnection, _ logger: Logger) async throws {
        func run(_ query: PostgresQuery) async throws -> Int {
            try await connection.query(query, logger: logger).collect().count
        }
        switch mutation {
        case .insert(let record): try await insert(record, connection, logger)
        case .update(let record): try await update(record, connection, logger)
        case .putSealed(let context, let data):
            _ = try await run(
                """
                INSERT INTO sealed_items (label, data) VALUES (\(context.label), \(data))
                ON CONFLICT (label) DO UPDATE SET data = excluded.data
                """)
        case .deleteSealed(let context):
            _ = try await run("DELETE FROM sealed_items WHERE label = \(context.label)")
        case .deleteSealedItems(let prefix):
            // The range for the index; starts_with because under a linguistic collation the range can also hold
            // labels that only sort alike.
            _ = try await run(
                """
                DELETE FROM sealed_items
                WHERE label >= \(prefix) AND label < \(prefix + "\u{FFFF}") AND starts_with(label, \(prefix))
                """)
        case .putSetting(let name, let data):
            _ = try await run(
                """
                INSERT INTO settings (name, value) VALUES (\(name), \(data))
                ON CONFLICT (name) DO UPDATE SET value = excluded.value
                """)
        case .insertSetting(let name, let data):
            _ = try await run("INSERT INTO settings (name, value) VALUES (\(name), \(data))")
        case .swapSetting(let name, let expected, let new):
            // One statement each way, so that a concurrent writer makes it match no row instead of overwriting.
            let written: Int
            if let expected, let new {
                written = try await run(
                    "UPDATE settings SET value = \(new) WHERE name = \(name) AND value = \(expected) RETURNING name")
            } else if let expected {
                written = try await run(
                    "DELETE FROM settings WHERE name = \(name) AND value = \(expected) RETURNING name")
            } else if let new {
                written = try await run(
                    "INSERT INTO settings (name, value) VALUES (\(name), \(new)) ON CONFLICT (name) DO NOTHING RETURNING name"
                )
            } else {
                // Absent, and to stay absent.
                written = try await run("SELECT name FROM settings WHERE name = \(name)") == 0 ? 1 : 0
            }
            guard written == 1 else { throw StorageError(.conflict, "the setting \(name) changed concurrently") }
        case .requireKeyStoreRevision(let id, let revision):
            let stored = try await connection.query("SELECT revision FROM key_stores WHERE id = \(id)", logger: logger)
                .collect().first?.decode(Int64.self)
            guard let stored else { throw StorageError(.missing, "key store \(id) does not exist") }
            guard stored == Int64(revision) else {
                throw StorageError(.conflict, "key store \(id) changed concurrently")
            }
        case .addCallCounts(let counts):
            for (cell, count) in counts.sorted(by: { $0.key < $1.key }) {
                _ = try await run(
                    """
                    INSERT INTO call_counts (appkey, day, key_id, operation, result, count)
                    VALUES (\(cell.appkey), \(cell.day), \(cell.keyId ?? ""), \(cell.operation), \(cell.result), \(Int64(count)))
                    ON CONFLICT (appkey, day, key_id, operation, result)
                    DO UPDATE SET count = call_counts.count + excluded.count
                    """)
            }
        case .recordAccess(let keys, let entries):
            for (id, time) in keys.sorted(by: { $0.key < $1.key }) {
                _ = try await run(
                    """
                    UPDATE managed_keys SET last_access_at = GREATEST(COALESCE(last_access_at, 0), \(time.millisecondsSince1970))
                    WHERE id = \(id)
                    """)
            }
            for (id, time) in entries.sorted(by: { $0.key < $1.key }) {
                _ = try await run(
                    """
                    UPDATE auth_entries SET last_access_at = GREATEST(COALESCE(last_access_at, 0), \(time.millisecondsSince1970))
                    WHERE id = \(id)
                    """)
            }
        case .requireLiveEntries(let id, let ids):
            let live = Set(
                try await connection.query(
                    "SELECT id FROM auth_entries WHERE key_store_id = \(id) AND status <> 'DELETED'", logger: logger
                ).collect().map { Int(try $0.decode(Int64.self)) })
            if live != ids { throw StorageError(.conflict, "key store \(id) gained an entry concurrently") }
        case .requireNoLiveKeys(let id):
            let live = try await run(
                "SELECT 1 FROM managed_keys WHERE key_store_id = \(id) AND status <> 'DELETED' LIMIT 1")
            if live > 0 { throw StorageError(.conflict, "key store \(id) gained a key concurrently") }
        case .appendEvent(let event):
            _ = try await run(
                """
                INSERT INTO events (time, actor, action, appkey, target_kind, target_id, key_store_id, key_id,
                key_version, changes) VALUES (\(event.time.millisecondsSince1970), \(event.actor),
                \(event.action.rawValue), \(event.appkey), \(event.targetKind.rawValue), \(event.targetId),
                \(event.keyStoreId), \(event.keyId), \(event.keyVersion), \(Rows.changesJSON(event.changes)))
                """)
        }
    }

    static func insert(_ record: ChangeSet.Record, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let query: PostgresQuery
        switch record {
        case .appkey(let row):
            query = """
                INSERT INTO appkeys (id, name, created_by, created_at)
                VALUES (\(row.id), \(row.name), \(row.created.user), \(row.created.at.millisecondsSince1970))
                """
        case .userAccessKey(let row):
            query = try """
            INSERT INTO user_access_keys (id, appkey, status, created_by, created_at, secret_digest, salt, revision)
            VALUES (\(row.id), \(row.appkey), \(row.status.rawValue), \(row.created.user),
            \(row.created.at.millisecondsSince1970), \(row.secretDigest), \(row.salt), \(row.revision))
            """
        case .keyStore(let row):
            query = """
                INSERT INTO key_stores (id, appkey, name, description, ip4_auth_use, mac_auth_use,
                certificate_auth_use, auth_mode, status, created_by, created_at, changed_by, changed_at, revision)
                VALUES (\(row.id), \(row.appkey), \(row.name), \(row.description), \(row.ip4AuthUse),
                \(row.macAuthUse), \(row.certificateAuthUse), \(row.authMode.rawValue), \(row.status.rawValue),
                \(row.created.user), \(row.created.at.millisecondsSince1970), \(row.lastChange.user),
                \(row.lastChange.at.millisecondsSince1970), \(row.revision))
                """
        case .key(let row):
            query = """
                INSERT INTO managed_keys (id, appkey, key_store_id, type, name, description, status,
                auto_rotation_period, next_rotation_at, deletion_at, latest_version, created_by, created_at,
                changed_by, changed_at, last_access_at, imported, revision)
                VALUES (\(row.id), \(row.appkey), \(row.keyStoreId), \(row.type.rawValue), \(row.name),
                \(row.description), \(row.status.rawValue), \(row.autoRotationPeriod),
                \(row.nextRotationAt?.millisecondsSince1970), \(row.deletionAt?.millisecondsSince1970),
                \(row.latestVersion), \(row.created.user), \(row.created.at.millisecondsSince1970),
                \(row.lastChange.user), \(row.lastChange.at.millisecondsSince1970),
                \(row.lastAccessAt?.millisecondsSince1970), \(row.imported), \(row.revision))
                """
        case .keyVersion(let row):
            query = """
                INSERT INTO key_versions (key_id, number, status, created_by, created_at, changed_by, changed_at,
                deletion_at, revision) VALUES (\(row.keyId), \(row.number), \(row.status.rawValue),
                \(row.created.user), \(row.created.at.millisecondsSince1970), \(row.lastChange.user),
                \(row.lastChange.at.millisecondsSince1970), \(row.deletionAt?.millisecondsSince1970), \(row.revision))
                """
        case .authEntry(let row):
            let certificate = row.certificate
            query = """
                INSERT INTO auth_entries (id, appkey, key_store_id, kind, value, certificate_serial,
                certificate_sha256, certificate_subject, certificate_issuer, certificate_not_before,
                certificate_not_after, certificate_pem, created_by, created_at, description, status, deletion_at,
                changed_by, changed_at, last_access_at, revision)
                VALUES (\(row.id), \(row.appkey), \(row.keyStoreId), \(row.kind.rawValue), \(row.value),
                \(certificate?.serialNumber), \(certificate?.sha256), \(certificate?.subject), \(certificate?.issuer),
                \(certificate?.notBefore.millisecondsSince1970), \(certificate?.notAfter.millisecondsSince1970),
                \(certificate?.pem), \(row.created.user), \(row.created.at.millisecondsSince1970), \(row.description),
                \(row.status.rawValue), \(row.deletionAt?.millisecondsSince1970), \(row.lastChange.user),
                \(row.lastChange.at.millisecondsSince1970), \(row.lastAccessAt?.millisecondsSince1970), \(row.revision))
                """
        }
        try await connection.query(query, logger: logger)
    }

    /// Replaces a row whose stored revision is the record's. `last_access_at` is left alone: only
    /// ``ChangeSet/Mutation/recordAccess(keys:entries:)`` moves it, so a change made from an older read never takes
    /// a later use back.
    static func update(_ record: ChangeSet.Record, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let query: PostgresQuery
        let table: String
        let exists: PostgresQuery
        let revision: Int
        switch record {
        case .appkey(let row):
            let changed = try await connection.query(
                "UPDATE appkeys SET name = \(row.name) WHERE id = \(row.id) RETURNING 1", logger: logger
            ).collect().count
            if changed == 0 { throw StorageError(.missing, "appkey \(row.id) does not exist") }
            return
        case .userAccessKey(let row):
            (table, revision) = ("user_access_keys", row.revision)
            exists = "SELECT 1 FROM user_access_keys WHERE id = \(row.id)"
            query = """
                UPDATE user_access_keys SET status = \(row.status.rawValue), revision = revision + 1
                WHERE id = \(row.id) AND revision = \(row.revision) RETURNING 1
                """
        case .keyStore(let row):
            (table, revision) = ("key_stores", row.revision)
            exists = "SELECT 1 FROM key_stores WHERE id = \(row.id)"
            query = """
                UPDATE key_stores SET name = \(row.name), description = \(row.description),
                ip4_auth_use = \(row.ip4AuthUse), mac_auth_use = \(row.macAuthUse),
                certificate_auth_use = \(row.certificateAuthUse), auth_mode = \(row.authMode.rawValue),
                status = \(row.status.rawValue), created_by = \(row.created.user),
                created_at = \(row.created.at.millisecondsSince1970), changed_by = \(row.lastChange.user),
                changed_at = \(row.lastChange.at.millisecondsSince1970), revision = revision + 1
                WHERE id = \(row.id) AND revision = \(row.revision) RETURNING 1
                """
        case .key(let row):
            (table, revision) = ("managed_keys", row.revision)
            exists = "SELECT 1 FROM managed_keys WHERE id = \(row.id)"
            query = """
                UPDATE managed_keys SET name = \(row.name), description = \(row.description),
                status = \(row.status.rawValue), auto_rotation_period = \(row.autoRotationPeriod),
                next_rotation_at = \(row.nextRotationAt?.millisecondsSince1970),
                deletion_at = \(row.deletionAt?.millisecondsSince1970), latest_version = \(row.latestVersion),
                created_by = \(row.created.user), created_at = \(row.created.at.millisecondsSince1970),
                changed_by = \(row.lastChange.user), changed_at = \(row.lastChange.at.millisecondsSince1970),
                revision = revision + 1
                WHERE id = \(row.id) AND revision = \(row.revision) RETURNING 1
                """
        case .keyVersion(let row):
            (table, revision) = ("key_versions", row.revision)
            exists = "SELECT 1 FROM key_versions WHERE key_id = \(row.keyId) AND number = \(row.number)"
            query = """
                UPDATE key_versions SET status = \(row.status.rawValue), changed_by = \(row.lastChange.user),
                changed_at = \(row.lastChange.at.millisecondsSince1970),
                deletion_at = \(row.deletionAt?.millisecondsSince1970), revision = revision + 1
                WHERE key_id = \(row.keyId) AND number = \(row.number) AND revision = \(row.revision) RETURNING 1
                """
        case .authEntry(let row):
            (table, revision) = ("auth_entries", row.revision)
            exists = "SELECT 1 FROM auth_entries WHERE id = \(row.id)"
            query = """
                UPDATE auth_entries SET description = \(row.description), status = \(row.status.rawValue),
                deletion_at = \(row.deletionAt?.millisecondsSince1970), changed_by = \(row.lastChange.user),
                changed_at = \(row.lastChange.at.millisecondsSince1970), revision = revision + 1
                WHERE id = \(row.id) AND revision = \(row.revision) RETURNING 1
                """
        }
        guard try await connection.query(query, logger: logger).collect().isEmpty else { return }
        if try await connection.query(exists, logger: logger).collect().isEmpty {
            throw StorageError(.missing, "\(table) row does not exist")
        }
        throw StorageError(.conflict, "\(table) row changed concurrently (expected revision \(revision))")
    }
}
