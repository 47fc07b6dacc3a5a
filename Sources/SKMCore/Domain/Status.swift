import struct Foundation.Date

/// The life cycle of a key: In Service, then 7 days of pending deletion, then a tombstone.
public enum KeyStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case active = "ACTIVE"
    case pendingDeletion = "PENDING_DELETION"
    case deleted = "DELETED"

    /// How SKM's console names the status.
    public var displayName: String {
        switch self {
        case .active: return "In Service"
        case .pendingDeletion: return "Pending Deletion"
        case .deleted: return "Deleted"
        }
    }
}

/// The life cycle of a key version or a client-auth entry.
public enum EntryStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case inService = "IN_SERVICE"
    case pendingDeletion = "PENDING_DELETION"
    case deleted = "DELETED"

    public var displayName: String {
        switch self {
        case .inService: return "In Service"
        case .pendingDeletion: return "Pending Deletion"
        case .deleted: return "Deleted"
        }
    }
}

/// Status of a User Access Key: in service until revoked, revoked for ever (its tokens stop with it).
public enum AccessKeyStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case inService = "IN_SERVICE"
    case revoked = "REVOKED"

    public var displayName: String {
        switch self {
        case .inService: return "In Service"
        case .revoked: return "Revoked"
        }
    }
}

/// Who changed something, and when.
public struct Stamp: Sendable, Hashable, Codable {
    public var user: String
    public var at: Date

    public init(user: String, at: Date) {
        self.user = user
        self.at = at
    }
}
