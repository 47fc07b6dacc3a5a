import struct Foundation.Date

/// A record of one state change: who, when, what, before → after.
///
/// The analyser replays these to rebuild the state as it was when a request failed, and names the event that made
/// it fail. Events never carry a secret, a key byte or a password.
public struct AuditEvent: Sendable, Hashable, Codable {
    /// What kind of thing changed.
    public enum TargetKind: String, Sendable, Hashable, Codable, CaseIterable {
        case appkey = "APPKEY"
        case userAccessKey = "USER_ACCESS_KEY"
        case keyStore = "KEY_STORE"
        case key = "KEY"
        case keyVersion = "KEY_VERSION"
        case authEntry = "AUTH_ENTRY"
    }

    /// One field's change. `nil` means the field had no value (before a creation, after a removal).
    public struct Change: Sendable, Hashable, Codable {
        public var field: String
        public var before: String?
        public var after: String?

        public init(field: String, before: String?, after: String?) {
            self.field = field
            self.before = before
            self.after = after
        }
    }

    /// Assigned by storage, increasing; 0 before the event is stored.
    public var sequence: Int
    public var time: Date
    public var actor: String
    public var action: AuditAction
    public var appkey: String
    public var targetKind: TargetKind
    public var targetId: String
    public var keyStoreId: Int?
    public var keyId: String?
    public var keyVersion: Int?
    public var changes: [Change]

    public init(
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
    public func after(_ field: String) -> String? {
        changes.first(where: { $0.field == field })?.after
    }

    /// One line for people: "key.scheduleDeletion by cli:ops on KEY 0a1b… (status ACTIVE → PENDING_DELETION)".
    public var summary: String {
        let changeText = changes.filter { $0.before != nil }.map {
            "\($0.field) \($0.before ?? "∅") → \($0.after ?? "∅")"
        }
        let target =
            keyVersion.map { "\(targetKind.rawValue) \(keyId ?? targetId) v\($0)" }
            ?? "\(targetKind.rawValue) \(targetId)"
        return "\(action.rawValue) by \(actor) on \(target)"
            + (changeText.isEmpty ? "" : " (\(changeText.joined(separator: ", ")))")
    }
}

/// Every kind of state change the key manager records.
public enum AuditAction: String, Sendable, Hashable, Codable, CaseIterable {
    case appkeyCreate = "appkey.create"
    case userAccessKeyCreate = "userAccessKey.create"
    case keyStoreCreate = "keyStore.create"
    case keyStoreUpdate = "keyStore.update"
    case keyStoreDelete = "keyStore.delete"
    case keyCreate = "key.create"
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
}
