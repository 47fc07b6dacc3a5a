import Foundation
import SKMCore
import SKMStorage
import SKMTestSupport
import Testing

/// Several nodes on one PostgreSQL database, each with its own connection pool and cache, as several `skm serve`
/// processes run.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs the test PostgreSQL: scripts/test.sh starts one"))
struct PostgresNodesTests {
    /// Two nodes' commits held open together where PostgreSQL lets them (each has written, neither has committed;
    /// a row lock may make one wait for the other instead): a key created on one while the other deletes its key
    /// store. One wins; the other re-reads and is refused; never both.
    @Test func racingCommitsOnTwoNodesNeverBothWin() async throws {
        let location = try await TestPostgres.freshDatabase()
        let fixture = try await Fixture.make(storage: try await TestPostgres.node(location))
        for round in 0..<4 {
            let store = try await fixture.store("race\(round)")
            let rendezvous = Rendezvous(parties: 2, patience: .milliseconds(300))
            let hold: @Sendable () async -> Void = { await rendezvous.arrive() }
            let nodeA = try await Engine.open(
                storage: try await TestPostgres.node(location, beforeCommit: hold), rootKey: testRootKey)
            let nodeB = try await Engine.open(
                storage: try await TestPostgres.node(location, beforeCommit: hold), rootKey: testRootKey)
            async let created = succeeds {
                _ = try await nodeA.createKey(
                    appkey: fixture.appkey, store: .id(store.id), type: .secret, name: "k", secretValue: "s",
                    actor: "a")
            }
            async let deleted = succeeds {
                _ = try await nodeB.deleteKeyStore(appkey: fixture.appkey, store: .id(store.id), actor: "b")
            }
            let (keyMade, storeGone) = await (created, deleted)
            #expect(keyMade != storeGone, "round \(round): created \(keyMade), deleted \(storeGone)")
            let stored = try #require(try await fixture.engine.storage.keyStore(id: store.id))
            let live = try await fixture.engine.storage.keys(keyStoreId: store.id).filter { $0.status != .deleted }
            #expect(stored.status == (storeGone ? .deleted : .active))
            #expect(live.count == (keyMade ? 1 : 0))
        }
    }

    /// A change made on one node is enforced on another whose cache would otherwise keep the old state for an
    /// hour: the commit's notification empties it.
    @Test func aChangeOnOneNodeIsEnforcedOnTheOtherAtOnce() async throws {
        let location = try await TestPostgres.freshDatabase()
        let fixture = try await Fixture.make(storage: try await TestPostgres.node(location))
        let store = try await fixture.store()
        try await fixture.allow("127.0.0.1", in: store)
        let key = try await fixture.key(.symmetric, in: store)

        let base = try await TestPostgres.node(location)
        let cache = CachingStorage(base, lifetime: .seconds(3600))
        let listening = Task { await base.listenForChanges { cache.invalidate() } }
        defer { listening.cancel() }
        let nodeB = try await Engine.open(storage: cache, rootKey: testRootKey)
        let request = APIRequest(
            operation: .encrypt, apiVersion: .v1_3, appkey: fixture.appkey, keyId: key.id,
            body: .json(["plaintext": "x"]))
        #expect(await nodeB.execute(request, from: .local).error == nil)

        _ = try await fixture.engine.scheduleKeyDeletion(appkey: fixture.appkey, keyId: key.id, actor: "ops")
        let clock = ContinuousClock()
        let start = clock.now
        var refused = false
        while clock.now - start < .seconds(2) {
            if await nodeB.execute(request, from: .local).error == .invalidKeyID {
                refused = true
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(refused, "node B still encrypted 2 s after node A scheduled the key's deletion")
        #expect(clock.now - start < .seconds(1))
    }

    /// Due work runs on one node at a time: while one holds the job, another skips it.
    @Test func dueWorkRunsOnOneNodeAtATime() async throws {
        let location = try await TestPostgres.freshDatabase()
        let nodeA = try await TestPostgres.node(location)
        let nodeB = try await TestPostgres.node(location)
        let inside = try await nodeA.exclusively("due-work") {
            try await nodeB.exclusively("due-work") { "B ran while A held the job" }
        }
        #expect(inside == .some(nil))
        // Released: the other node can take it now.
        #expect(try await nodeB.exclusively("due-work") { "B" } == "B")
    }
}

/// What `--db postgres://…` accepts, and what a user is told when the database cannot be used.
@Suite struct PostgresLocationTests {
    @Test func aURLNamesUserHostPortDatabaseAndTLS() throws {
        let location = try PostgresStorage.Location(url: "postgres://skm@db.internal:6543/keys?sslmode=require")
        #expect(location.username == "skm")
        #expect(location.host == "db.internal")
        #expect(location.port == 6543)
        #expect(location.database == "keys")
        #expect(location.tls == .require)
        #expect(location.description == "postgres://skm@db.internal:6543/keys")
        #expect(try PostgresStorage.Location(url: "postgresql://u@h/d").port == 5432)
    }

    @Test(arguments: [
        ("postgres://skm:hunter2@h/d", "holds a password"),
        ("postgres://h/d", "names no user"),
        ("postgres://u@h", "names no database"),
        ("postgres://u@h/d?sslmode=maybe", "sslmode=disable, prefer or require"),
        ("postgres://u@h/d?password=x", "is not one SKM reads"),
        ("mysql://u@h/d", "not a PostgreSQL URL"),
    ])
    func badURLsAreRefusedWithTheReason(_ url: String, _ reason: String) {
        #expect {
            _ = try PostgresStorage.Location(url: url)
        } throws: { error in
            let message = (error as? StorageError)?.reason ?? ""
            return message.contains(reason) && !message.contains("hunter2")
        }
    }

    @Test(.enabled(if: TestPostgres.isAvailable, "needs the test PostgreSQL: scripts/test.sh starts one"))
    func aRefusedLoginSaysSoWithoutThePassword() async throws {
        let location = try PostgresStorage.Location(url: try #require(TestPostgres.url))
        await #expect {
            _ = try await PostgresStorage(location: location, password: "not-the-password-0451")
        } throws: { error in
            let message = "\(error)"
            return message.contains("refused the login") && !message.contains("0451")
        }
    }
}
