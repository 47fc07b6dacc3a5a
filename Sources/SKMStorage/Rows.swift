import Foundation
import GRDB
import SKMCore

/// A row of either database, its columns read by name. Both databases store the same columns with the same
/// meaning (times as milliseconds since 1970, flags, text, bytes), so one decoding serves both.
protocol StoredRow {
    func text(_ column: String) throws -> String
    func optionalText(_ column: String) throws -> String?
    func integer(_ column: String) throws -> Int64
    func optionalInteger(_ column: String) throws -> Int64?
    func flag(_ column: String) throws -> Bool
    func bytes(_ column: String) throws -> Data
}

extension StoredRow {
    func int(_ column: String) throws -> Int { Int(try integer(column)) }
    func optionalInt(_ column: String) throws -> Int? { try optionalInteger(column).map { Int($0) } }
}

extension Row: StoredRow {
    func text(_ column: String) throws -> String { self[column] }
    func optionalText(_ column: String) throws -> String? { self[column] }
    func integer(_ column: String) throws -> Int64 { self[column] }
    func optionalInteger(_ column: String) throws -> Int64? { self[column] }
    func flag(_ column: String) throws -> Bool { self[column] }
    func bytes(_ column: String) throws -> Data { self[column] }
}

/// Decoding of rows into domain values. A value that does not decode (a status the code does not know) is
/// reported as an unusable database rather than a crash.
enum Rows {
    static func usageCell(_ row: some StoredRow) throws -> UsageCell {
        let key = try row.text("key_id")
        return UsageCell(
            day: try row.text("day"), appkey: try row.text("appkey"), keyId: key.isEmpty ? nil : key,
            operation: try row.text("operation"), result: try row.text("result"))
    }

    static func date(_ row: some StoredRow, _ column: String) throws -> Date {
        Date(millisecondsSince1970: try row.integer(column))
    }

    static func optionalDate(_ row: some StoredRow, _ column: String) throws -> Date? {
        try row.optionalInteger(column).map(Date.init(millisecondsSince1970:))
    }

    static func stamp(_ row: some StoredRow, _ prefix: String) throws -> Stamp {
        Stamp(user: try row.text("\(prefix)_by"), at: try date(row, "\(prefix)_at"))
    }

    static func value<T: RawRepresentable>(_ row: some StoredRow, _ column: String) throws -> T
    where T.RawValue == String {
        let text = try row.text(column)
        guard let value = T(rawValue: text) else {
            throw StorageError(.unusable, "column \(column) holds '\(text)', which this version does not know")
        }
        return value
    }

    static func appkey(_ row: some StoredRow) throws -> Appkey {
        Appkey(id: try row.text("id"), name: try row.text("name"), created: try stamp(row, "created"))
    }

    static func userAccessKey(_ row: some StoredRow) throws -> UserAccessKey {
        UserAccessKey(
            id: try row.text("id"), appkey: try row.text("appkey"), status: try value(row, "status"),
            created: try stamp(row, "created"), secretDigest: try row.bytes("secret_digest"),
            salt: try row.bytes("salt"), revision: try row.int("revision"))
    }

    static func keyStore(_ row: some StoredRow) throws -> KeyStore {
        KeyStore(
            id: try row.int("id"), appkey: try row.text("appkey"), name: try row.text("name"),
            description: try row.text("description"), ip4AuthUse: try row.flag("ip4_auth_use"),
            macAuthUse: try row.flag("mac_auth_use"), certificateAuthUse: try row.flag("certificate_auth_use"),
            authMode: try value(row, "auth_mode"), status: try value(row, "status"),
            created: try stamp(row, "created"), lastChange: try stamp(row, "changed"),
            revision: try row.int("revision"))
    }

    static func key(_ row: some StoredRow) throws -> ManagedKey {
        ManagedKey(
            id: try row.text("id"), appkey: try row.text("appkey"), keyStoreId: try row.int("key_store_id"),
            name: try row.text("name"), description: try row.text("description"), type: try value(row, "type"),
            status: try value(row, "status"), autoRotationPeriod: try row.int("auto_rotation_period"),
            nextRotationAt: try optionalDate(row, "next_rotation_at"), deletionAt: try optionalDate(row, "deletion_at"),
            latestVersion: try row.int("latest_version"), created: try stamp(row, "created"),
            lastChange: try stamp(row, "changed"), lastAccessAt: try optionalDate(row, "last_access_at"),
            imported: try row.flag("imported"), revision: try row.int("revision"))
    }

    static func version(_ row: some StoredRow) throws -> KeyVersion {
        KeyVersion(
            keyId: try row.text("key_id"), number: try row.int("number"), status: try value(row, "status"),
            created: try stamp(row, "created"), lastChange: try stamp(row, "changed"),
            deletionAt: try optionalDate(row, "deletion_at"), revision: try row.int("revision"))
    }

    static func authEntry(_ row: some StoredRow) throws -> AuthEntry {
        var certificate: IssuedCertificate?
        if let sha256 = try row.optionalText("certificate_sha256") {
            certificate = IssuedCertificate(
                serialNumber: try row.text("certificate_serial"), sha256: sha256,
                subject: try row.text("certificate_subject"), issuer: try row.text("certificate_issuer"),
                notBefore: try date(row, "certificate_not_before"), notAfter: try date(row, "certificate_not_after"),
                pem: try row.text("certificate_pem"))
        }
        return AuthEntry(
            id: try row.int("id"), appkey: try row.text("appkey"), keyStoreId: try row.int("key_store_id"),
            kind: try value(row, "kind"), value: try row.text("value"), description: try row.text("description"),
            status: try value(row, "status"), certificate: certificate,
            deletionAt: try optionalDate(row, "deletion_at"), created: try stamp(row, "created"),
            lastChange: try stamp(row, "changed"), lastAccessAt: try optionalDate(row, "last_access_at"),
            revision: try row.int("revision"))
    }

    static func event(_ row: some StoredRow) throws -> AuditEvent {
        let text = try row.text("changes")
        let sequence = try row.int("sequence")
        guard case .array(let items)? = try? JSONParser().parse(text) else {
            throw StorageError(.unusable, "event \(sequence) has malformed changes")
        }
        let changes = items.map {
            AuditEvent.Change(
                field: $0["field"]?.stringValue ?? "", before: $0["before"]?.stringValue,
                after: $0["after"]?.stringValue)
        }
        return AuditEvent(
            sequence: sequence, time: try date(row, "time"), actor: try row.text("actor"),
            action: try value(row, "action"), appkey: try row.text("appkey"),
            targetKind: try value(row, "target_kind"), targetId: try row.text("target_id"),
            keyStoreId: try row.optionalInt("key_store_id"), keyId: try row.optionalText("key_id"),
            keyVersion: try row.optionalInt("key_version"), changes: changes)
    }

    static func changesJSON(_ changes: [AuditEvent.Change]) -> String {
        JSONWriter().string(
            .array(
                changes.map {
                    ["field": .string($0.field), "before": .optional($0.before), "after": .optional($0.after)]
                }))
    }
}
