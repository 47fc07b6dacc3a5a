import Foundation
import SKMCore
import SKMStorage
import SKMTestSupport
import Testing

/// Changes racing each other through the engine, on every storage: whatever wins, the state stays one the engine
/// could have reached by running them one after the other.
@Suite struct ConcurrencyConformanceTests {
    /// Keys created while their key store is deleted: never a live key in a deleted store.
    @Test(arguments: StorageKind.available)
    func creatingKeysRacesDeletingTheirStore(_ kind: StorageKind) async throws {
        let fixture = try await Fixture.make(storage: try await kind.make())
        let engine = fixture.engine
        for round in 0..<20 {
            let store = try await fixture.store("race\(round)")
            let results = await withTaskGroup(of: (deletion: Bool, succeeded: Bool).self) { group in
                for index in 0..<2 {
                    group.addTask {
                        let made = await succeeds {
                            _ = try await engine.createKey(
                                appkey: fixture.appkey, store: .id(store.id), type: .secret, name: "k\(index)",
                                secretValue: "s", actor: "a")
                        }
                        return (false, made)
                    }
                }
                group.addTask {
                    let gone = await succeeds {
                        _ = try await engine.deleteKeyStore(appkey: fixture.appkey, store: .id(store.id), actor: "b")
                    }
                    return (true, gone)
                }
                return await Array(group)
            }
            let storeGone = results.contains { $0.deletion && $0.succeeded }
            let keysMade = results.filter { !$0.deletion && $0.succeeded }.count
            let stored = try #require(try await engine.storage.keyStore(id: store.id))
            let live = try await engine.storage.keys(keyStoreId: store.id).filter { $0.status != .deleted }
            #expect(stored.status == (storeGone ? .deleted : .active))
            #expect(live.count == keysMade)
            #expect(!(storeGone && keysMade > 0), "round \(round): the store was deleted and \(keysMade) keys made")
        }
    }

    /// Rotations of one key at once: each that succeeded made exactly one version, numbered without gaps.
    @Test(arguments: StorageKind.available)
    func concurrentRotationsMakeOneVersionEach(_ kind: StorageKind) async throws {
        let fixture = try await Fixture.make(storage: try await kind.make())
        let engine = fixture.engine
        let store = try await fixture.store()
        let key = try await fixture.key(.symmetric, in: store)
        let successes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    await succeeds { _ = try await engine.rotateKey(appkey: fixture.appkey, keyId: key.id, actor: "r") }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(successes >= 1)
        let stored = try #require(try await engine.storage.key(id: key.id))
        #expect(stored.latestVersion == successes)
        #expect(try await engine.storage.versions(keyId: key.id).map(\.number) == Array(0...successes))
        let rotations = try await engine.storage.events(after: 0, limit: 1000).filter { $0.action == .keyRotate }
        #expect(rotations.count == successes)
    }

    /// The same address registered from several clients at once is registered once; different addresses
    /// registered while the store is deleted never outlive it.
    @Test(arguments: StorageKind.available)
    func concurrentAuthChanges(_ kind: StorageKind) async throws {
        let fixture = try await Fixture.make(storage: try await kind.make())
        let engine = fixture.engine
        let store = try await fixture.store()
        let registered = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    await succeeds {
                        _ = try await engine.addAuthEntry(
                            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.1.2.3", actor: "c")
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(registered == 1)
        #expect(try await engine.storage.authEntries(keyStoreId: store.id).count == 1)

        let doomed = try await fixture.store("doomed")
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                group.addTask {
                    _ = await succeeds {
                        _ = try await engine.addAuthEntry(
                            appkey: fixture.appkey, store: .id(doomed.id), kind: .ipv4, value: "10.9.0.\(index)",
                            actor: "c")
                    }
                }
            }
            group.addTask {
                _ = await succeeds {
                    _ = try await engine.deleteKeyStore(appkey: fixture.appkey, store: .id(doomed.id), actor: "d")
                }
            }
        }
        let after = try #require(try await engine.storage.keyStore(id: doomed.id))
        let entries = try await engine.storage.authEntries(keyStoreId: doomed.id)
        if after.status == .deleted {
            #expect(entries.allSatisfy { $0.status == .deleted }, "\(entries.map(\.status))")
        }
        // Every change that took effect is in the audit trail, in the order the events were numbered.
        let events = try await engine.storage.events(after: 0, limit: 1000)
        #expect(events.map(\.sequence) == events.map(\.sequence).sorted())
        #expect(events.filter { $0.action == .authAdd && $0.keyStoreId == doomed.id }.count == entries.count)
    }

    /// Change requests of the approval workflow made at once get a number each, and approvals of one request racing
    /// each other make its change once: one approval succeeds, the others find nothing waiting.
    @Test(arguments: StorageKind.available)
    func changeRequestsAndTheirApprovalsRace(_ kind: StorageKind) async throws {
        let fixture = try await Fixture.make(storage: try await kind.make())
        let engine = fixture.engine
        let appkey = fixture.appkey
        let store = try await fixture.store()
        _ = try await engine.setApprovalRequired(
            appkey: appkey, true, approvers: ["cli:a1", "cli:a2", "cli:a3"], actor: "cli:ops")
        let numbers = await withTaskGroup(of: Int?.self) { group in
            for index in 0..<6 {
                group.addTask {
                    do {
                        _ = try await engine.createKey(
                            appkey: appkey, store: .id(store.id), type: .symmetric, name: "k\(index)", actor: "cli:m")
                        return nil
                    } catch let waiting as ChangeAwaitsApproval {
                        return waiting.request.id
                    } catch {
                        return nil
                    }
                }
            }
            return await Array(group).compactMap { $0 }
        }
        #expect(numbers.sorted() == Array(1...6))
        let approvals = await withTaskGroup(of: Bool.self) { group in
            for approver in ["cli:a1", "cli:a2", "cli:a3"] {
                group.addTask {
                    await succeeds {
                        _ = try await engine.decideChange(appkey: appkey, id: 3, approve: true, actor: approver)
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(approvals == 1)
        #expect(try await engine.storage.keys(keyStoreId: store.id).count == 1)
        #expect(try await engine.pendingChanges(appkey: appkey).map(\.id) == [1, 2, 4, 5, 6])
        let decisions = try await engine.storage.events(after: 0, limit: 1000).filter { $0.action == .changeApprove }
        #expect(decisions.count == 1)
        // Approvals racing rejections of a secret's creation: one decision; the others are told nothing waits.
        for round in 0..<3 {
            var secret: ChangeRequest?
            do {
                _ = try await engine.createKey(
                    appkey: appkey, store: .id(store.id), type: .secret, name: "s\(round)", secretValue: "v",
                    actor: "cli:m")
            } catch let waiting as ChangeAwaitsApproval {
                secret = waiting.request
            }
            let id = try #require(secret).id
            let outcomes = await withTaskGroup(of: String.self) { group in
                for (index, approver) in ["cli:a1", "cli:a2", "cli:a3", "cli:a1", "cli:a2", "cli:a3"].enumerated() {
                    group.addTask {
                        do {
                            _ = try await engine.decideChange(
                                appkey: appkey, id: id, approve: index % 2 == 0, actor: approver)
                            return "decided"
                        } catch let error as ApprovalError where error.code == .nothingWaiting {
                            return "nothing waits"
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await Array(group)
            }
            #expect(outcomes.filter { $0 == "decided" }.count == 1, "\(outcomes)")
            #expect(outcomes.allSatisfy { $0 == "decided" || $0 == "nothing waits" }, "\(outcomes)")
        }
    }
}

/// Whether `body` ran without throwing: a refusal (the other side of the race won) is an expected outcome.
func succeeds(_ body: () async throws -> Void) async -> Bool {
    do {
        try await body()
        return true
    } catch {
        return false
    }
}

/// The tests on PostgreSQL need the test server; without it they cannot run, and this says so instead of passing.
@Suite struct PostgresAvailabilityTests {
    @Test func theTestPostgreSQLIsThere() throws {
        if !TestPostgres.isAvailable { Issue.record(Comment(rawValue: TestPostgres.unavailable)) }
    }
}
