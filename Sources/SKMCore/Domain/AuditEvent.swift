import struct Foundation.Date

/// A record of one state change: who, when, what, before → after.
///
/// The analyser replays these to rebuild the state as it was when a request failed, and names the event that made
/// it fail. Events never carry a secret, a key byte or a password.
package struct AuditEvent: Sendable, Hashable, Codable {
    /// What kind of thing changed.
    package enum TargetKind: String, Sendable, Hashable, Codable, CaseIterable {
        case appkey = "APPKEY"
        case userAccessKey = "USER_ACCESS_KEY"
        case keyStore = "KEY_STORE"
        case key = "KEY"
        case keyVersion = "KEY_VERSION"
        case authEntry = "AUTH_ENTRY"
    }

    /// One field's change. `nil` means the field had no value (before a creation, after a removal).
    ///
    /// The field is stored by name; ``known`` is the field it names, `nil` for a name this version does not write
    /// (from a newer or foreign key manager), which the analyser can only pass over.
    package struct Change: Sendable, Hashable, Codable {
        package var field: String
        package var before: String?
        package var after: String?

        package init(field: String, before: String?, after: String?) {
            self.field = field
            self.before = before
            self.after = after
        }

        package init(_ field: AuditField, before: String?, after: String?) {
            self.init(field: field.rawValue, before: before, after: after)
        }

        package var known: AuditField? { AuditField(rawValue: field) }
    }

    /// Assigned by storage, increasing; 0 before the event is stored.
    package var sequence: Int
    package var time: Date
    package var actor: String
    package var action: AuditAction
    package var appkey: String
    package var targetKind: TargetKind
    package var targetId: String
    package var keyStoreId: Int?
    package var keyId: String?
    package var keyVersion: Int?
    package var changes: [Change]

    package init(
        sequence: Int = 0, time: Date, actor: String, action: AuditAction, appkey: String, targetKind: TargetKind,
        targetId: String, keyStoreId: Int? = nil, keyId: String? = nil, keyVersion: Int? = nil, changes: [Change]
    ) {
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.action = action
        self.appkey = appkey
        self.targetKind = targetKind
        self.targetId = targetId
        self.keyStoreId = keyStoreId
        self.keyId = keyId
        self.keyVersion = keyVersion
        self.changes = changes
    }

    /// The value a field took in this event, if it changed.
    package func after(_ field: AuditField) -> String? {
        changes.first(where: { $0.known == field })?.after
    }

    /// The value a field had before this event, if it changed.
    package func before(_ field: AuditField) -> String? {
        changes.first(where: { $0.known == field })?.before
    }

    /// One line for people, statuses as the console names them: "cli:ops scheduled the deletion of key 0a1b…
    /// (In Service → Pending Deletion)".
    package var summary: String {
        let key = keyId ?? targetId
        let entry = after(.value).map { "'\($0)'" } ?? "#\(targetId)"
        let version = keyVersion.map(String.init) ?? "?"
        let what: String
        switch action {
        case .appkeyCreate: what = "created appkey \(targetId)"
        case .userAccessKeyCreate: what = "created User Access Key \(targetId)"
        case .userAccessKeyRevoke: what = "revoked User Access Key \(targetId)"
        case .userAccessKeyRotate:
            what =
                "rotated User Access Key \(targetId)" + (after(.replacedBy).map { ", replacing it with \($0)" } ?? "")
        case .keyStoreCreate: what = "created key store #\(targetId)"
        case .keyStoreUpdate: what = "changed key store #\(targetId)"
        case .keyStoreDelete: what = "deleted key store #\(targetId)"
        case .keyCreate: what = "created key \(key)"
        case .keyImport: what = "imported key \(key)"
        case .keyRotate: what = "rotated key \(key) to version \(version)"
        case .keyScheduleDeletion: what = "scheduled the deletion of key \(key)"
        case .keyCancelDeletion: what = "cancelled the deletion of key \(key)"
        case .keyDelete: what = "deleted key \(key)"
        case .keyPurge: what = "purged key \(key), its deletion delay over"
        case .secretUpdate: what = "changed the value of secret \(key)"
        case .versionScheduleDeletion: what = "scheduled the deletion of version \(version) of key \(key)"
        case .versionCancelDeletion: what = "cancelled the deletion of version \(version) of key \(key)"
        case .versionDelete: what = "deleted version \(version) of key \(key)"
        case .versionPurge: what = "purged version \(version) of key \(key), its deletion delay over"
        case .authAdd: what = "registered \(after(.kind).map(Self.kindName) ?? "entry") \(entry)"
        case .authScheduleDeletion: what = "scheduled the deletion of entry #\(targetId)"
        case .authCancelDeletion: what = "cancelled the deletion of entry #\(targetId)"
        case .authDelete: what = "deleted entry #\(targetId)"
        case .authPurge: what = "purged entry #\(targetId), its deletion delay over"
        case .authApprove: what = "approved the request for entry #\(targetId)"
        case .authReject: what = "rejected the request for entry #\(targetId)"
        case .approvalEnable: what = "turned the approval workflow on for appkey \(targetId)"
        case .approvalDisable: what = "turned the approval workflow off for appkey \(targetId)"
        case .approverGrant: what = "made \(after(.member) ?? "?") an approver of appkey \(targetId)"
        case .approverRevoke:
            what = "made \(before(.member) ?? "?") a member (no longer an approver) of appkey \(targetId)"
        case .changeRequest, .changeApprove, .changeReject, .changeFail:
            let number = after(.changeRequest) ?? "?"
            let change = requestedChange.map { " (\($0))" } ?? ""
            switch action {
            case .changeRequest: what = "asked to \(requestedChange ?? "change something") (change request #\(number))"
            case .changeApprove: what = "approved change request #\(number)\(change)"
            case .changeReject: what = "rejected change request #\(number)\(change)"
            default: what = "approved change request #\(number)\(change), which could no longer be made"
            }
        }
        let status = changes.first { $0.known == .status && $0.before != nil }.map {
            " (\(Self.statusName($0.before)) → \(Self.statusName($0.after)))"
        }
        // A change an approval made says whose request it carried out.
        let carried =
            action.rawValue.hasPrefix("change.")
            ? nil : after(.changeRequest).map { ", carrying out change request #\($0)" }
        return
            "\(actor) \(what)\(keyStoreId.map { action.rawValue.hasPrefix("auth.") ? " of key store #\($0)" : "" } ?? "")"
            + (carried ?? "") + (status ?? "")
    }

    /// What a change request's event asks for, in the words of ``ChangeRequest/describe(_:keyType:name:keyStoreId:keyId:version:)``.
    package var requestedChange: String? {
        guard let kind = after(.change).flatMap(ChangeRequest.Kind.init(rawValue:)) else { return nil }
        let keyId = keyId ?? (targetKind == .key ? targetId : nil)
        return ChangeRequest.describe(
            kind, keyType: after(.type).flatMap(KeyType.init(rawValue:)), name: after(.name),
            keyStoreId: keyStoreId ?? (targetKind == .keyStore ? Int(targetId) : nil), keyId: keyId,
            version: keyVersion)
    }

    /// A status as SKM's console shows it ("In Service"); other values as they are.
    static func statusName(_ raw: String?) -> String {
        switch raw {
        case "ACTIVE", "IN_SERVICE": return "In Service"
        case "PENDING_DELETION": return "Pending Deletion"
        case "DELETED": return "Deleted"
        case "REVOKED": return "Revoked"
        case "PENDING_APPROVAL": return "Scheduled to Register"
        case "CANCELLATION_PENDING_APPROVAL": return "Scheduled to Cancel Deletion"
        case nil: return "none"
        case let other?: return other
        }
    }

    static func kindName(_ raw: String) -> String {
        switch raw {
        case "IPV4": return "IPv4 address"
        case "MAC": return "MAC address"
        case "CERTIFICATE": return "certificate"
        default: return raw
        }
    }
}

/// Every kind of state change the key manager records.
package enum AuditAction: String, Sendable, Hashable, Codable, CaseIterable {
    case appkeyCreate = "appkey.create"
    case userAccessKeyCreate = "userAccessKey.create"
    case userAccessKeyRevoke = "userAccessKey.revoke"
    case userAccessKeyRotate = "userAccessKey.rotate"
    case keyStoreCreate = "keyStore.create"
    case keyStoreUpdate = "keyStore.update"
    case keyStoreDelete = "keyStore.delete"
    case keyCreate = "key.create"
    case keyImport = "key.import"
    case keyRotate = "key.rotate"
    case keyScheduleDeletion = "key.scheduleDeletion"
    case keyCancelDeletion = "key.cancelDeletion"
    case keyDelete = "key.delete"
    case keyPurge = "key.purge"
    case secretUpdate = "secret.update"
    case versionScheduleDeletion = "keyVersion.scheduleDeletion"
    case versionCancelDeletion = "keyVersion.cancelDeletion"
    case versionDelete = "keyVersion.delete"
    case versionPurge = "keyVersion.purge"
    case authAdd = "auth.add"
    case authScheduleDeletion = "auth.scheduleDeletion"
    case authCancelDeletion = "auth.cancelDeletion"
    case authDelete = "auth.delete"
    case authPurge = "auth.purge"
    case authApprove = "auth.approve"
    case authReject = "auth.reject"
    case approvalEnable = "approval.enable"
    case approvalDisable = "approval.disable"
    case approverGrant = "approval.grant"
    case approverRevoke = "approval.revoke"
    case changeRequest = "change.request"
    case changeApprove = "change.approve"
    case changeReject = "change.reject"
    /// Approved, but the change could no longer be made (its key store was deleted meanwhile, …).
    case changeFail = "change.fail"
}

/// Every field an audit event records a change of. The engine writes them; `StateTimeline` rewinds each one (its
/// switches name every case, so a new field cannot be written without deciding how it is rewound).
package enum AuditField: String, Sendable, Hashable, CaseIterable {
    case name, description, type, kind, value, status, deletionAt, latestVersion, autoRotationPeriod
    case ip4AuthUse, macAuthUse, certificateAuthUse, authMode
    case sha256, notAfter, replacedBy
    /// Who was made an approver, or no longer is (the approval workflow's roles of an appkey).
    case member
    /// The number of a change request (approval workflow), and what it changes (``ChangeRequest/Kind``).
    case changeRequest, change
}
