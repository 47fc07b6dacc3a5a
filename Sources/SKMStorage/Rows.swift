import Foundation
import GRDB
import SKMCore

/// Decoding of rows into domain values. A value that does not decode (a status the code does not know) is
/// reported as an unusable database rather than a crash.
enum Rows {
    static func date(_ row: Row, _ column: String) -> Date {
        Date(millisecondsSince1970: row[column])
    }

    static func optionalDate(_ row: Row, _ column: String) -> Date? {
        (row[column] as Int64?).map(Date.init(millisecondsSince1970:))
    }

    static func stamp(_ row: Row, _ prefix: String) -> Stamp {
        Stamp(user: row["\(prefix)_by"], at: date(row, "\(prefix)_at"))
    }

    static func value<T: RawRepresentable>(_ row: Row, _ column: String) throws -> T where T.RawValue == String {
        let text: String = row[column]
        guard let value = T(rawValue: text) else {
            throw StorageError(.unusable, "column \(column) holds '\(text)', which this version does not know")
        }
        return value
    }

    static func appkey(_ row: Row) throws -> Appkey {
        Appkey(id: row["id"], name: row["name"], created: stamp(row, "created"))
    }

    static func userAccessKey(_ row: Row) throws -> UserAccessKey {
        UserAccessKey(
            id: row["id"], appkey: row["appkey"], status: try value(row, "status"), created: stamp(row, "created"),
            secretDigest: row["secret_digest"], salt: row["salt"], revision: row["revision"])
    }

    static func keyStore(_ row: Row) throws -> KeyStore {
        KeyStore(
            id: row["id"], appkey: row["appkey"], name: row["name"], description: row["description"],
            ip4AuthUse: row["ip4_auth_use"], macAuthUse: row["mac_auth_use"],
            certificateAuthUse: row["certificate_auth_use"], authMode: try value(row, "auth_mode"),
            status: try value(row, "status"), created: stamp(row, "created"), lastChange: stamp(row, "changed"),
            revision: row["revision"])
    }

    static func key(_ row: Row) throws -> ManagedKey {
        ManagedKey(
            id: row["id"], appkey: row["appkey"], keyStoreId: row["key_store_id"], name: row["name"],
            description: row["description"], type: try value(row, "type"), status: try value(row, "status"),
            autoRotationPeriod: row["auto_rotation_period"], nextRotationAt: optionalDate(row, "next_rotation_at"),
            deletionAt: optionalDate(row, "deletion_at"), latestVersion: row["latest_version"],
            created: stamp(row, "created"), lastChange: stamp(row, "changed"),
            lastAccessAt: optionalDate(row, "last_access_at"), revision: row["revision"])
    }

    static func version(_ row: Row) throws -> KeyVersion {
        KeyVersion(
            keyId: row["key_id"], number: row["number"], status: try value(row, "status"),
            created: stamp(row, "created"), lastChange: stamp(row, "changed"),
            deletionAt: optionalDate(row, "deletion_at"), revision: row["revision"])
    }

    static func authEntry(_ row: Row) throws -> AuthEntry {
        var certificate: IssuedCertificate?
        if let sha256: String = row["certificate_sha256"] {
            certificate = IssuedCertificate(
                serialNumber: row["certificate_serial"], sha256: sha256, subject: row["certificate_subject"],
                issuer: row["certificate_issuer"], notBefore: date(row, "certificate_not_before"),
                notAfter: date(row, "certificate_not_after"), pem: row["certificate_pem"])
        }
        return AuthEntry(
            id: row["id"], appkey: row["appkey"], keyStoreId: row["key_store_id"], kind: try value(row, "kind"),
            value: row["value"], description: row["description"], status: try value(row, "status"),
            certificate: certificate, deletionAt: optionalDate(row, "deletion_at"), created: stamp(row, "created"),
            lastChange: stamp(row, "changed"), lastAccessAt: optionalDate(row, "last_access_at"),
            revision: row["revision"])
    }

    static func event(_ row: Row) throws -> AuditEvent {
        let text: String = row["changes"]
        guard case .array(let items)? = try? JSONParser().parse(text) else {
            throw StorageError(.unusable, "event \(row["sequence"] as Int) has malformed changes")
        }
        let changes = items.map {
            AuditEvent.Change(
                field: $0["field"]?.stringValue ?? "", before: $0["before"]?.stringValue,
                after: $0["after"]?.stringValue)
        }
        return AuditEvent(
            sequence: row["sequence"], time: date(row, "time"), actor: row["actor"], action: try value(row, "action"),
            appkey: row["appkey"], targetKind: try value(row, "target_kind"), targetId: row["target_id"],
            keyStoreId: row["key_store_id"], keyId: row["key_id"], keyVersion: row["key_version"], changes: changes)
    }

    static func changesJSON(_ changes: [AuditEvent.Change]) -> String {
        JSONWriter().string(
            .array(
                changes.map {
                    ["field": .string($0.field), "before": .optional($0.before), "after": .optional($0.after)]
                }))
    }
}
