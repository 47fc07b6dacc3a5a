import Foundation
import SKMPrimitives

/// What moves through the deletion lifecycle (in service → pending deletion → deleted, or back to service): a key, a
/// key version, an auth entry. One rule for all three: pending deletion sets the deletion date the delay ahead, a
/// deletion sets it to now, a return to service clears it.
package protocol DeletionLifecycle {
    associatedtype Status: RawRepresentable<String> & Equatable
    static var inService: Status { get }
    static var pendingDeletion: Status { get }
    static var deleted: Status { get }
    var status: Status { get set }
    var deletionAt: Date? { get set }
    var lastChange: Stamp { get set }
}

extension ManagedKey: DeletionLifecycle {
    package static var inService: KeyStatus { .active }
    package static var pendingDeletion: KeyStatus { .pendingDeletion }
    package static var deleted: KeyStatus { .deleted }
}

extension KeyVersion: DeletionLifecycle {
    package static var inService: EntryStatus { .inService }
    package static var pendingDeletion: EntryStatus { .pendingDeletion }
    package static var deleted: EntryStatus { .deleted }
}

extension AuthEntry: DeletionLifecycle {
    package static var inService: EntryStatus { .inService }
    package static var pendingDeletion: EntryStatus { .pendingDeletion }
    package static var deleted: EntryStatus { .deleted }
}

extension Engine {
    /// A deletion step in words, for refusals people read: "scheduling the deletion", "deleting it now".
    static func doing(_ action: AuditAction) -> String {
        switch action {
        case .keyScheduleDeletion, .versionScheduleDeletion, .authScheduleDeletion: return "scheduling its deletion"
        case .keyCancelDeletion, .versionCancelDeletion, .authCancelDeletion: return "cancelling its deletion"
        case .keyDelete, .versionDelete, .authDelete: return "deleting it now (purge)"
        default: return action.rawValue
        }
    }

    /// `item` moved to `target` by `actor` at `now`, with the audit changes that record the move.
    func moved<Item: DeletionLifecycle>(
        _ item: Item, to target: Item.Status, actor: String, at now: Date
    ) -> (Item, [AuditEvent.Change]) {
        var item = item
        let before = (status: item.status, deletionAt: item.deletionAt)
        item.status = target
        item.lastChange = Stamp(user: actor, at: now)
        switch target {
        case Item.pendingDeletion: item.deletionAt = now.addingTimeInterval(configuration.deletionDelay)
        case Item.deleted: item.deletionAt = now
        default: item.deletionAt = nil
        }
        return (
            item,
            [
                .change(.status, before.status.rawValue, target.rawValue),
                .change(.deletionAt, before.deletionAt.map(Timestamp.rfc3339), item.deletionAt.map(Timestamp.rfc3339)),
            ]
        )
    }
}
