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

    /// Creations at once on two nodes (key stores, entries of one store, keys of one store): every one succeeds. A
    /// race between writers is serialised, not answered with an error (a first version answered a fifth of them
    /// with a serialization failure).
    @Test func creationsAtOnceOnTwoNodesAllSucceed() async throws {
        let location = try await TestPostgres.freshDatabase()
        let fixture = try await Fixture.make(storage: try await TestPostgres.node(location))
        let store = try await fixture.store()
        let nodes = [
            fixture.engine, try await Engine.open(storage: try await TestPostgres.node(location), rootKey: testRootKey),
        ]
        let appkey = fixture.appkey
        let failures = await withTaskGroup(of: String?.self) { group in
            for index in 0..<30 {
                let engine = nodes[index % 2]
                group.addTask {
                    do {
                        switch index % 3 {
                        case 0:
                            _ = try await engine.createKeyStore(
                                appkey: appkey,
                                settings: KeyStoreSettings(
                                    name: "s\(index)", ip4AuthUse: true, macAuthUse: false, certificateAuthUse: false),
                                actor: "a")
                        case 1:
                            _ = try await engine.addAuthEntry(
                                appkey: appkey, store: .id(store.id), kind: .ipv4, value: "10.0.0.\(index)", actor: "a")
                        default:
                            _ = try await engine.createKey(
                                appkey: appkey, store: .id(store.id), type: .secret, name: "k\(index)",
                                secretValue: "s", actor: "a")
                        }
                        return nil
                    } catch {
                        return "\(index): \(error)"
                    }
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(failures.isEmpty, "\(failures.count) of 30 failed: \(Array(failures.prefix(3)))")
        let stores = try await fixture.engine.storage.keyStores(appkey: appkey)
        #expect(stores.count == 11)
        #expect(Set(stores.map(\.id)).count == stores.count)
        #expect(try await fixture.engine.storage.authEntries(keyStoreId: store.id).count == 10)
        #expect(try await fixture.engine.storage.keys(keyStoreId: store.id).count == 10)
    }

    /// A User Access Key revoked on one node while another makes changes with it: no change it made is recorded
    /// after its revocation (a first version checked the key before taking its place in the order of events).
    @Test func nothingARevokedKeyDidIsRecordedAfterItsRevocation() async throws {
        let location = try await TestPostgres.freshDatabase()
        let fixture = try await Fixture.make(storage: try await TestPostgres.node(location))
        let store = try await fixture.store()
        let issued = try await fixture.engine.createUserAccessKey(appkey: fixture.appkey, actor: "ops")
        let actor = "uak:\(issued.accessKey.id)"
        let nodeB = try await Engine.open(storage: try await TestPostgres.node(location), rootKey: testRootKey)
        let appkey = fixture.appkey
        async let creations: Void = withTaskGroup(of: Void.self) { group in
            for index in 0..<24 {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(index * 10))
                    _ = try? await nodeB.createKey(
                        appkey: appkey, store: .id(store.id), type: .secret, name: "k\(index)", secretValue: "s",
                        actor: actor)
                }
            }
        }
        // Revoked while the creations go on: once the first is recorded.
        while try await fixture.engine.storage.events(after: 0, limit: 10_000).allSatisfy({ $0.actor != actor }) {
            try await Task.sleep(for: .milliseconds(2))
        }
        _ = try await fixture.engine.revokeUserAccessKey(appkey: appkey, id: issued.accessKey.id, actor: "ops")
        await creations
        let events = try await fixture.engine.storage.events(after: 0, limit: 10_000)
        let revoked = try #require(events.first { $0.action == .userAccessKeyRevoke }?.sequence)
        let after = events.filter { $0.actor == actor && $0.sequence > revoked }
        #expect(after.isEmpty, "\(after.count) changes by the revoked key recorded after its revocation")
        #expect(events.contains { $0.actor == actor && $0.sequence < revoked }, "the race did not happen")
    }

    /// Two initialisations of one database at once: one succeeds, the other is refused, and the keys made after
    /// open with the winner's root key (a first version let both succeed, the second sealing the first's keys away).
    @Test func twoInitialisationsAtOnceLeaveOneInstallation() async throws {
        let location = try await TestPostgres.freshDatabase()
        let keys = [RootKey.generate(), RootKey.generate()]
        let nodes = [try await TestPostgres.node(location), try await TestPostgres.node(location)]
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<2 {
                group.addTask {
                    (
                        index,
                        await succeeds { _ = try await Engine.initialize(storage: nodes[index], rootKey: keys[index]) }
                    )
                }
            }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.values.filter { $0 }.count == 1, "\(outcomes)")
        let winner = try #require(outcomes.first { $0.value }?.key)
        let engine = try await Engine.open(storage: nodes[1 - winner], rootKey: keys[winner])
        _ = try await engine.createAppkey(name: "after", actor: "ops")
        await #expect(throws: (any Error).self) {
            try await Engine.open(storage: nodes[winner], rootKey: keys[1 - winner])
        }
    }

    /// Nodes starting together on a new database: one migrates, the others wait and find the schema made.
    @Test func nodesStartingTogetherOnANewDatabaseAllOpen() async throws {
        let location = try await TestPostgres.freshDatabase()
        let opened = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    do {
                        _ = try await TestPostgres.node(location)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(opened.isEmpty, "\(opened)")
    }

    /// A change that waited too long for the write lock fails, and the node goes on working: its connection goes back
    /// to the pool outside any transaction (a first version left it inside the failed one, and every later query on
    /// that connection failed, reads included).
    @Test func aLockTimeoutLeavesTheNodeWorking() async throws {
        let location = try await TestPostgres.freshDatabase()
        let fixture = try await Fixture.make(storage: try await TestPostgres.node(location))
        let store = try await fixture.store()
        let node = try await Engine.open(
            storage: try await TestPostgres.node(location, maximumConnections: 1, lockTimeout: .milliseconds(300)),
            rootKey: testRootKey)
        try await TestPostgres.holdingTheWriteLock(location) {
            let refused = await succeeds {
                _ = try await node.createKey(
                    appkey: fixture.appkey, store: .id(store.id), type: .secret, name: "late", secretValue: "s",
                    actor: "a")
            }
            #expect(!refused, "a change was made while another session held the write lock")
        }
        // The same single connection serves a read and a change afterwards.
        #expect(try await node.storage.keyStore(id: store.id) != nil)
        _ = try await node.createKey(
            appkey: fixture.appkey, store: .id(store.id), type: .secret, name: "after", secretValue: "s", actor: "a")
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
        // Schemes are case-insensitive; an IPv6 literal loses its brackets; each part is decoded once.
        let upper = try PostgresStorage.Location(url: "POSTGRES://u@[::1]:6000/a%2520b?sslmode=verify-full")
        #expect(upper.host == "::1")
        #expect(upper.database == "a%20b")
        #expect(try PostgresStorage.Location(url: "postgres://u@h/skm%252Fother").database == "skm%2Fother")
        #expect(upper.tls == .verifyFull)
        #expect(PostgresStorage.Location.isURL("Postgresql://u@h/d") && PostgresStorage.Location.isURL("postgres:u@h"))
    }

    @Test(arguments: [
        ("postgres://skm:hunter2@h/d", "holds a password"),
        ("postgres://h/d", "names no user"),
        ("postgres://u@h", "names no database"),
        ("postgres://u@h/d?sslmode=maybe", "sslmode=disable, prefer, require, verify-ca or verify-full"),
        ("postgres://u@h/d?password=x", "is not one SKM reads"),
        ("mysql://u@h/d", "not a PostgreSQL URL"),
        // What a first parser let through: a port past 65535 (which wrapped round to another), a port 0, a name
        // decoded twice (`%252F` is `/`), a fragment, a name PostgreSQL would cut, a scheme without `//`.
        ("postgres://u@h:70000/d", "is not from 1 to 65535"),
        ("postgres://u@h:0/d", "is not from 1 to 65535"),
        ("postgres://u@h/d#password=hunter2", "has a '#' part"),
        ("postgres://u@h/" + String(repeating: "d", count: 64), "longer than PostgreSQL's 63 bytes"),
        ("postgres:u@h/d", "not a PostgreSQL URL"),
        ("postgres://u@h/d?sslrootcert=/ca.pem", "with sslmode=verify-ca or verify-full only"),
        ("postgres://u@127.0.0.1%00evil.example/d", "holds a space, a control character or '/'"),
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
