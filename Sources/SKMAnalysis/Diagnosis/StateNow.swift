import Foundation
import SKMCore
import SKMRules

/// What a group's requests would meet against the state as it is now (when the snapshot was taken), and the latest
/// change since the group's last request that touched its key or key store: a cause dealt with since the incident
/// is said so, rather than a fix recommended again.
package struct StateNow: Sendable {
    /// When the state is from: the snapshot's time. Against it, the group's requests would succeed.
    package var time: Date
    /// The latest change since the group's last request to its key, key store or appkey.
    package var since: AuditEvent?
}

extension Diagnoser {
    /// The decision procedure replayed for `request` against the snapshot's state, when the request would succeed
    /// there; `nil` when it would still fail (the cause holds, or time has brought another: an expired token, an
    /// expired certificate) or the state now cannot decide it.
    package func stateNow(of request: CapturedRequest, lastSeen: Date) -> StateNow? {
        let snapshotTime = facts.timeline.snapshot.generatedAt
        guard snapshotTime > lastSeen else { return nil }
        var now = request
        now.record.time = snapshotTime
        now.serverTimeKnown = true
        // The logged error stays the one to explain: a cause only elimination names (a wrong secret, which no log
        // shows) still holds now.
        let prediction = rules.predict(facts: facts.facts(for: now), logged: request.record.response.resultCode)
        guard prediction.unknownsBefore.isEmpty, prediction.failure == nil else { return nil }
        let record = request.record
        var storeId: Int?
        if let keyId = record.keyId { storeId = facts.timeline.key(keyId, at: snapshotTime)?.entity.keyStoreId }
        let since = facts.timeline.snapshot.events.last {
            $0.time > lastSeen && $0.time <= snapshotTime
                && (($0.keyId != nil && $0.keyId == record.keyId)
                    || ($0.keyStoreId != nil && $0.keyStoreId == storeId)
                    || ($0.targetKind == .appkey && $0.targetId == record.appkey))
        }
        return StateNow(time: snapshotTime, since: since)
    }
}
