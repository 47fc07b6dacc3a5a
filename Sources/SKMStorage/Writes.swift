import Foundation
import GRDB
import SKMCore

/// Applies change-set mutations inside one SQLite transaction.
enum Writes {
    static func apply(_ mutation: ChangeSet.Mutation, _ db: Database) throws {
        switch mutation {
        case .insert(let record): try insert(record, db)
        case .update(let record): try update(record, db)
        case .putSealed(let context, let data):
            try db.execute(
                sql:
                    "INSERT INTO sealed_items (label, data) VALUES (?, ?) ON CONFLICT (label) DO UPDATE SET data = excluded.data",
                arguments: [context.label, data])
        case .deleteSealed(let context):
            try db.execute(sql: "DELETE FROM sealed_items WHERE label = ?", arguments: [context.label])
        case .deleteSealedItems(let prefix):
            try db.execute(
                sql: "DELETE FROM sealed_items WHERE label >= ? AND label < ?",
                arguments: [prefix, prefix + "\u{FFFF}"])
        case .putSetting(let name, let data):
            try db.execute(
                sql:
                    "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                arguments: [name, data])
        case .insertSetting(let name, let data):
            // A primary-key violation, answered as a duplicate.
            try db.execute(sql: "INSERT INTO settings (name, value) VALUES (?, ?)", arguments: [name, data])
        case .swapSetting(let name, let expected, let new):
            let current = try Data.fetchOne(db, sql: "SELECT value FROM settings WHERE name = ?", arguments: [name])
            guard current == expected else { throw StorageError(.conflict, "the setting \(name) changed concurrently") }
            if let new {
                try db.execute(
                    sql:
                        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    arguments: [name, new])
            } else {
                try db.execute(sql: "DELETE FROM settings WHERE name = ?", arguments: [name])
            }
        case .requireKeyStoreRevision(let id, let revision):
            guard
                let stored = try Int.fetchOne(db, sql: "SELECT revision FROM key_stores WHERE id = ?", arguments: [id])
            else { throw StorageError(.missing, "key store \(id) does not exist") }
            guard stored == revision else { throw StorageError(.conflict, "key store \(id) changed concurrently") }
        case .addCallCounts(let counts):
            for (cell, count) in counts.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    sql: """
                        INSERT INTO call_counts (appkey, day, key_id, operation, result, count) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (appkey, day, key_id, operation, result) DO UPDATE SET count = count + excluded.count
                        """,
                    arguments: [cell.appkey, cell.day, cell.keyId ?? "", cell.operation, cell.result, count])
            }
        case .recordAccess(let keys, let entries):
            for (id, time) in keys.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    sql: "UPDATE managed_keys SET last_access_at = MAX(COALESCE(last_access_at, 0), ?) WHERE id = ?",
                    arguments: [ms(time), id])
            }
            for (id, time) in entries.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    sql: "UPDATE auth_entries SET last_access_at = MAX(COALESCE(last_access_at, 0), ?) WHERE id = ?",
                    arguments: [ms(time), id])
            }
        case .requireLiveEntries(let id, let ids):
            let live = Set(
                try Int.fetchAll(
                    db, sql: "SELECT id FROM auth_entries WHERE key_store_id = ? AND status <> 'DELETED'",
                    arguments: [id]))
            if live != ids { throw StorageError(.conflict, "key store \(id) gained an entry concurrently") }
        case .requireNoLiveKeys(let id):
            let live = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM managed_keys WHERE key_store_id = ? AND status <> 'DELETED' LIMIT 1",
                arguments: [id])
            if live == true { throw StorageError(.conflict, "key store \(id) gained a key concurrently") }
        case .appendEvent(let event):
            try db.execute(
                sql: """
                    INSERT INTO events (time, actor, action, appkey, target_kind, target_id, key_store_id, key_id,
                    key_version, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    event.time.millisecondsSince1970, event.actor, event.action.rawValue, event.appkey,
                    event.targetKind.rawValue, event.targetId, event.keyStoreId, event.keyId, event.keyVersion,
                    Rows.changesJSON(event.changes),
                ])
        }
    }

    static func ms(_ date: Date?) -> Int64? { date?.millisecondsSince1970 }

    static func insert(_ record: ChangeSet.Record, _ db: Database) throws {
        switch record {
        case .appkey(let row):
            try db.execute(
                sql: "INSERT INTO appkeys (id, name, created_by, created_at) VALUES (?, ?, ?, ?)",
                arguments: [row.id, row.name, row.created.user, ms(row.created.at)])
        case .userAccessKey(let row):
            try db.execute(
                sql: """
                    INSERT INTO user_access_keys (id, appkey, status, created_by, created_at, secret_digest, salt, revision)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    row.id, row.appkey, row.status.rawValue, row.created.user, ms(row.created.at), row.secretDigest,
                    row.salt, row.revision,
                ])
        case .keyStore(let row):
            try db.execute(
                sql: """
                    INSERT INTO key_stores (id, appkey, name, description, ip4_auth_use, mac_auth_use,
                    certificate_auth_use, auth_mode, status, created_by, created_at, changed_by, changed_at, revision)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [row.id, row.appkey] + keyStoreValues(row) + [row.revision])
        case .key(let row):
            try db.execute(
                sql: """
                    INSERT INTO managed_keys (id, appkey, key_store_id, type, name, description, status,
                    auto_rotation_period, next_rotation_at, deletion_at, latest_version, created_by, created_at,
                    changed_by, changed_at, last_access_at, imported, revision)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [row.id, row.appkey, row.keyStoreId, row.type.rawValue] + keyValues(row) + [
                    row.imported, row.revision,
                ])
        case .keyVersion(let row):
            try db.execute(
                sql: """
                    INSERT INTO key_versions (key_id, number, status, created_by, created_at, changed_by, changed_at,
                    deletion_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    row.keyId, row.number, row.status.rawValue, row.created.user, ms(row.created.at),
                    row.lastChange.user, ms(row.lastChange.at), ms(row.deletionAt), row.revision,
                ])
        case .authEntry(let row):
            let certificate = row.certificate
            try db.execute(
                sql: """
                    INSERT INTO auth_entries (id, appkey, key_store_id, kind, value, certificate_serial,
                    certificate_sha256, certificate_subject, certificate_issuer, certificate_not_before,
                    certificate_not_after, certificate_pem, created_by, created_at, description, status, deletion_at,
                    changed_by, changed_at, last_access_at, revision)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    row.id, row.appkey, row.keyStoreId, row.kind.rawValue, row.value, certificate?.serialNumber,
                    certificate?.sha256, certificate?.subject, certificate?.issuer, ms(certificate?.notBefore),
                    ms(certificate?.notAfter), certificate?.pem, row.created.user, ms(row.created.at),
                ] + entryValues(row) + [row.revision])
        }
    }

    static func keyStoreValues(_ row: KeyStore) -> StatementArguments {
        [
            row.name, row.description, row.ip4AuthUse, row.macAuthUse, row.certificateAuthUse, row.authMode.rawValue,
            row.status.rawValue, row.created.user, ms(row.created.at), row.lastChange.user, ms(row.lastChange.at),
        ]
    }

    /// A key's columns. An update leaves `last_access_at` alone: only ``ChangeSet/Mutation/recordAccess(keys:entries:)``
    /// moves it, so that a change made from an older read never takes a later use back.
    static func keyValues(_ row: ManagedKey, withLastAccess: Bool = true) -> StatementArguments {
        var values: StatementArguments = [
            row.name, row.description, row.status.rawValue, row.autoRotationPeriod, ms(row.nextRotationAt),
            ms(row.deletionAt), row.latestVersion, row.created.user, ms(row.created.at), row.lastChange.user,
            ms(row.lastChange.at),
        ]
        if withLastAccess { values += [ms(row.lastAccessAt)] }
        return values
    }

    static func entryValues(_ row: AuthEntry, withLastAccess: Bool = true) -> StatementArguments {
        var values: StatementArguments = [
            row.description, row.status.rawValue, ms(row.deletionAt), row.lastChange.user, ms(row.lastChange.at),
        ]
        if withLastAccess { values += [ms(row.lastAccessAt)] }
        return values
    }

    static func update(_ record: ChangeSet.Record, _ db: Database) throws {
        let table: String
        let identity: String
        let identityArguments: StatementArguments
        let revision: Int
        switch record {
        case .appkey(let row):
            try db.execute(sql: "UPDATE appkeys SET name = ? WHERE id = ?", arguments: [row.name, row.id])
            if db.changesCount == 0 { throw StorageError(.missing, "appkey \(row.id) does not exist") }
            return
        case .userAccessKey(let row):
            (table, identity, identityArguments, revision) = ("user_access_keys", "id = ?", [row.id], row.revision)
            try db.execute(
                sql: "UPDATE user_access_keys SET status = ?, revision = revision + 1 WHERE id = ? AND revision = ?",
                arguments: [row.status.rawValue, row.id, row.revision])
        case .keyStore(let row):
            (table, identity, identityArguments, revision) = ("key_stores", "id = ?", [row.id], row.revision)
            try db.execute(
                sql: """
                    UPDATE key_stores SET name = ?, description = ?, ip4_auth_use = ?, mac_auth_use = ?,
                    certificate_auth_use = ?, auth_mode = ?, status = ?, created_by = ?, created_at = ?, changed_by = ?,
                    changed_at = ?, revision = revision + 1 WHERE id = ? AND revision = ?
                    """,
                arguments: keyStoreValues(row) + [row.id, row.revision])
        case .key(let row):
            (table, identity, identityArguments, revision) = ("managed_keys", "id = ?", [row.id], row.revision)
            try db.execute(
                sql: """
                    UPDATE managed_keys SET name = ?, description = ?, status = ?, auto_rotation_period = ?,
                    next_rotation_at = ?, deletion_at = ?, latest_version = ?, created_by = ?, created_at = ?,
                    changed_by = ?, changed_at = ?, revision = revision + 1
                    WHERE id = ? AND revision = ?
                    """,
                arguments: keyValues(row, withLastAccess: false) + [row.id, row.revision])
        case .keyVersion(let row):
            (table, identity, identityArguments, revision) = (
                "key_versions", "key_id = ? AND number = ?", [row.keyId, row.number], row.revision
            )
            try db.execute(
                sql: """
                    UPDATE key_versions SET status = ?, changed_by = ?, changed_at = ?, deletion_at = ?,
                    revision = revision + 1 WHERE key_id = ? AND number = ? AND revision = ?
                    """,
                arguments: [
                    row.status.rawValue, row.lastChange.user, ms(row.lastChange.at), ms(row.deletionAt), row.keyId,
                    row.number, row.revision,
                ])
        case .authEntry(let row):
            (table, identity, identityArguments, revision) = ("auth_entries", "id = ?", [row.id], row.revision)
            try db.execute(
                sql: """
                    UPDATE auth_entries SET description = ?, status = ?, deletion_at = ?, changed_by = ?, changed_at = ?,
                    revision = revision + 1 WHERE id = ? AND revision = ?
                    """,
                arguments: entryValues(row, withLastAccess: false) + [row.id, row.revision])
        }
        guard db.changesCount == 0 else { return }
        let exists =
            try Bool.fetchOne(db, sql: "SELECT 1 FROM \(table) WHERE \(identity)", arguments: identityArguments)
            ?? false
        if exists {
            throw StorageError(.conflict, "\(table) row changed concurrently (expected revision \(revision))")
        }
        throw StorageError(.missing, "\(table) row does not exist")
    }
}
