import Foundation
import SKMCore
import SKMPrimitives
import SKMStorage
import SKMTestSupport
import Synchronization
import Testing

/// The storage implementations under test. Each case makes a fresh, empty storage. The PostgreSQL cases run when
/// the test PostgreSQL is there (scripts/test.sh starts one); ``PostgresAvailabilityTests`` fails when it is not.
enum StorageKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case cachedSQLite
    case postgres
    case cachedPostgres

    /// The kinds this run can make.
    static var available: [StorageKind] {
        allCases.filter { !$0.needsPostgres || TestPostgres.isAvailable }
    }

    var needsPostgres: Bool { self == .postgres || self == .cachedPostgres }

    func make() async throws -> any Storage {
        switch self {
        case .memory: return InMemoryStorage()
        case .sqlite: return try SQLiteStorage(path: temporaryDatabasePath())
        case .cachedSQLite: return CachingStorage(try SQLiteStorage(path: temporaryDatabasePath()))
        case .postgres: return try await TestPostgres.makeStorage()
        case .cachedPostgres: return CachingStorage(try await TestPostgres.makeStorage())
        }
    }

    var testDescription: String { rawValue }
}

func temporaryDatabasePath() -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("skm.sqlite").path
}

/// One suite, run against every ``Storage`` implementation.
@Suite struct StorageConformanceTests {
    let stamp = Stamp(user: "test", at: referenceTime)

    func seed(_ storage: any Storage) async throws -> (KeyStore, ManagedKey) {
        let appkey = Appkey(id: "AAAABBBBCCCCDDDD", name: "p", created: stamp)
        let store = KeyStore(
            id: 1, appkey: appkey.id, name: "s", description: "", ip4AuthUse: true, macAuthUse: false,
            certificateAuthUse: false, authMode: .and, created: stamp, lastChange: stamp)
        let key = ManagedKey(
            id: String(repeating: "a", count: 32), appkey: appkey.id, keyStoreId: 1, name: "k", description: "",
            type: .symmetric, status: .active, autoRotationPeriod: 30, nextRotationAt: referenceTime + 30 * day,
            deletionAt: nil, latestVersion: 0, created: stamp, lastChange: stamp)
        try await storage.commit(
            ChangeSet([
                .insert(.appkey(appkey)), .insert(.keyStore(store)), .insert(.key(key)),
                .insert(
                    .keyVersion(
                        KeyVersion(keyId: key.id, number: 0, status: .inService, created: stamp, lastChange: stamp))),
                .putSealed(.keyMaterial(keyId: key.id, version: 0), Data([1, 2, 3])),
            ]))
        return (store, key)
    }

    @Test(arguments: StorageKind.available)
    func rowsRoundTrip(_ kind: StorageKind) async throws {
        let storage = try await kind.make()
        let (store, key) = try await seed(storage)
        #expect(try await storage.keyStore(id: 1) == store)
        #expect(try await storage.key(id: key.id) == key)
        #expect(try await storage.keys(keyStoreId: 1) == [key])
        #expect(try await storage.keyStores(appkey: store.appkey) == [store])
        #expect(try await storage.appkeys().map(\.id) == ["AAAABBBBCCCCDDDD"])
        let entry = AuthEntry(
            id: 7, appkey: store.appkey, keyStoreId: 1, kind: .certificate, value: "c", description: "d",
            status: .inService,
            certificate: IssuedCertificate(
                serialNumber: "01", sha256: "ff", subject: "CN=c", issuer: "CN=ca", notBefore: referenceTime,
                notAfter: referenceTime + day, pem: "PEM"), created: stamp, lastChange: stamp)
        try await storage.commit(ChangeSet([.insert(.authEntry(entry))]))
        #expect(try await storage.authEntry(id: 7) == entry)
        let context = try #require(try await storage.keyContext(keyId: key.id))
        #expect(context.store == store)
        #expect(context.versions.map(\.number) == [0])
        #expect(context.authEntries == [entry])
        #expect(context.sealedMaterial == [0: Data([1, 2, 3])])
        #expect(try await storage.keyContext(keyId: String(repeating: "b", count: 32)) == nil)
    }

    @Test(arguments: StorageKind.available)
    func updatesNeedTheRevisionTheyWereComputedFrom(_ kind: StorageKind) async throws {
        let storage = try await kind.make()
        let (_, key) = try await seed(storage)
        var changed = key
        changed.status = .pendingDeletion
        try await storage.commit(ChangeSet([.update(.key(changed))]))
        let stored = try #require(try await storage.key(id: key.id))
        #expect(stored.status == .pendingDeletion)
        #expect(stored.revision == key.revision + 1)
        // The same stale row again is a conflict.
        await #expect {
            try await storage.commit(ChangeSet([.update(.key(changed))]))
        } throws: { ($0 as? StorageError)?.code == .conflict }
        var ghost = key
        ghost.id = String(repeating: "c", count: 32)
        await #expect {
            try await storage.commit(ChangeSet([.update(.key(ghost))]))
        } throws: { ($0 as? StorageError)?.code == .missing }
    }

    @Test(arguments: StorageKind.available)
    func aFailedCommitLeavesNothingBehind(_ kind: StorageKind) async throws {
        let storage = try await kind.make()
        let (store, key) = try await seed(storage)
        var stale = key
        stale.revision = 99
        let newStore = KeyStore(
            id: 2, appkey: store.appkey, name: "other", description: "", ip4AuthUse: true, macAuthUse: false,
            certificateAuthUse: false, authMode: .and, created: stamp, lastChange: stamp)
        await #expect(throws: StorageError.self) {
            try await storage.commit(
                ChangeSet([
                    .insert(.keyStore(newStore)), .putSealed(.authorityKey, Data([9])),
                    .appendEvent(
                        AuditEvent(
                            time: referenceTime, actor: "t", action: .keyRotate, appkey: store.appkey, targetKind: .key,
                            targetId: key.id, changes: [])),
                    .update(.key(stale)),
                ]))
        }
        #expect(try await storage.keyStore(id: 2) == nil)
        #expect(try await storage.sealedItem(.authorityKey) == nil)
        #expect(try await storage.events(after: 0, limit: 10).isEmpty)
    }

    @Test(arguments: StorageKind.available)
    func namesAndValuesAreUniqueAmongLiveRows(_ kind: StorageKind) async throws {
        let storage = try await kind.make()
        let (store, _) = try await seed(storage)
        var twin = store
        twin.id = 2
        await #expect {
            try await storage.commit(ChangeSet([.insert(.keyStore(twin))]))
        } throws: { ($0 as? StorageError)?.code == .duplicate }
        twin.status = .deleted
        try await storage.commit(ChangeSet([.insert(.keyStore(twin))]))

        func entry(_ id: Int, _ status: EntryStatus) -> AuthEntry {
            AuthEntry(
                id: id, appkey: store.appkey, keyStoreId: 1, kind: .ipv4, value: "10.0.0.1", description: "",
                status: status, created: stamp, lastChange: stamp)
        }
        try await storage.commit(ChangeSet([.insert(.authEntry(entry(1, .deleted)))]))
        try await storage.commit(ChangeSet([.insert(.authEntry(entry(2, .inService)))]))
        await #expect {
            try await storage.commit(ChangeSet([.insert(.authEntry(entry(3, .pendingDeletion)))]))
        } throws: { ($0 as? StorageError)?.code == .duplicate }
    }

    @Test(arguments: StorageKind.available)
    func sequencesEventsAndSealedItems(_ kind: StorageKind) async throws {
        let storage = try await kind.make()
        let (store, key) = try await seed(storage)
        #expect(try await storage.nextIdentifier(for: .keyStore) == 1)
        #expect(try await storage.nextIdentifier(for: .keyStore) == 2)
        #expect(try await storage.nextIdentifier(for: .authEntry) == 1)
        for index in 0..<5 {
            try await storage.commit(
                ChangeSet([
                    .appendEvent(
                        AuditEvent(
                            time: referenceTime + Double(index), actor: "a\(index)", action: .keyRotate,
                            appkey: store.appkey, targetKind: .keyVersion, targetId: key.id, keyStoreId: 1,
                            keyId: key.id, keyVersion: index,
                            changes: [.init(field: "latestVersion", before: nil, after: "\(index)")]))
                ]))
        }
        let events = try await storage.events(after: 2, limit: 2)
        #expect(events.map(\.sequence) == [3, 4])
        #expect(events.first?.actor == "a2")
        #expect(events.first?.changes == [.init(field: "latestVersion", before: nil, after: "2")])
        #expect(events.first?.time == referenceTime + 2)

        try await storage.commit(
            ChangeSet([
                .putSealed(.keyMaterial(keyId: key.id, version: 1), Data([4])),
                .putSealed(.keyMaterial(keyId: key.id, version: 1), Data([5])),
                .putSetting("x", Data([6])),
            ]))
        #expect(try await storage.sealedItem(.keyMaterial(keyId: key.id, version: 1)) == Data([5]))
        #expect(try await storage.setting("x") == Data([6]))
        try await storage.commit(ChangeSet([.deleteSealedItems(prefix: "key/\(key.id)/")]))
        #expect(try await storage.keyContext(keyId: key.id)?.sealedMaterial.isEmpty == true)
    }

    @Test(arguments: StorageKind.available)
    func dueWorkListsWhatFellDue(_ kind: StorageKind) async throws {
        let storage = try await kind.make()
        let (_, key) = try await seed(storage)
        #expect(try await storage.dueWork(at: referenceTime + 29 * day).isEmpty)
        #expect(try await storage.dueWork(at: referenceTime + 30 * day).keysToRotate.map(\.id) == [key.id])
        var pending = key
        pending.status = .pendingDeletion
        pending.deletionAt = referenceTime + 7 * day
        try await storage.commit(ChangeSet([.update(.key(pending))]))
        let due = try await storage.dueWork(at: referenceTime + 7 * day)
        #expect(due.keysToPurge.map(\.id) == [key.id])
        #expect(due.keysToRotate.isEmpty)
    }

    /// Deleting a key store deletes its entries with it, certificate material included, in one commit.
    @Test(arguments: StorageKind.available)
    func deletingAKeyStoreDeletesItsEntries(_ kind: StorageKind) async throws {
        let fixture = try await Fixture.make(storage: try await kind.make())
        let engine = fixture.engine
        let store = try await fixture.store("payments", certificate: true, mode: .or)
        try await fixture.allow("10.0.0.0/8", in: store)
        let certificate = try await engine.issueCertificate(
            appkey: fixture.appkey, store: .id(store.id), name: "app", password: "pw", lifetimeDays: 30,
            actor: "test")
        #expect(try await engine.storage.sealedItem(.certificatePassword(entryId: certificate.id)) != nil)
        _ = try await engine.deleteKeyStore(appkey: fixture.appkey, store: .id(store.id), actor: "test")
        let entries = try await engine.storage.authEntries(keyStoreId: store.id)
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0.status == .deleted }, "\(entries.map(\.status))")
        #expect(try await engine.storage.sealedItem(.certificatePassword(entryId: certificate.id)) == nil)
        let deletions = try await engine.storage.events(after: 0, limit: 100).filter { $0.action == .authDelete }
        #expect(deletions.count == 2)
    }

    /// A change made by a User Access Key revoked after it authenticated is refused by the commit itself.
    @Test(arguments: StorageKind.available)
    func aRevokedKeyCannotCommit(_ kind: StorageKind) async throws {
        let fixture = try await Fixture.make(storage: try await kind.make())
        let engine = fixture.engine
        let spare = try await engine.createUserAccessKey(appkey: fixture.appkey, actor: "test")
        _ = try await engine.revokeUserAccessKey(appkey: fixture.appkey, id: spare.accessKey.id, actor: "test")
        await #expect {
            _ = try await engine.createKeyStore(
                appkey: fixture.appkey,
                settings: KeyStoreSettings(
                    name: "late", ip4AuthUse: true, macAuthUse: false, certificateAuthUse: false, authMode: .and),
                actor: "uak:\(spare.accessKey.id)")
        } throws: { ($0 as? Rejection)?.error == .unauthorized }
        #expect(try await engine.storage.keyStores(appkey: fixture.appkey).isEmpty)
        // The key in service still can.
        _ = try await engine.createKeyStore(
            appkey: fixture.appkey,
            settings: KeyStoreSettings(
                name: "ok", ip4AuthUse: true, macAuthUse: false, certificateAuthUse: false, authMode: .and),
            actor: "uak:\(fixture.accessKeyID)")
    }

    /// Call counts add up across commits (as several nodes' flushes do) and are read back by appkey and period; the
    /// engine adds what it has not written yet.
    @Test(arguments: StorageKind.available)
    func callCountsAddUp(_ kind: StorageKind) async throws {
        let fixture = try await Fixture.make(storage: try await kind.make())
        let engine = fixture.engine
        let storage = engine.storage
        let decrypt = UsageCell(
            day: "2026-09-20", appkey: "AppkeyA000000001", keyId: String(repeating: "ab", count: 16),
            operation: "decrypt", result: "success")
        let failed = UsageCell(
            day: "2026-09-21", appkey: "AppkeyA000000001", keyId: nil, operation: "encrypt",
            result: "Invalid Key ID")
        let other = UsageCell(
            day: "2026-09-21", appkey: "AppkeyB000000002", keyId: nil, operation: "encrypt", result: "success")
        try await storage.commit(ChangeSet([.addCallCounts([decrypt: 12_400, failed: 3, other: 1])]))
        try await storage.commit(ChangeSet([.addCallCounts([decrypt: 600])]))
        #expect(
            try await storage.callCounts(appkey: "AppkeyA000000001", from: "2026-09-01", through: "2026-09-30")
                == [decrypt: 13_000, failed: 3])
        #expect(
            try await storage.callCounts(appkey: "AppkeyA000000001", from: "2026-09-21", through: "2026-09-21")
                == [failed: 3])
        #expect(
            try await storage.callCounts(appkey: "AppkeyC000000003", from: "2000-01-01", through: "2999-12-31").isEmpty)
        // Calls the engine counted and has not written yet are in its answer, and in the storage's after a flush.
        engine.noteCall(
            appkey: "AppkeyA000000001", keyId: String(repeating: "ab", count: 16), operation: .decrypt, error: nil,
            at: Timestamp.parse("2026-09-20T23:59:59Z")!)
        // A key id the engine did not find is not a cell of its own.
        engine.noteCall(
            appkey: "AppkeyA000000001", keyId: String(repeating: "cd", count: 16), operation: .encrypt,
            error: .invalidKeyID, at: Timestamp.parse("2026-09-21T00:00:00Z")!)
        engine.noteCall(
            appkey: "AppkeyA000000001", keyId: nil, operation: .encrypt, error: .invalidAppkey,
            at: Timestamp.parse("2026-09-21T00:00:00Z")!)
        let expected: [UsageCell: Int] = [decrypt: 13_001, failed: 4]
        #expect(
            try await engine.callCounts(appkey: "AppkeyA000000001", from: "2026-09-01", through: "2026-09-30")
                == expected)
        try await engine.flushUsage()
        #expect(
            try await storage.callCounts(appkey: "AppkeyA000000001", from: "2026-09-01", through: "2026-09-30")
                == expected)
        #expect(
            try await engine.callCounts(appkey: "AppkeyA000000001", from: "2026-09-01", through: "2026-09-30")
                == expected)
    }

    /// The same scripted history through the engine leaves the same state in every implementation.
    @Test func engineHistoryIsTheSameOnEveryStorage() async throws {
        var states: [StoredState] = []
        for kind in StorageKind.available {
            let fixture = try await Fixture.make(storage: try await kind.make(), seed: 42)
            let engine = fixture.engine
            let store = try await fixture.store("payments", mac: true, mode: .or)
            try await fixture.allow("10.0.0.0/8", in: store)
            try await fixture.allow("aa:bb:cc:dd:ee:ff", in: store, kind: .mac)
            let key = try await fixture.key(.symmetric, in: store, period: 30)
            _ = try await fixture.key(.secret, in: store, name: "db")
            _ = try await engine.importSymmetricKey(
                appkey: fixture.appkey, store: .id(store.id), name: "byok", material: Data(repeating: 9, count: 32),
                actor: "ops")
            _ = try await engine.importAuthEntries(
                appkey: fixture.appkey, store: .id(store.id), csv: "value\n10.8.0.0/16\n02:00:00:00:00:0a\n",
                actor: "ops")
            _ = try await engine.rotateKey(appkey: fixture.appkey, keyId: key.id, actor: "ops")
            _ = try await engine.scheduleVersionDeletion(
                appkey: fixture.appkey, keyId: key.id, version: 0, actor: "ops")
            _ = try await engine.scheduleAuthDeletion(
                appkey: fixture.appkey, store: .id(store.id), kind: .mac, value: "AA:BB:CC:DD:EE:FF", actor: "ops")
            fixture.clock.advance(by: 40 * day)
            let report = await engine.runDueWork()
            #expect(report.total == 3)
            var state = try await engine.storage.exportState()
            // UAK salts come from the system's generator on purpose; everything else is repeatable.
            for index in state.userAccessKeys.indices {
                state.userAccessKeys[index].salt = Data()
                state.userAccessKeys[index].secretDigest = Data()
            }
            states.append(state)
        }
        #expect(states[0].events.count == 16)
        #expect(states[0].keys.filter(\.imported).map(\.name) == ["byok"])
        #expect(states[0].authEntries.map(\.value).contains("02:00:00:00:00:0a"))
        for state in states.dropFirst() {
            #expect(states[0].keys == state.keys)
            #expect(states[0].versions == state.versions)
            #expect(states[0].authEntries == state.authEntries)
            #expect(states[0].events == state.events)
            #expect(states[0] == state)
        }
    }
}

@Suite struct CachingStorageTests {
    /// A cached key context keeps the material it opened: the next version after a rotation is used at once, and
    /// blobs of every version still open.
    @Test func openedMaterialFollowsRotations() async throws {
        let fixture = try await Fixture.make(
            storage: CachingStorage(try SQLiteStorage(path: temporaryDatabasePath()), lifetime: .seconds(3600)))
        let store = try await fixture.store()
        try await fixture.allow("127.0.0.1", in: store)
        let key = try await fixture.key(.symmetric, in: store)
        var blobs: [(String, String)] = []
        for round in 0..<3 {
            for text in ["a\(round)", "b\(round)"] {
                let outcome = await fixture.call(.encrypt, key: key.id, body: ["plaintext": .string(text)])
                #expect(outcome.body?["keyVersion"] == .int(round))
                blobs.append((text, try #require(outcome.string("ciphertext"))))
            }
            _ = try await fixture.engine.rotateKey(appkey: fixture.appkey, keyId: key.id, actor: "t")
        }
        for (text, blob) in blobs {
            let outcome = await fixture.call(.decrypt, key: key.id, body: ["ciphertext": .string(blob)])
            #expect(outcome.string("plaintext") == text)
        }
    }

    @Test func ownWritesAreSeenAtOnceOtherProcessesWithinTheLifetime() async throws {
        let path = temporaryDatabasePath()
        let fixture = try await Fixture.make(
            storage: CachingStorage(try SQLiteStorage(path: path), lifetime: .seconds(3600)))
        let store = try await fixture.store()
        try await fixture.allow("127.0.0.1", in: store)
        let key = try await fixture.key(.symmetric, in: store)
        #expect(await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"]).error == nil)
        // A change through the same engine is seen at once.
        _ = try await fixture.engine.scheduleKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "t")
        #expect(await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"]).error == .invalidKeyID)
        _ = try await fixture.engine.cancelKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "t")
        #expect(await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"]).error == nil)
        // A change by another process (another connection to the file) is seen after the lifetime, here after an
        // explicit invalidation.
        let other = try await Engine.open(storage: try SQLiteStorage(path: path), rootKey: testRootKey)
        _ = try await other.scheduleKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "cli")
        #expect(await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"]).error == nil)
        (fixture.engine.storage as? CachingStorage)?.invalidate()
        #expect(await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"]).error == .invalidKeyID)
    }

    /// A key its store lets 127.0.0.1 use, and a long-lived cache over a storage that counts key-context reads.
    static func keyBehindCountingCache() async throws -> (Fixture, ManagedKey, SlowCountingStorage, CachingStorage) {
        let fixture = try await Fixture.make()
        let store = try await fixture.store()
        try await fixture.allow("127.0.0.1", in: store)
        let key = try await fixture.key(.symmetric, in: store)
        let base = SlowCountingStorage(base: fixture.engine.storage)
        return (fixture, key, base, CachingStorage(base, lifetime: .seconds(3600)))
    }

    /// Requests that miss one key's context at once read the base once; a request after a commit does not share
    /// a read that began before it; a request whose shared read was cancelled with its maker reads for itself.
    @Test func missesAtOnceShareOneReadButNotAcrossACommit() async throws {
        let (_, key, base, cache) = try await Self.keyBehindCountingCache()
        let contexts = try await withThrowingTaskGroup(of: KeyContext?.self) { group in
            for _ in 0..<20 { group.addTask { try await cache.keyContext(keyId: key.id) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(contexts.count == 20)
        #expect(contexts.allSatisfy { $0?.key.id == key.id })
        #expect(base.reads == 1)
        #expect(try await cache.keyContext(keyId: key.id)?.key.id == key.id)
        #expect(base.reads == 1)

        // A read in flight when the cache is emptied (as a commit empties it) is not shared with a later request.
        cache.invalidate()
        async let first = cache.keyContext(keyId: key.id)
        try await base.waitForReads(2)
        cache.invalidate()
        async let second = cache.keyContext(keyId: key.id)
        _ = try await (first, second)
        #expect(base.reads == 3)

        // A request waiting on a read whose own request is cancelled reads for itself, and is answered.
        cache.invalidate()
        base.delayNextRead(by: .seconds(10))
        let leader = Task { try await cache.keyContext(keyId: key.id) }
        try await base.waitForReads(4)
        async let waiter = cache.keyContext(keyId: key.id)
        try await Task.sleep(for: .milliseconds(50))
        leader.cancel()
        #expect(try await waiter?.key.id == key.id)
        await #expect(throws: CancellationError.self) { try await leader.value }
        #expect(base.reads == 5)
    }

    /// The synchronous reads the data-call path uses answer what the cache holds while it is fresh, a known absence
    /// included, and nothing once the entry was emptied by a commit or expired; the engine's data calls then read
    /// the base only when the cache has no fresh answer.
    @Test func synchronousReadsAnswerOnlyWhatIsFresh() async throws {
        let (fixture, key, base, cache) = try await Self.keyBehindCountingCache()
        #expect(cache.cachedAppkey(id: fixture.appkey) == nil)
        #expect(cache.cachedKeyContext(keyId: key.id) == nil)
        _ = try await cache.appkey(id: fixture.appkey)
        _ = try await cache.appkey(id: "ZZZZZZZZZZZZZZZZ")
        _ = try await cache.keyContext(keyId: key.id)
        #expect(cache.cachedAppkey(id: fixture.appkey)??.id == fixture.appkey)
        #expect(cache.cachedAppkey(id: "ZZZZZZZZZZZZZZZZ") == .some(nil))
        #expect(cache.cachedKeyContext(keyId: key.id)??.key.id == key.id)
        #expect(cache.cachedKeyContext(keyId: "0123456789abcdef0123456789abcdef") == nil)
        cache.invalidate()
        #expect(cache.cachedAppkey(id: fixture.appkey) == nil)
        #expect(cache.cachedKeyContext(keyId: key.id) == nil)
        // An expired entry is not answered either (a cache of its own, with a lifetime short enough to wait out).
        let brief = CachingStorage(fixture.engine.storage, lifetime: .milliseconds(50))
        _ = try await brief.keyContext(keyId: key.id)
        try await Task.sleep(for: .milliseconds(200))
        #expect(brief.cachedKeyContext(keyId: key.id) == nil)

        let engine = try await Engine.open(
            storage: cache, rootKey: testRootKey, configuration: .init(clock: fixture.clock.clock))
        let reads = base.reads
        let request = APIRequest(
            operation: .encrypt, apiVersion: .v1_3, appkey: fixture.appkey, keyId: key.id,
            body: .json(["plaintext": "x"]))
        for _ in 0..<5 { #expect(await engine.execute(request, from: ClientIdentity.local).error == nil) }
        #expect(base.reads == reads + 1)
        cache.invalidate()
        #expect(await engine.execute(request, from: ClientIdentity.local).error == nil)
        #expect(base.reads == reads + 2)
    }

    @Test func entriesExpire() async throws {
        let base = InMemoryStorage()
        // Long enough for the two reads below to fall within it on a machine busy with the rest of the suite.
        let cache = CachingStorage(base, lifetime: .milliseconds(600))
        let appkey = Appkey(id: "AAAABBBBCCCCDDDD", name: "p", created: Stamp(user: "t", at: referenceTime))
        #expect(try await cache.appkey(id: appkey.id) == nil)
        try await base.commit(ChangeSet([.insert(.appkey(appkey))]))
        #expect(try await cache.appkey(id: appkey.id) == nil)
        try await Task.sleep(for: .milliseconds(700))
        #expect(try await cache.appkey(id: appkey.id) == appkey)
    }
}

/// Forwards to `base`, counting key-context reads, each of which takes a while (so that requests overlap): 100 ms,
/// or what ``delayNextRead(by:)`` set. The wait ends early, in `CancellationError`, when its task is cancelled.
final class SlowCountingStorage: Storage, Sendable {
    let base: any Storage
    private let state = Mutex((reads: 0, nextDelay: Duration?.none))

    init(base: any Storage) {
        self.base = base
    }

    var reads: Int { state.withLock { $0.reads } }

    func delayNextRead(by delay: Duration) {
        state.withLock { $0.nextDelay = delay }
    }

    /// Returns once `count` reads have begun (whatever the machine's load); fails after 30 s.
    func waitForReads(_ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while reads < count {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func keyContext(keyId: String) async throws -> KeyContext? {
        let delay = state.withLock { state in
            state.reads += 1
            defer { state.nextDelay = nil }
            return state.nextDelay ?? .milliseconds(100)
        }
        try await Task.sleep(for: delay)
        return try await base.keyContext(keyId: keyId)
    }

    func setting(_ name: String) async throws -> Data? { try await base.setting(name) }
    func settings(prefix: String) async throws -> [String: Data] { try await base.settings(prefix: prefix) }
    func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int {
        try await base.nextIdentifier(for: sequence)
    }
    func appkey(id: String) async throws -> Appkey? { try await base.appkey(id: id) }
    func appkeys() async throws -> [Appkey] { try await base.appkeys() }
    func userAccessKey(id: String) async throws -> UserAccessKey? { try await base.userAccessKey(id: id) }
    func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        try await base.userAccessKeys(appkey: appkey)
    }
    func keyStore(id: Int) async throws -> KeyStore? { try await base.keyStore(id: id) }
    func keyStores(appkey: String) async throws -> [KeyStore] { try await base.keyStores(appkey: appkey) }
    func key(id: String) async throws -> ManagedKey? { try await base.key(id: id) }
    func keys(keyStoreId: Int) async throws -> [ManagedKey] { try await base.keys(keyStoreId: keyStoreId) }
    func versions(keyId: String) async throws -> [KeyVersion] { try await base.versions(keyId: keyId) }
    func authEntry(id: Int) async throws -> AuthEntry? { try await base.authEntry(id: id) }
    func authEntries(keyStoreId: Int) async throws -> [AuthEntry] { try await base.authEntries(keyStoreId: keyStoreId) }
    func sealedItem(_ context: SealContext) async throws -> Data? { try await base.sealedItem(context) }
    func events(after sequence: Int, limit: Int) async throws -> [AuditEvent] {
        try await base.events(after: sequence, limit: limit)
    }
    func dueWork(at now: Date) async throws -> DueWork { try await base.dueWork(at: now) }
    func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] {
        try await base.callCounts(appkey: appkey, from: from, through: through)
    }
    func exportState() async throws -> StoredState { try await base.exportState() }
    func commit(_ changes: ChangeSet) async throws { try await base.commit(changes) }
}
