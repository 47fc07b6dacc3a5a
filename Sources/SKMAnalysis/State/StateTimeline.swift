import Foundation
import SKMCore
import SKMPrimitives
import Synchronization

/// A key manager's state at any moment of its history: the snapshot's final state, rewound through the audit
/// events that happened at or after that moment.
///
/// "The state at a request's time" is the state the request found: what happened before it. A change stamped with
/// the request's own time is the request's own doing (the server stamps a request when it arrives and its changes
/// when it makes them), so it is not part of the state the request was judged against.
///
/// Every entity carries its creation stamp and every change is an audit event with the values before and after, so
/// the state at time T is the final state with each change after T undone, newest first, and without the entities
/// created after T. The event that set a status is kept, so that a finding can name who did what, and when.
package struct StateTimeline: Sendable {
    package let snapshot: StateSnapshot

    private let appkeys: [String: Appkey]
    private let accessKeys: [String: StateSnapshot.AccessKey]
    private let stores: [Int: KeyStore]
    private let storesByAppkey: [String: [Int]]
    private let keys: [String: ManagedKey]
    private let keysByStore: [Int: [String]]
    private let versions: [String: [KeyVersion]]
    private let entries: [Int: AuthEntry]
    private let entriesByStore: [Int: [Int]]
    /// Events by the entity they changed, in sequence order.
    private let eventsByTarget: [TargetKey: [AuditEvent]]
    /// Events about each appkey (anything in it), in sequence order.
    private let eventsByAppkey: [String: [AuditEvent]]
    /// Every event, in sequence order.
    private let eventsInOrder: [AuditEvent]
    /// The steps of each appkey's change requests (approval workflow), by number, in sequence order.
    private let changeSteps: [String: [Int: [AuditEvent]]]
    /// The User Access Key each rotation replaced, by the key it issued.
    private let predecessors: [String: String]
    /// When each appkey's key stores were created, in order.
    private let storeCreations: [String: [Date]]
    /// The appkeys whose events are in time order as well as in sequence order (a clock that went back breaks it):
    /// only for them does the number of events before a time say which state it is, which the cache relies on.
    private let timeOrdered: Set<String>
    private let storeCache = StoreCache()
    /// Every moment at which something of an appkey was created, changed, used or due, sorted: see
    /// ``place(of:inAppkey:)``.
    private let momentsByAppkey: [String: [Date]]
    /// The same moments by the part of the state they concern: see ``place(of:in:)``.
    private let momentsByScope: [Scope: [Date]]

    /// The last key stores computed for each appkey, with what they depend on.
    private final class StoreCache: Sendable {
        struct Entry {
            var revision: Int
            var created: Int
            var stores: [KeyStore]
        }

        let entries = Mutex<[String: Entry]>([:])

        func kept(appkey: String, revision: Int, created: Int) -> [KeyStore]? {
            entries.withLock { entries in
                guard let entry = entries[appkey], entry.revision == revision, entry.created == created else {
                    return nil
                }
                return entry.stores
            }
        }

        func keep(_ stores: [KeyStore], appkey: String, revision: Int, created: Int) {
            entries.withLock { $0[appkey] = Entry(revision: revision, created: created, stores: stores) }
        }
    }

    enum TargetKey: Hashable, Sendable {
        case appkey(String)
        case accessKey(String)
        case store(Int)
        case key(String)
        case version(String, Int)
        case entry(Int)
    }

    package init(_ snapshot: StateSnapshot) {
        self.snapshot = snapshot
        appkeys = Dictionary(snapshot.appkeys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        accessKeys = Dictionary(snapshot.userAccessKeys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        stores = Dictionary(snapshot.keyStores.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        storesByAppkey = Dictionary(grouping: snapshot.keyStores.map { ($0.appkey, $0.id) }, by: \.0).mapValues {
            $0.map(\.1)
        }
        storeCreations = Dictionary(grouping: snapshot.keyStores, by: \.appkey).mapValues {
            $0.map(\.created.at).sorted()
        }
        keys = Dictionary(snapshot.keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        keysByStore = Dictionary(grouping: snapshot.keys.map { ($0.keyStoreId, $0.id) }, by: \.0).mapValues {
            $0.map(\.1)
        }
        versions = Dictionary(grouping: snapshot.keyVersions, by: \.keyId).mapValues {
            $0.sorted { $0.number < $1.number }
        }
        entries = Dictionary(snapshot.authEntries.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        entriesByStore = Dictionary(grouping: snapshot.authEntries.map { ($0.keyStoreId, $0.id) }, by: \.0).mapValues {
            $0.map(\.1).sorted()
        }
        var byTarget: [TargetKey: [AuditEvent]] = [:]
        var byAppkey: [String: [AuditEvent]] = [:]
        var steps: [String: [Int: [AuditEvent]]] = [:]
        var replaced: [String: String] = [:]
        eventsInOrder = snapshot.events.sorted(by: { $0.sequence < $1.sequence })
        for event in eventsInOrder {
            byAppkey[event.appkey, default: []].append(event)
            if event.action == .userAccessKeyRotate, let successor = event.after(.replacedBy) {
                replaced[successor] = event.targetId
            }
            if event.action.rawValue.hasPrefix("change."), let number = event.after(.changeRequest).flatMap(Int.init) {
                steps[event.appkey, default: [:]][number, default: []].append(event)
            }
            switch event.targetKind {
            case .appkey: byTarget[.appkey(event.targetId), default: []].append(event)
            case .userAccessKey: byTarget[.accessKey(event.targetId), default: []].append(event)
            case .keyStore:
                if let id = event.keyStoreId ?? Int(event.targetId) { byTarget[.store(id), default: []].append(event) }
            case .key: byTarget[.key(event.keyId ?? event.targetId), default: []].append(event)
            case .keyVersion:
                guard let keyId = event.keyId, let number = event.keyVersion else { continue }
                byTarget[.version(keyId, number), default: []].append(event)
                // A rotation is recorded on the new version but moves the key's latest version.
                if event.changes.contains(where: { $0.known == .latestVersion }) {
                    byTarget[.key(keyId), default: []].append(event)
                }
            case .authEntry:
                if let id = Int(event.targetId) { byTarget[.entry(id), default: []].append(event) }
            }
        }
        eventsByTarget = byTarget
        eventsByAppkey = byAppkey
        changeSteps = steps
        predecessors = replaced
        momentsByScope = Self.scopedMoments(snapshot, events: eventsInOrder)
        momentsByAppkey = Self.moments(snapshot, scoped: momentsByScope, events: eventsInOrder)
        timeOrdered = Set(
            byAppkey.filter { _, events in zip(events, events.dropFirst()).allSatisfy { $0.time <= $1.time } }.keys)
    }

    // MARK: - Where a time falls

    /// Where `time` falls among the moments at which anything of `appkey` was created, changed, used or due.
    ///
    /// Every fact about the appkey's entities at a time compares that time with one of those moments (an event's
    /// time, a creation, the last recorded use), so two times with the same place see the same facts: how many
    /// moments are before it, and how many at or before it (a moment equal to the time counts in the second only).
    package func place(of time: Date, inAppkey appkey: String) -> (before: Int, atOrBefore: Int) {
        guard let moments = momentsByAppkey[appkey] else { return (0, 0) }
        return (moments.partitioningIndex { $0 >= time }, moments.partitioningIndex { $0 > time })
    }

    /// A part of the state whose facts at a time depend only on that time's place among the part's own moments.
    package enum Scope: Hashable, Sendable {
        /// An appkey itself and the names and statuses of its key stores (not their settings or contents).
        case appkeyStores(String)
        /// A key store, its settings, its client-authentication entries and which of its keys are live.
        case store(Int)
        /// A key and its versions.
        case key(String)
        case accessKey(String)
    }

    /// Where `time` falls among the moments at which anything in `scope` was created, changed, used or due: two
    /// times with the same place see the same facts of that part of the state.
    package func place(of time: Date, in scope: Scope) -> (before: Int, atOrBefore: Int) {
        guard let moments = momentsByScope[scope] else { return (0, 0) }
        return (moments.partitioningIndex { $0 >= time }, moments.partitioningIndex { $0 > time })
    }

    /// The appkey an entity of the snapshot belongs to, at any time.
    package func owner(ofKey id: String) -> String? { keys[id]?.appkey }
    package func owner(ofAccessKey id: String) -> String? { accessKeys[id]?.appkey }
    package func owner(ofStore id: Int) -> String? { stores[id]?.appkey }
    package func store(ofKey id: String) -> Int? { keys[id]?.keyStoreId }

    /// Each appkey's moments: those of every part of the state it owns, and the times of the events recorded for it.
    private static func moments(
        _ snapshot: StateSnapshot, scoped: [Scope: [Date]], events: [AuditEvent]
    ) -> [String: [Date]] {
        let storeOwners = Dictionary(snapshot.keyStores.map { ($0.id, $0.appkey) }, uniquingKeysWith: { a, _ in a })
        let keyOwners = Dictionary(snapshot.keys.map { ($0.id, $0.appkey) }, uniquingKeysWith: { a, _ in a })
        let accessKeyOwners = Dictionary(
            snapshot.userAccessKeys.map { ($0.id, $0.appkey) }, uniquingKeysWith: { a, _ in a })
        var moments: [String: [Date]] = [:]
        for (scope, dates) in scoped {
            let owner: String?
            switch scope {
            case .appkeyStores(let appkey): owner = appkey
            case .store(let id): owner = storeOwners[id]
            case .key(let id): owner = keyOwners[id]
            case .accessKey(let id): owner = accessKeyOwners[id]
            }
            if let owner { moments[owner, default: []] += dates }
        }
        for event in events { moments[event.appkey, default: []].append(event.time) }
        return moments.mapValues { Array(Set($0)).sorted() }
    }

    private static func scopedMoments(_ snapshot: StateSnapshot, events: [AuditEvent]) -> [Scope: [Date]] {
        var moments: [Scope: [Date]] = [:]
        func add(_ scope: Scope?, _ dates: Date?...) {
            guard let scope else { return }
            moments[scope, default: []].append(contentsOf: dates.compactMap { $0 })
        }
        let storeOwners = Dictionary(snapshot.keyStores.map { ($0.id, $0.appkey) }, uniquingKeysWith: { a, _ in a })
        let keyStores = Dictionary(snapshot.keys.map { ($0.id, $0.keyStoreId) }, uniquingKeysWith: { a, _ in a })
        let entryStores = Dictionary(
            snapshot.authEntries.map { ($0.id, $0.keyStoreId) }, uniquingKeysWith: { a, _ in a })
        for appkey in snapshot.appkeys { add(.appkeyStores(appkey.id), appkey.created.at) }
        for key in snapshot.userAccessKeys { add(.accessKey(key.id), key.created.at) }
        for store in snapshot.keyStores {
            add(.appkeyStores(store.appkey), store.created.at)
            add(.store(store.id), store.created.at, store.lastChange.at)
        }
        for key in snapshot.keys {
            let dates = [key.created.at, key.lastChange.at, key.deletionAt, key.lastAccessAt, key.nextRotationAt]
            // Which of a key store's keys are live is a fact of the store.
            for scope in [Scope.key(key.id), .store(key.keyStoreId)] {
                moments[scope, default: []] += dates.compactMap { $0 }
            }
        }
        for version in snapshot.keyVersions {
            add(.key(version.keyId), version.created.at, version.lastChange.at, version.deletionAt)
        }
        for entry in snapshot.authEntries {
            add(
                .store(entry.keyStoreId), entry.created.at, entry.lastChange.at, entry.deletionAt, entry.lastAccessAt,
                entry.certificate?.notBefore, entry.certificate?.notAfter)
        }
        for event in events {
            switch event.targetKind {
            case .appkey:
                add(.appkeyStores(event.targetId), event.time)
            case .userAccessKey:
                add(.accessKey(event.targetId), event.time)
            case .keyStore:
                guard let id = event.keyStoreId ?? Int(event.targetId) else { continue }
                add(.store(id), event.time)
                // A key store's name and status are facts of its appkey; a change of fields unknown here counts too.
                if event.changes.contains(where: { $0.known == nil || $0.known == .name || $0.known == .status }) {
                    add(.appkeyStores(storeOwners[id] ?? event.appkey), event.time)
                }
            case .key, .keyVersion:
                let id = event.keyId ?? event.targetId
                add(.key(id), event.time)
                add(keyStores[id].map(Scope.store), event.time)
            case .authEntry:
                add((Int(event.targetId).flatMap { entryStores[$0] } ?? event.keyStoreId).map(Scope.store), event.time)
            }
        }
        return moments.mapValues { Array(Set($0)).sorted() }
    }

    // MARK: - What the snapshot holds at all

    /// Whether the snapshot has an appkey, User Access Key, key store or key of this id, at any time. A snapshot
    /// read through the API holds only what is live in the appkey it was fetched for, so its "no" is not a fact.
    package func holds(appkey id: String) -> Bool { appkeys[id] != nil }
    package func holds(accessKey id: String) -> Bool { accessKeys[id] != nil }
    package func holds(store id: Int) -> Bool { stores[id] != nil }
    package func holds(key id: String) -> Bool { keys[id] != nil }

    /// The audit event with this sequence number.
    package func event(sequence: Int) -> AuditEvent? {
        let index = eventsInOrder.partitioningIndex { $0.sequence >= sequence }
        return index < eventsInOrder.endIndex && eventsInOrder[index].sequence == sequence ? eventsInOrder[index] : nil
    }

    // MARK: - Entities at a time

    /// An entity as it was at a time, with the event that last set its status (at or before that time).
    package struct AtTime<Entity: Sendable>: Sendable {
        package var entity: Entity
        package var statusEvent: AuditEvent?
    }

    package func appkey(_ id: String, at time: Date) -> Appkey? {
        guard let appkey = appkeys[id], appkey.created.at < time else { return nil }
        return appkey
    }

    package func accessKey(_ id: String, at time: Date) -> AtTime<StateSnapshot.AccessKey>? {
        guard var key = accessKeys[id], key.created.at < time else { return nil }
        let statusEvent = rewind(.accessKey(id), to: time) { field, before in
            switch field {
            case .status: if let value = before.flatMap(AccessKeyStatus.init(rawValue:)) { key.status = value }
            // Set once, when the key is made or replaced: nothing to rewind.
            case .name, .replacedBy: break
            case .description, .type, .kind, .value, .deletionAt, .latestVersion, .autoRotationPeriod, .ip4AuthUse,
                .macAuthUse, .certificateAuthUse, .authMode, .sha256, .notAfter, .member, .changeRequest, .change:
                break
            }
        }
        return AtTime(entity: key, statusEvent: statusEvent)
    }

    package func store(_ id: Int, at time: Date) -> AtTime<KeyStore>? {
        guard var store = stores[id], store.created.at < time else { return nil }
        let statusEvent = rewind(.store(id), to: time) { field, before in
            switch field {
            case .status: if let value = before.flatMap(KeyStore.Status.init(rawValue:)) { store.status = value }
            case .name: if let before { store.name = before }
            case .description: store.description = before ?? ""
            case .ip4AuthUse: if let before { store.ip4AuthUse = before == "Y" }
            case .macAuthUse: if let before { store.macAuthUse = before == "Y" }
            case .certificateAuthUse: if let before { store.certificateAuthUse = before == "Y" }
            case .authMode: if let value = before.flatMap(AuthMode.init(rawValue:)) { store.authMode = value }
            // Not fields of a key store.
            case .type, .kind, .value, .deletionAt, .latestVersion, .autoRotationPeriod, .sha256, .notAfter,
                .replacedBy, .member, .changeRequest, .change:
                break
            }
        }
        return AtTime(entity: store, statusEvent: statusEvent)
    }

    /// The key stores of an appkey at a time, deleted ones included.
    ///
    /// They are the same for every time with the same events of the appkey before it and the same stores created
    /// before it, so the last answer for each appkey is kept and given again while both stay the same: requests of
    /// an incident come in time order, and most fall between two changes.
    package func stores(ofAppkey appkey: String, at time: Date) -> [KeyStore] {
        let ids = storesByAppkey[appkey] ?? []
        guard eventsByAppkey[appkey] == nil || timeOrdered.contains(appkey) else {
            return ids.compactMap { store($0, at: time)?.entity }
        }
        let revision = eventsByAppkey[appkey].map { $0.partitioningIndex { $0.time >= time } } ?? 0
        let created = storeCreations[appkey].map { $0.partitioningIndex { $0 >= time } } ?? 0
        if let kept = storeCache.kept(appkey: appkey, revision: revision, created: created) { return kept }
        let stores = ids.compactMap { store($0, at: time)?.entity }
        storeCache.keep(stores, appkey: appkey, revision: revision, created: created)
        return stores
    }

    package func key(_ id: String, at time: Date) -> AtTime<ManagedKey>? {
        guard var key = keys[id], key.created.at < time else { return nil }
        let statusEvent = rewind(.key(id), to: time) { field, before in
            switch field {
            case .status: if let value = before.flatMap(KeyStatus.init(rawValue:)) { key.status = value }
            case .deletionAt: key.deletionAt = before.flatMap(Timestamp.parse)
            case .latestVersion: if let value = before.flatMap(Int.init) { key.latestVersion = value }
            case .name: if let before { key.name = before }
            case .autoRotationPeriod: if let value = before.flatMap(Int.init) { key.autoRotationPeriod = value }
            // Set once, when the key is made.
            case .type: break
            // Not fields of a key.
            case .description, .kind, .value, .ip4AuthUse, .macAuthUse, .certificateAuthUse, .authMode, .sha256,
                .notAfter, .replacedBy, .member, .changeRequest, .change:
                break
            }
        }
        return AtTime(entity: key, statusEvent: statusEvent)
    }

    /// The keys of a key store at a time.
    package func keys(inStore id: Int, at time: Date) -> [ManagedKey] {
        (keysByStore[id] ?? []).compactMap { key($0, at: time)?.entity }
    }

    /// A key's versions at a time, oldest first.
    package func versions(ofKey id: String, at time: Date) -> [AtTime<KeyVersion>] {
        (versions[id] ?? []).compactMap { version in
            guard version.created.at < time else { return nil }
            var version = version
            let statusEvent = rewind(.version(id, version.number), to: time) { field, before in
                switch field {
                case .status: if let value = before.flatMap(EntryStatus.init(rawValue:)) { version.status = value }
                case .deletionAt: version.deletionAt = before.flatMap(Timestamp.parse)
                // A rotation's event: the key's latest version moved, not this version.
                case .latestVersion: break
                // Not fields of a version.
                case .name, .description, .type, .kind, .value, .autoRotationPeriod, .ip4AuthUse, .macAuthUse,
                    .certificateAuthUse, .authMode, .sha256, .notAfter, .replacedBy, .member, .changeRequest, .change:
                    break
                }
            }
            return AtTime(entity: version, statusEvent: statusEvent)
        }
    }

    package func entry(_ id: Int, at time: Date) -> AtTime<AuthEntry>? {
        guard var entry = entries[id], entry.created.at < time else { return nil }
        let statusEvent = rewind(.entry(id), to: time) { field, before in
            switch field {
            case .status: if let value = before.flatMap(EntryStatus.init(rawValue:)) { entry.status = value }
            case .deletionAt: entry.deletionAt = before.flatMap(Timestamp.parse)
            // Set once, when the entry is registered or the certificate issued.
            case .kind, .value, .sha256, .notAfter: break
            // Not fields of an entry.
            case .name, .description, .type, .latestVersion, .autoRotationPeriod, .ip4AuthUse, .macAuthUse,
                .certificateAuthUse, .authMode, .replacedBy, .member, .changeRequest, .change:
                break
            }
        }
        return AtTime(entity: entry, statusEvent: statusEvent)
    }

    /// The approval workflow of an appkey before `time`, replayed from its audit events: whether it was on, and who
    /// approved. Only a snapshot that holds the audit log knows it.
    package func approval(ofAppkey appkey: String, at time: Date) -> ApprovalSettings {
        var settings = ApprovalSettings()
        guard let events = eventsByTarget[.appkey(appkey)] else { return settings }
        for event in events[..<events.partitioningIndex { $0.time >= time }] {
            let member = event.changes.first { $0.known == .member }
            switch event.action {
            case .approvalEnable: settings.required = true
            case .approvalDisable: settings.required = false
            case .approverGrant:
                if let added = member?.after, !settings.approvers.contains(added) { settings.approvers.append(added) }
            case .approverRevoke:
                if let removed = member?.before { settings.approvers.removeAll { $0 == removed } }
            default: break
            }
        }
        return settings
    }

    /// Change request `number` of `appkey` as it stood before `time`: the event that asked for it, and the one that
    /// decided it if one had; `nil` when it had not been asked for yet.
    package func changeRequest(
        _ number: Int, ofAppkey appkey: String, at time: Date
    ) -> (
        request: AuditEvent, decision: AuditEvent?
    )? {
        guard let steps = changeSteps[appkey]?[number] else { return nil }
        let before = steps.prefix { $0.time < time }
        guard let request = before.first(where: { $0.action == .changeRequest }) else { return nil }
        return (request, before.last(where: { $0.action != .changeRequest }))
    }

    /// The User Access Keys that `id` replaced by rotation, and those they replaced, newest first.
    package func keysReplaced(by id: String) -> [String] {
        var replaced: [String] = []
        var current = id
        while replaced.count < 1000, let previous = predecessors[current] {
            replaced.append(previous)
            current = previous
        }
        return replaced
    }

    /// The newest request to cancel key `id`'s deletion that waited for approval at `time`, with its number.
    package func waitingCancellation(ofKey id: String, at time: Date) -> (number: Int, request: AuditEvent)? {
        guard let events = eventsByTarget[.key(id)] else { return nil }
        for event in events.prefix(while: { $0.time < time }).reversed()
        where event.action == .changeRequest && event.after(.change) == ChangeRequest.Kind.cancelKeyDeletion.rawValue {
            guard let number = event.after(.changeRequest).flatMap(Int.init),
                let found = changeRequest(number, ofAppkey: event.appkey, at: time), found.decision == nil
            else { continue }
            return (number, event)
        }
        return nil
    }

    /// The client-authentication entries of a key store at a time, deleted ones included.
    package func entries(ofStore id: Int, at time: Date) -> [AtTime<AuthEntry>] {
        (entriesByStore[id] ?? []).compactMap { entry($0, at: time) }
    }

    /// Events about an appkey's entities before a time, the newest `limit`, oldest first.
    /// The appkey's events from `start` (included) to `end` (included), in order.
    package func events(ofAppkey appkey: String, from start: Date, through end: Date) -> [AuditEvent] {
        guard let all = eventsByAppkey[appkey] else { return [] }
        let first = all.partitioningIndex { $0.time >= start }
        let last = all.partitioningIndex { $0.time > end }
        return first < last ? Array(all[first..<last]) : []
    }

    /// The first of ``events(ofAppkey:from:through:)``, without gathering the rest.
    package func firstEvent(ofAppkey appkey: String, from start: Date, through end: Date) -> AuditEvent? {
        guard let all = eventsByAppkey[appkey] else { return nil }
        let first = all.partitioningIndex { $0.time >= start }
        return first < all.endIndex && all[first].time <= end ? all[first] : nil
    }

    package func events(ofAppkey appkey: String, upTo time: Date, limit: Int) -> [AuditEvent] {
        guard let all = eventsByAppkey[appkey] else { return [] }
        let end = all.partitioningIndex { $0.time >= time }
        return Array(all[max(0, end - limit)..<end])
    }

    /// Undoes, newest first, the changes of `target`'s events at or after `time`; returns the last event before
    /// `time` that changed the status.
    private func rewind(
        _ target: TargetKey, to time: Date, undo: (_ field: AuditField, _ before: String?) -> Void
    ) -> AuditEvent? {
        guard let events = eventsByTarget[target] else { return nil }
        let boundary = events.partitioningIndex { $0.time >= time }
        for event in events[boundary...].reversed() {
            // A field this version does not know (from a newer key manager) cannot be rewound; it is passed over.
            for change in event.changes.reversed() {
                if let field = change.known { undo(field, change.before) }
            }
        }
        return events[..<boundary].last { event in event.changes.contains { $0.known == .status } }
    }
}

extension RandomAccessCollection {
    /// The index of the first element for which `belongs` holds, given that it holds for a suffix.
    func partitioningIndex(where belongs: (Element) -> Bool) -> Index {
        var low = startIndex
        var count = self.count
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if belongs(self[middle]) {
                count = half
            } else {
                low = index(after: middle)
                count -= half + 1
            }
        }
        return low
    }
}
