import Foundation
import SKMCore
import SKMRules

/// What a group's requests would meet against the state as it is now (when the snapshot was taken), and the latest
/// change since the group's last request that touched its key or key store: a cause dealt with since the incident
/// is said so, rather than a fix recommended again.
package struct StateNow: Sendable {
    /// When the state is from: the snapshot's time. Against it, the group's requests would succeed.
    package var time: Date
    /// The change since the group's last request after which its requests succeed: of the changes to its key, key
    /// store or appkey, the first after which the decision procedure lets the request through (and every later one
    /// keeps it so). `nil` when no single change can be named.
    package var since: AuditEvent?
}

extension Diagnoser {
    /// The decision procedure replayed for `request` against the snapshot's state, when the request would succeed
    /// there; `nil` when it would still fail (the cause holds, or time has brought another: an expired token, an
    /// expired certificate) or the state now cannot decide it.
    package func stateNow(of request: CapturedRequest, lastSeen: Date) -> StateNow? {
        let snapshotTime = facts.timeline.snapshot.generatedAt
        guard snapshotTime > lastSeen else { return nil }
        guard succeeds(request, at: snapshotTime) else { return nil }
        let record = request.record
        var storeId: Int?
        if let keyId = record.keyId { storeId = facts.timeline.key(keyId, at: snapshotTime)?.entity.keyStoreId }
        let changes = facts.timeline.snapshot.events.filter {
            $0.time > lastSeen && $0.time <= snapshotTime
                && (($0.keyId != nil && $0.keyId == record.keyId)
                    || ($0.keyStoreId != nil && $0.keyStoreId == storeId)
                    || ($0.targetKind == .appkey && $0.targetId == record.appkey))
        }
        // Walking back from the snapshot, where the request succeeds: the first change just before which it fails
        // (a change counts for requests after its instant) is the one that let it through, unless another change
        // shares its instant (which of them did cannot be told). The latest change nearby is not the answer:
        // another key of the same store may have changed since.
        var cause: AuditEvent?
        for change in changes.reversed() where !succeeds(request, at: change.time) {
            if changes.filter({ $0.time == change.time }).count == 1,
                succeeds(request, at: change.time.addingTimeInterval(0.000_5))
            {
                cause = change
            }
            break
        }
        return StateNow(time: snapshotTime, since: cause)
    }

    /// Whether `request`, made at `time` against the state then, passes the decision procedure with every fact
    /// known. The logged error stays the one to explain: a cause only elimination names (a wrong secret, which no
    /// log shows) still holds.
    private func succeeds(_ request: CapturedRequest, at time: Date) -> Bool {
        var moved = request
        moved.record.time = time
        moved.serverTimeKnown = true
        let prediction = rules.predict(facts: facts.facts(for: moved), logged: request.record.response.resultCode)
        return prediction.unknownsBefore.isEmpty && prediction.failure == nil
    }
}
