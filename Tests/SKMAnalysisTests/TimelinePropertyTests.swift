import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing

/// The state the analyser rebuilds from the audit events is the state the engine had: for random sequences of
/// engine operations, the timeline read at any moment equals what the storage held then.
@Suite struct TimelinePropertyTests {
    /// What the timeline rewinds of each kind of thing, side by side with what the engine stored.
    struct Seen: Equatable, CustomStringConvertible {
        var stores: [String] = []
        var keys: [String] = []
        var versions: [String] = []
        var entries: [String] = []
        var accessKeys: [String] = []

        var description: String {
            (stores + keys + versions + entries + accessKeys).joined(separator: "\n")
        }

        static func store(_ store: KeyStore) -> String {
            "store \(store.id) \(store.status.rawValue) \(store.name) '\(store.description)' "
                + "\(store.ip4AuthUse)/\(store.macAuthUse)/\(store.certificateAuthUse) \(store.authMode.rawValue)"
        }

        static func key(_ key: ManagedKey) -> String {
            "key \(key.id.prefix(8)) \(key.status.rawValue) \(key.deletionAt.map(Timestamp.rfc3339) ?? "-") "
                + "v\(key.latestVersion) \(key.name) \(key.autoRotationPeriod)"
        }

        static func version(_ version: KeyVersion) -> String {
            "version \(version.keyId.prefix(8))/\(version.number) \(version.status.rawValue) "
                + (version.deletionAt.map(Timestamp.rfc3339) ?? "-")
        }

        static func entry(_ entry: AuthEntry) -> String {
            "entry \(entry.id) \(entry.kind.rawValue) \(entry.value) \(entry.status.rawValue) "
                + (entry.deletionAt.map(Timestamp.rfc3339) ?? "-")
        }

        /// What the engine's storage holds.
        init(stored state: StoredState) {
            stores = state.keyStores.sorted { $0.id < $1.id }.map(Self.store)
            keys = state.keys.sorted { $0.id < $1.id }.map(Self.key)
            versions = state.versions.sorted { ($0.keyId, $0.number) < ($1.keyId, $1.number) }.map(Self.version)
            entries = state.authEntries.sorted { $0.id < $1.id }.map(Self.entry)
            accessKeys = state.userAccessKeys.sorted { $0.id < $1.id }.map { "uak \($0.id) \($0.status.rawValue)" }
        }

        /// What the timeline says was there at `time`, for the things `final` holds.
        init(timeline: StateTimeline, final state: StoredState, at time: Date) {
            stores = state.keyStores.sorted { $0.id < $1.id }.compactMap {
                timeline.store($0.id, at: time).map { Self.store($0.entity) }
            }
            keys = state.keys.sorted { $0.id < $1.id }.compactMap {
                timeline.key($0.id, at: time).map { Self.key($0.entity) }
            }
            versions = state.keys.sorted { $0.id < $1.id }.flatMap {
                timeline.versions(ofKey: $0.id, at: time).map { Self.version($0.entity) }
            }
            entries = state.authEntries.sorted { $0.id < $1.id }.compactMap {
                timeline.entry($0.id, at: time).map { Self.entry($0.entity) }
            }
            accessKeys = state.userAccessKeys.sorted { $0.id < $1.id }.compactMap {
                timeline.accessKey($0.id, at: time).map { "uak \($0.entity.id) \($0.entity.status.rawValue)" }
            }
        }
    }

    /// One random operation of the engine; refusals are part of the run (they change nothing).
    static func step(_ workshop: Workshop, appkey: String) async {
        let engine = workshop.engine
        func pick<T>(_ items: [T]) -> T? {
            items.isEmpty ? nil : items[Int.random(in: 0..<items.count, using: &workshop.random)]
        }
        let state = (try? await engine.storage.exportState()) ?? StoredState()
        let store = pick(state.keyStores.filter { $0.status == .active })
        let key = pick(state.keys)
        let entry = pick(state.authEntries)
        let flag = { Bool.random(using: &workshop.random) }
        let actor = "cli:property"
        do {
            switch Int.random(in: 0..<14, using: &workshop.random) {
            case 0:
                _ = try await engine.createKeyStore(
                    appkey: appkey,
                    settings: KeyStoreSettings(
                        name: "s\(state.keyStores.count)", ip4AuthUse: true, macAuthUse: flag(),
                        certificateAuthUse: false, authMode: flag() ? .and : .or), actor: actor)
            case 1:
                guard let store else { return }
                _ = try await engine.updateKeyStore(
                    appkey: appkey, store: .id(store.id),
                    settings: KeyStoreSettings(
                        name: flag() ? store.name : store.name + "x", description: flag() ? "" : "d",
                        ip4AuthUse: flag(), macAuthUse: true, certificateAuthUse: flag(), authMode: flag() ? .and : .or),
                    actor: actor)
            case 2:
                guard let store else { return }
                _ = try await engine.deleteKeyStore(appkey: appkey, store: .id(store.id), actor: actor)
            case 3:
                guard let store else { return }
                let type: KeyType = pick([.symmetric, .secret, .asymmetric]) ?? .symmetric
                _ = try await engine.createKey(
                    appkey: appkey, store: .id(store.id), type: type, name: "k\(state.keys.count)",
                    autoRotationPeriod: flag() ? 0 : 30, secretValue: type == .secret ? "v" : nil, actor: actor)
            case 4:
                guard let key else { return }
                _ = try await engine.rotateKey(appkey: appkey, keyId: key.id, actor: actor)
            case 5:
                guard let key else { return }
                _ = try await engine.scheduleKeyDeletion(appkey: appkey, keyId: key.id, actor: actor)
            case 6:
                guard let key else { return }
                _ = try await engine.cancelKeyDeletion(appkey: appkey, keyId: key.id, actor: actor)
            case 7:
                guard let key else { return }
                _ = try await engine.deleteKey(appkey: appkey, keyId: key.id, actor: actor)
            case 8:
                guard let key else { return }
                let version = Int.random(in: 0...key.latestVersion, using: &workshop.random)
                if flag() {
                    _ = try await engine.scheduleVersionDeletion(
                        appkey: appkey, keyId: key.id, version: version, actor: actor)
                } else {
                    _ = try await engine.cancelVersionDeletion(
                        appkey: appkey, keyId: key.id, version: version, actor: actor)
                }
            case 9:
                guard let store else { return }
                let octet = Int.random(in: 1...20, using: &workshop.random)
                _ = try await engine.addAuthEntry(
                    appkey: appkey, store: .id(store.id), kind: flag() ? .ipv4 : .mac,
                    value: flag() ? "10.\(octet).0.0/16" : "02:00:00:00:00:\(String(format: "%02x", octet))",
                    actor: actor)
            case 10:
                guard let entry, let owner = state.keyStores.first(where: { $0.id == entry.keyStoreId }) else {
                    return
                }
                let reference = KeyStoreReference.id(owner.id)
                switch Int.random(in: 0..<3, using: &workshop.random) {
                case 0:
                    _ = try await engine.scheduleAuthDeletion(
                        appkey: appkey, store: reference, kind: entry.kind, value: entry.value, actor: actor)
                case 1:
                    _ = try await engine.cancelAuthDeletion(
                        appkey: appkey, store: reference, kind: entry.kind, value: entry.value, actor: actor)
                default:
                    _ = try await engine.deleteAuthEntry(
                        appkey: appkey, store: reference, kind: entry.kind, value: entry.value, actor: actor)
                }
            case 11:
                let accessKey = pick(state.userAccessKeys.filter { $0.status == .inService })
                if let accessKey, flag() {
                    _ = try await engine.revokeUserAccessKey(appkey: appkey, id: accessKey.id, actor: actor)
                } else if let accessKey {
                    _ = try await engine.rotateUserAccessKey(appkey: appkey, id: accessKey.id, actor: actor)
                } else {
                    _ = try await engine.createUserAccessKey(appkey: appkey, actor: actor)
                }
            case 12:
                // Days pass: purges and automatic rotations fall due.
                workshop.wait(Double(Int.random(in: 1...9, using: &workshop.random)) * day)
                _ = await engine.runDueWork()
            default:
                workshop.wait(Double(Int.random(in: 1...3600, using: &workshop.random)))
            }
        } catch {
            // A refusal changes nothing: still a step the timeline must agree with.
        }
    }

    @Test(arguments: 0..<12)
    func theTimelineRebuildsTheStateTheEngineHad(_ seed: Int) async throws {
        let workshop = try await Workshop(seed: UInt64(seed) &* 7919 &+ 1)
        let (appkey, _) = try await workshop.appkey("property")
        var moments: [(time: Date, state: StoredState)] = []
        for _ in 0..<150 {
            workshop.tick()
            await Self.step(workshop, appkey: appkey)
            moments.append((workshop.clock.now, try await workshop.engine.storage.exportState()))
        }
        let final = try #require(moments.last?.state)
        let timeline = StateTimeline(try await workshop.snapshot("property-\(seed)"))
        #expect(final.events.count > 20, "the run changed too little to prove anything")
        for (index, moment) in moments.enumerated() {
            // After the step's changes (stamped with its time) and before the next step's.
            let time = moment.time.addingTimeInterval(0.5)
            let rebuilt = Seen(timeline: timeline, final: final, at: time)
            let held = Seen(stored: moment.state)
            #expect(
                rebuilt == held, "seed \(seed), step \(index): the timeline says\n\(rebuilt)\nthe engine held\n\(held)")
            if rebuilt != held { break }
        }
    }
}
