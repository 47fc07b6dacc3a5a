import struct Foundation.Date

/// The life cycle of a key: In Service, then 7 days of pending deletion, then a tombstone.
package enum KeyStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case active = "ACTIVE"
    case pendingDeletion = "PENDING_DELETION"
    case deleted = "DELETED"

    /// How SKM's console names the status.
    package var displayName: String {
        switch self {
        case .active: return "In Service"
        case .pendingDeletion: return "Pending Deletion"
        case .deleted: return "Deleted"
        }
    }
}

/// The life cycle of a key version or a client-auth entry.
package enum EntryStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case inService = "IN_SERVICE"
    case pendingDeletion = "PENDING_DELETION"
    case deleted = "DELETED"
    /// A registration requested under the approval workflow, not yet approved: not used for authentication.
    case pendingApproval = "PENDING_APPROVAL"
    /// A pending deletion whose cancellation was requested under the approval workflow, not yet approved: still not
    /// used for authentication, and not purged while the request waits.
    case cancellationPendingApproval = "CANCELLATION_PENDING_APPROVAL"

    package var displayName: String {
        switch self {
        case .inService: return "In Service"
        case .pendingDeletion: return "Pending Deletion"
        case .deleted: return "Deleted"
        case .pendingApproval: return "Scheduled to Register"
        case .cancellationPendingApproval: return "Scheduled to Cancel Deletion"
        }
    }

    /// Whether a change to the entry waits for an approver.
    package var awaitsApproval: Bool { self == .pendingApproval || self == .cancellationPendingApproval }
}

/// Status of a User Access Key: in service until revoked, revoked for ever (its tokens stop with it).
package enum AccessKeyStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case inService = "IN_SERVICE"
    case revoked = "REVOKED"

    package var displayName: String {
        switch self {
        case .inService: return "In Service"
        case .revoked: return "Revoked"
        }
    }
}

/// Who changed something, and when.
package struct Stamp: Sendable, Hashable, Codable {
    package var user: String
    package var at: Date

    package init(user: String, at: Date) {
        self.user = user
        self.at = at
    }
}
