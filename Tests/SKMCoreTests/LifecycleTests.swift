import Foundation
import SKMCore
import SKMTestSupport
import Testing

@Suite struct LifecycleTests {
    @Test func scheduledKeyDeletionPurgesAfterSevenDays() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store()
        let key = try await fixture.key(.symmetric, in: store)
        let engine = fixture.engine
        let pending = try await engine.scheduleKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "test")
        #expect(pending.status == .pendingDeletion)
        #expect(pending.deletionAt == referenceTime + 7 * day)

        fixture.clock.advance(by: 7 * day - 1)
        #expect(await engine.runDueWork().purgedKeys == 0)
        #expect(try await engine.storage.key(id: key.id)?.status == .pendingDeletion)

        fixture.clock.advance(by: 1)
        let report = await engine.runDueWork()
        #expect(report.purgedKeys == 1)
        #expect(report.failures.isEmpty)
        let purged = try #require(try await engine.storage.key(id: key.id))
        #expect(purged.status == .deleted)
        #expect(try await engine.storage.sealedItem(.keyMaterial(keyId: key.id, version: 0)) == nil)
        let events = try await engine.storage.events(after: 0, limit: 100)
        #expect(events.last?.action == .keyPurge)
        #expect(events.last?.actor == "system:purge")
        #expect(events.last?.changes.first == .init(field: "status", before: "PENDING_DELETION", after: "DELETED"))
    }

    @Test func cancelledDeletionReturnsTheKeyToService() async throws {
        let fixture = try await Fixture.make()
        let key = try await fixture.key(.symmetric, in: try await fixture.store())
        _ = try await fixture.engine.scheduleKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "test")
        let back = try await fixture.engine.cancelKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "test")
        #expect(back.status == .active)
        #expect(back.deletionAt == nil)
        fixture.clock.advance(by: 8 * day)
        #expect(await fixture.engine.runDueWork().purgedKeys == 0)
    }

    @Test func immediateDeletionOnlyFromPendingDeletion() async throws {
        let fixture = try await Fixture.make()
        let key = try await fixture.key(.symmetric, in: try await fixture.store())
        await #expect(
            throws: Rejection(
                .deletionNeedsPendingKey,
                "key \(key.id) is In Service; deleting it now (purge) needs it Pending Deletion")
        ) {
            _ = try await fixture.engine.deleteKey(appkey: fixture.appkey, keyId: key.id, actor: "test")
        }
        _ = try await fixture.engine.scheduleKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "test")
        let deleted = try await fixture.engine.deleteKey(appkey: fixture.appkey, keyId: key.id, actor: "test")
        #expect(deleted.status == .deleted)
        // A tombstone remains, but the key answers Invalid Key ID.
        let outcome = await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"])
        #expect(outcome.error == .invalidKeyID)
        #expect(outcome.rejection?.reason.contains("deleted") == true)
        await #expect(throws: Rejection.self) {
            _ = try await fixture.engine.cancelKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "test")
        }
    }

    @Test func automaticRotationFallsDueAfterItsPeriod() async throws {
        let fixture = try await Fixture.make()
        let key = try await fixture.key(.symmetric, in: try await fixture.store(), period: 30)
        #expect(key.nextRotationAt == referenceTime + 30 * day)
        fixture.clock.advance(by: 29 * day)
        #expect(await fixture.engine.runDueWork().rotatedKeys == 0)
        fixture.clock.advance(by: day)
        #expect(await fixture.engine.runDueWork().rotatedKeys == 1)
        let rotated = try #require(try await fixture.engine.storage.key(id: key.id))
        #expect(rotated.latestVersion == 1)
        #expect(rotated.nextRotationAt == referenceTime + 60 * day)
        // Running again at the same time does nothing more.
        #expect(await fixture.engine.runDueWork().rotatedKeys == 0)
    }

    @Test(arguments: [1, 29, -1, 3651])
    func invalidRotationPeriodsAreRefused(_ period: Int) async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store()
        await #expect {
            _ = try await fixture.key(.symmetric, in: store, period: period)
        } throws: { error in
            (error as? Rejection)?.error == .invalidRequest && (error as? Rejection)?.field == "autoRotationPeriod"
        }
    }

    @Test func versionLifecycleFollowsTheSameRules() async throws {
        let fixture = try await Fixture.make()
        let key = try await fixture.key(.symmetric, in: try await fixture.store())
        let engine = fixture.engine
        let appkey = fixture.appkey
        await #expect(throws: Rejection.self) {
            _ = try await engine.scheduleVersionDeletion(appkey: appkey, keyId: key.id, version: 0, actor: "test")
        }
        _ = try await engine.rotateKey(appkey: appkey, keyId: key.id, actor: "test")
        let pending = try await engine.scheduleVersionDeletion(appkey: appkey, keyId: key.id, version: 0, actor: "test")
        #expect(pending.status == .pendingDeletion)
        #expect(pending.deletionAt == referenceTime + 7 * day)
        let back = try await engine.cancelVersionDeletion(appkey: appkey, keyId: key.id, version: 0, actor: "test")
        #expect(back.status == .inService)
        _ = try await engine.scheduleVersionDeletion(appkey: appkey, keyId: key.id, version: 0, actor: "test")
        fixture.clock.advance(by: 7 * day)
        #expect(await engine.runDueWork().purgedVersions == 1)
        #expect(try await engine.storage.versions(keyId: key.id).map(\.status) == [.deleted, .inService])
    }

    @Test func authEntryLifecycle() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store()
        let key = try await fixture.key(.symmetric, in: store)
        try await fixture.allow("10.1.2.3", in: store)
        let engine = fixture.engine
        let client = ClientIdentity.at("10.1.2.3")
        #expect(await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: client).error == nil)
        _ = try await engine.scheduleAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.1.2.3", actor: "test")
        let refused = await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: client)
        #expect(refused.error == .ipv4AuthFailure)
        #expect(refused.rejection?.reason.contains("pending deletion") == true)
        _ = try await engine.cancelAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.1.2.3", actor: "test")
        #expect(await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: client).error == nil)
        await #expect(throws: Rejection.self) {
            _ = try await engine.deleteAuthEntry(
                appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.1.2.3", actor: "test")
        }
        _ = try await engine.scheduleAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.1.2.3", actor: "test")
        fixture.clock.advance(by: 7 * day)
        #expect(await engine.runDueWork().purgedEntries == 1)
        // Registering the same address again is allowed once the old entry is a tombstone.
        try await fixture.allow("10.1.2.3", in: store)
    }

    @Test func everyStateChangeIsAudited() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store()
        let key = try await fixture.key(.symmetric, in: store)
        _ = try await fixture.engine.rotateKey(appkey: fixture.appkey, keyId: key.id, actor: "ops")
        let events = try await fixture.engine.storage.events(after: 0, limit: 100)
        #expect(events.map(\.action) == [.appkeyCreate, .userAccessKeyCreate, .keyStoreCreate, .keyCreate, .keyRotate])
        #expect(events.map(\.sequence) == [1, 2, 3, 4, 5])
        let rotation = try #require(events.last)
        #expect(rotation.actor == "ops")
        #expect(rotation.keyVersion == 1)
        #expect(rotation.changes == [.init(field: "latestVersion", before: "0", after: "1")])
    }

    @Test func keyStoreRules() async throws {
        let fixture = try await Fixture.make()
        let engine = fixture.engine
        await #expect {
            _ = try await fixture.store("none", ip4: false)
        } throws: { ($0 as? Rejection)?.error == .invalidRequest }
        let store = try await fixture.store("payments")
        await #expect {
            _ = try await fixture.store("payments")
        } throws: {
            ($0 as? Rejection)?.reason.contains("already exists") == true
                || ($0 as? Rejection)?.reason.contains("exists") == true
        }
        let key = try await fixture.key(.secret, in: store)
        await #expect(throws: Rejection.self) {
            _ = try await engine.deleteKeyStore(appkey: fixture.appkey, store: .id(store.id), actor: "test")
        }
        _ = try await engine.scheduleKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "test")
        _ = try await engine.deleteKey(appkey: fixture.appkey, keyId: key.id, actor: "test")
        let deleted = try await engine.deleteKeyStore(appkey: fixture.appkey, store: .id(store.id), actor: "test")
        #expect(deleted.status == .deleted)
        // The name is free again.
        _ = try await fixture.store("payments")
    }
}
