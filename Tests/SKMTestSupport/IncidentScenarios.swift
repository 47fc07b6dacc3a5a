import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMWire
import X509

/// A small deterministic random source for traffic patterns (SplitMix64).
package struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) {
        state = seed
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An installation and a recorder for one scripted incident.
package final class Workshop: @unchecked Sendable {
    package let engine: Engine
    package let clock: ManualClock
    package let recorder: TrafficRecorder
    package var random: SeededGenerator
    /// When set, the scenario's state is read through the API with this appkey's User Access Key, as `skm snapshot
    /// fetch` reads a hosted key manager's, instead of exported from the engine's storage.
    package var stateThroughAPI: (appkey: String, accessKey: IssuedAccessKey)?
    /// Files that come with the fixture besides the state and the captures (a client certificate, say).
    package var attachments: [String: Data] = [:]

    package init(
        seed: UInt64, storage: any Storage = InMemoryStorage(), v1_0ReadsNeedCredentials: Bool = false
    ) async throws {
        clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        engine = try await makeEngine(
            storage: storage, clock: clock, seed: seed, v1_0ReadsNeedCredentials: v1_0ReadsNeedCredentials)
        recorder = TrafficRecorder(engine: engine, clock: clock)
        random = SeededGenerator(seed: seed)
    }

    /// Moves the clock on by `seconds`.
    package func wait(_ seconds: TimeInterval) {
        clock.advance(by: seconds)
    }

    /// Moves the clock on by a random few seconds, as traffic does.
    package func tick() {
        clock.advance(by: Double(Int.random(in: 1...40, using: &random)))
    }

    package func appkey(_ name: String) async throws -> (appkey: String, accessKey: IssuedAccessKey) {
        let (appkey, accessKey) = try await engine.createAppkey(name: name, actor: "cli:ops")
        return (appkey.id, accessKey)
    }

    package func store(
        _ appkey: String, _ name: String, ip4: Bool = false, mac: Bool = false, certificate: Bool = false,
        mode: AuthMode = .and
    ) async throws -> KeyStore {
        try await engine.createKeyStore(
            appkey: appkey,
            settings: KeyStoreSettings(
                name: name, ip4AuthUse: ip4, macAuthUse: mac, certificateAuthUse: certificate, authMode: mode),
            actor: "cli:ops")
    }

    package func allow(_ appkey: String, _ store: KeyStore, _ kind: AuthKind, _ value: String) async throws {
        _ = try await engine.addAuthEntry(
            appkey: appkey, store: .id(store.id), kind: kind, value: value, actor: "cli:ops")
    }

    package func key(
        _ appkey: String, _ store: KeyStore, _ type: KeyType, _ name: String, secret: String? = nil
    ) async throws -> ManagedKey {
        try await engine.createKey(
            appkey: appkey, store: .id(store.id), type: type, name: name, secretValue: secret, actor: "cli:ops")
    }

    // MARK: - Calls

    package static func path(_ appkey: String, _ rest: String, version: String = "v1.2") -> String {
        "/keymanager/\(version)/appkey/\(appkey)/\(rest)"
    }

    @discardableResult
    package func send(
        _ call: HTTPCall, from client: ClientIdentity
    ) async -> (record: RequestRecord, envelope: JSONValue) {
        tick()
        return await recorder.send(call, from: client)
    }

    /// Encrypts and returns the ciphertext (nil on failure).
    @discardableResult
    package func encrypt(
        _ appkey: String, _ key: String, _ plaintext: String, from client: ClientIdentity
    ) async
        -> String?
    {
        let (_, envelope) = await send(
            HTTPCall(
                "POST", Self.path(appkey, "symmetric-keys/\(key)/encrypt"),
                headers: headers(client), body: HTTPCall.json([("plaintext", .string(plaintext))])), from: client)
        return envelope["body"]?["ciphertext"]?.stringValue
    }

    package func decrypt(_ appkey: String, _ key: String, _ ciphertext: String, from client: ClientIdentity) async {
        await send(
            HTTPCall(
                "POST", Self.path(appkey, "symmetric-keys/\(key)/decrypt"),
                headers: headers(client), body: HTTPCall.json([("ciphertext", .string(ciphertext))])), from: client)
    }

    /// The headers a client sends: JSON, and its MAC header when it has one.
    package func headers(_ client: ClientIdentity) -> [(String, String)] {
        var headers = [("Content-Type", "application/json"), ("User-Agent", "orders-service/4.2")]
        if let mac = client.macHeader { headers.append(("X-TOAST-CLIENT-MAC-ADDR", mac)) }
        if let forwarded = client.forwardedFor { headers.append(("X-Forwarded-For", forwarded)) }
        return headers
    }

    package func snapshot(_ name: String) async throws -> StateSnapshot {
        if let (appkey, accessKey) = stateThroughAPI {
            let engine = engine
            let reader = APIStateReader(appkey: appkey, accessKeyID: accessKey.accessKey.id) { path, query in
                guard case .api(let call) = APIRoute.match(method: "GET", path: path) else {
                    throw StateFetchError(.refused, subject: path, "no route")
                }
                let outcome = await engine.execute(
                    APIRequest(
                        operation: call.operation, apiVersion: call.apiVersion, appkey: call.appkey,
                        keyId: call.keyId, keyStoreId: call.keyStoreId, authKind: call.authKind, query: query,
                        credentials: Credentials(
                            userAccessKeyID: accessKey.accessKey.id, userAccessKeySecret: accessKey.secret)),
                    from: .anonymous)
                guard let body = outcome.body else {
                    throw StateFetchError(.refused, subject: path, outcome.error?.resultMessage ?? "no body")
                }
                return body
            }
            return try await reader.read(now: clock.now, location: "https://skm.example.internal (scenario \(name))")
        }
        var snapshot = try await engine.snapshot(location: "scenario \(name)")
        snapshot.generatedAt = clock.now
        return snapshot
    }
}

/// A scripted incident: an installation, what happened to it, and the traffic a support engineer receives.
package struct IncidentScenario: Sendable {
    package var name: String
    package var summary: String
    /// Whether a HAR capture of the traffic is part of the fixture.
    package var har: Bool
    package var run: @Sendable (Workshop) async throws -> Void
    /// Changes made to the request log after it was written (bytes no server would write).
    package var tamper: (@Sendable (Data) -> Data)? = nil

    /// The scenarios shipped under `Fixtures/`.
    package static let all: [IncidentScenario] = [
        rotationThenVersionDeleted, clientBehindNAT, expiredClientCertificate, proxyDropsMACHeader,
        keyScheduledForDeletion, wrongAppkeyAfterDeploy, mixedTraffic, hostileLog, releaseBreaksThreeWays,
        stateFromTheAPI, tokenOfAnotherProject, orModeNewHost, registrationsWaitForApproval,
        keyChangesWaitForApproval, certificateWaitsForApproval,
    ]

    /// Runs the scenario and returns its state snapshot, request log and (when it has one) HAR capture.
    package func record() async throws -> (snapshot: StateSnapshot, log: Data, har: Data?) {
        let recorded = try await recordAll()
        return (recorded.snapshot, recorded.log, recorded.har)
    }

    /// The same, with the files that come with the fixture.
    package func recordAll() async throws -> (
        snapshot: StateSnapshot, log: Data, har: Data?, attachments: [String: Data]
    ) {
        // A seed of its own per scenario, so that fixtures do not share identifiers.
        var seed: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { seed = (seed ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let workshop = try await Workshop(seed: seed)
        try await run(workshop)
        let log = tamper.map { $0(workshop.recorder.requestLog) } ?? workshop.recorder.requestLog
        return (try await workshop.snapshot(name), log, har ? workshop.recorder.har : nil, workshop.attachments)
    }

    // MARK: - The scenarios

    package static let rotationThenVersionDeleted = IncidentScenario(
        name: "rotation-then-version-deleted",
        summary: """
            Key "orders" is rotated; two weeks later an operator deletes its old version 0. A nightly batch job that \
            re-reads archived ciphertexts made under version 0 starts failing with Invalid Key Version.
            """, har: true
    ) { workshop in
        let (appkey, _) = try await workshop.appkey("payments project")
        let store = try await workshop.store(appkey, "payments", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.20.0.0/16")
        let key = try await workshop.key(appkey, store, .symmetric, "orders")
        let app = ClientIdentity.at("10.20.1.5")
        let batch = ClientIdentity.at("10.20.7.40")
        var archive: [String] = []
        for index in 0..<30 {
            if let blob = await workshop.encrypt(appkey, key.id, "order #\(1000 + index)", from: app) {
                archive.append(blob)
            }
        }
        workshop.wait(day)
        _ = try await workshop.engine.rotateKey(appkey: appkey, keyId: key.id, actor: "cli:ops")
        var recent: [String] = []
        for index in 0..<20 {
            if let blob = await workshop.encrypt(appkey, key.id, "order #\(2000 + index)", from: app) {
                recent.append(blob)
            }
        }
        for blob in archive.prefix(10) + recent.prefix(10) { await workshop.decrypt(appkey, key.id, blob, from: batch) }
        workshop.wait(14 * day)
        _ = try await workshop.engine.scheduleVersionDeletion(
            appkey: appkey, keyId: key.id, version: 0, actor: "cli:jkim")
        workshop.wait(8 * day)
        _ = await workshop.engine.runDueWork()
        workshop.wait(3600)
        for (index, blob) in (archive + recent).enumerated() where index % 1 == 0 {
            await workshop.decrypt(appkey, key.id, blob, from: batch)
        }
    }

    package static let clientBehindNAT = IncidentScenario(
        name: "client-behind-nat",
        summary: """
            The web tier's public addresses are registered. After a network change its traffic reaches SKM from a \
            private address behind NAT, and every call fails with IPv4 Auth Failure.
            """, har: true
    ) { workshop in
        let (appkey, _) = try await workshop.appkey("storefront")
        // The capture comes from one web host: 61.100.12.10 before the network change, 10.0.3.7 after it.
        workshop.recorder.harExcludedClients = ["61.100.12.11", "10.0.3.8"]
        let store = try await workshop.store(appkey, "web", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "61.100.12.10")
        try await workshop.allow(appkey, store, .ipv4, "61.100.12.11")
        let key = try await workshop.key(appkey, store, .symmetric, "carts")
        for index in 0..<40 {
            let client = ClientIdentity.at(index % 2 == 0 ? "61.100.12.10" : "61.100.12.11")
            if let blob = await workshop.encrypt(appkey, key.id, "cart \(index)", from: client) {
                await workshop.decrypt(appkey, key.id, blob, from: client)
            }
        }
        workshop.wait(6 * 3600)
        for index in 0..<60 {
            await workshop.encrypt(
                appkey, key.id, "cart \(100 + index)", from: .at(index % 3 == 0 ? "10.0.3.8" : "10.0.3.7"))
        }
        // Asked by support, the web tier calls GET …/confirm: the answer names the address SKM sees.
        await workshop.send(
            HTTPCall(
                "GET", Workshop.path(appkey, "confirm", version: "v1.0"), headers: workshop.headers(.at("10.0.3.7"))),
            from: .at("10.0.3.7"))
    }

    package static let expiredClientCertificate = IncidentScenario(
        name: "expired-client-certificate",
        summary: """
            The ledger service authenticates with a client certificate issued for 30 days. Nobody renews it; from \
            day 31 its calls fail with Certificate Expired, unnoticed because the service host's clock runs two days \
            behind. A test host presents a certificate of another CA.
            """, har: true
    ) { workshop in
        workshop.recorder.clientClockOffset = -2 * day
        let (appkey, _) = try await workshop.appkey("ledger")
        let store = try await workshop.store(appkey, "ledger", certificate: true)
        let entry = try await workshop.engine.issueCertificate(
            appkey: appkey, store: .id(store.id), name: "ledger-service", password: "fixture-only", lifetimeDays: 30,
            actor: "cli:ops")
        let certificate = try Certificate(pemEncoded: entry.certificate!.pem)
        workshop.attachments["client-cert.pem"] = Data(entry.certificate!.pem.utf8)
        let key = try await workshop.key(appkey, store, .symmetric, "entries")
        let service = ClientIdentity(
            address: IPv4Address("10.40.0.12"), tls: true, certificateChain: [certificate])
        for index in 0..<25 {
            await workshop.encrypt(appkey, key.id, "entry \(index)", from: service)
            workshop.wait(3600)
        }
        workshop.wait(30 * day)
        for index in 0..<45 { await workshop.encrypt(appkey, key.id, "entry \(100 + index)", from: service) }
        let foreignAuthority = try CertificateAuthority.create(commonName: "Test Lab CA", now: workshop.clock.now - day)
        let foreign = try mintCertificate(
            from: foreignAuthority, name: "ledger-test", notBefore: workshop.clock.now - day,
            notAfter: workshop.clock.now + 90 * day)
        let testHost = ClientIdentity(address: IPv4Address("10.40.9.3"), tls: true, certificateChain: [foreign])
        // The capture comes from the ledger service's host; the test host is only in the server's log.
        workshop.recorder.harExcludedClients.insert("10.40.9.3")
        for index in 0..<6 { await workshop.encrypt(appkey, key.id, "probe \(index)", from: testHost) }
    }

    package static let proxyDropsMACHeader = IncidentScenario(
        name: "proxy-drops-mac-header",
        summary: """
            Devices authenticate with their MAC address. A new reverse proxy in front of SKM does not forward the \
            X-TOAST-CLIENT-MAC-ADDR header, so every call through it fails with MAC Auth Failure; one device sends \
            its address with dots.
            """, har: false
    ) { workshop in
        let (appkey, _) = try await workshop.appkey("fleet")
        let store = try await workshop.store(appkey, "devices", mac: true)
        try await workshop.allow(appkey, store, .mac, "aa:bb:cc:00:11:22")
        try await workshop.allow(appkey, store, .mac, "aa:bb:cc:00:11:23")
        let key = try await workshop.key(appkey, store, .symmetric, "telemetry")
        for index in 0..<30 {
            let mac = index % 2 == 0 ? "AA-BB-CC-00-11-22" : "aa:bb:cc:00:11:23"
            await workshop.encrypt(appkey, key.id, "reading \(index)", from: .at("10.50.0.\(10 + index % 2)", mac: mac))
        }
        workshop.wait(2 * 3600)
        for index in 0..<50 {
            let client = ClientIdentity(
                address: IPv4Address("10.9.0.2"), peerAddress: "10.9.0.2",
                forwardedFor: "198.51.100.\(7 + index % 2)", tls: true)
            await workshop.encrypt(appkey, key.id, "reading \(100 + index)", from: client)
        }
        for index in 0..<4 {
            await workshop.encrypt(
                appkey, key.id, "reading \(200 + index)", from: .at("10.50.0.12", mac: "aa.bb.cc.00.11.22"))
        }
    }

    package static let keyScheduledForDeletion = IncidentScenario(
        name: "key-scheduled-for-deletion",
        summary: """
            While cleaning up, an operator schedules key "sessions" for deletion though the session service still \
            uses it: encryption fails with Invalid Key ID and decryption with Invalid Key Status until the deletion \
            is cancelled the next morning.
            """, har: false
    ) { workshop in
        let (appkey, _) = try await workshop.appkey("identity")
        let store = try await workshop.store(appkey, "sessions", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.60.0.0/24")
        let key = try await workshop.key(appkey, store, .symmetric, "sessions")
        let service = ClientIdentity.at("10.60.0.21")
        var tokens: [String] = []
        for index in 0..<30 {
            if let blob = await workshop.encrypt(appkey, key.id, "session \(index)", from: service) {
                tokens.append(blob)
            }
        }
        _ = try await workshop.engine.scheduleKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:mlee")
        for index in 0..<40 {
            if index % 2 == 0 {
                await workshop.encrypt(appkey, key.id, "session \(100 + index)", from: service)
            } else {
                await workshop.decrypt(appkey, key.id, tokens[index % tokens.count], from: service)
            }
        }
        workshop.wait(10 * 3600)
        _ = try await workshop.engine.cancelKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:ops")
        for index in 0..<20 { await workshop.decrypt(appkey, key.id, tokens[index % tokens.count], from: service) }
    }

    package static let wrongAppkeyAfterDeploy = IncidentScenario(
        name: "wrong-appkey-after-deploy",
        summary: """
            A deploy ships the staging configuration to production: the billing service calls with the staging \
            appkey, which this key manager does not have, while using production key ids. One instance has the \
            appkey truncated by a template bug.
            """, har: false
    ) { workshop in
        let (appkey, _) = try await workshop.appkey("billing")
        let store = try await workshop.store(appkey, "billing", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.70.0.0/24")
        let key = try await workshop.key(appkey, store, .symmetric, "invoices")
        let service = ClientIdentity.at("10.70.0.5")
        for index in 0..<30 { await workshop.encrypt(appkey, key.id, "invoice \(index)", from: service) }
        workshop.wait(3600)
        let staging = "St4gingBiLLing01"
        for index in 0..<45 { await workshop.encrypt(staging, key.id, "invoice \(100 + index)", from: service) }
        for index in 0..<5 {
            await workshop.encrypt(String(appkey.dropLast()), key.id, "invoice \(200 + index)", from: .at("10.70.0.6"))
        }
    }

    package static let mixedTraffic = IncidentScenario(
        name: "mixed-traffic",
        summary: """
            A day of ordinary traffic across two projects: most calls succeed; a handful fail for assorted reasons \
            (a ciphertext encoded twice, a truncated one, a symmetric key used to sign, a malformed body, an unknown \
            path, a wrong User Access Key secret, an oversized plaintext, a secret read with the wrong type).
            """, har: false
    ) { workshop in
        let (shop, shopAccess) = try await workshop.appkey("shop")
        let (data, _) = try await workshop.appkey("data platform")
        let shopStore = try await workshop.store(shop, "shop", ip4: true)
        try await workshop.allow(shop, shopStore, .ipv4, "10.80.0.0/16")
        let orders = try await workshop.key(shop, shopStore, .symmetric, "orders")
        let signing = try await workshop.key(shop, shopStore, .asymmetric, "receipts")
        let dbPassword = try await workshop.key(shop, shopStore, .secret, "db-password", secret: "fixture-secret")
        let dataStore = try await workshop.store(data, "lake", ip4: true, mac: true, mode: .or)
        try await workshop.allow(data, dataStore, .ipv4, "10.90.0.0/16")
        let lake = try await workshop.key(data, dataStore, .symmetric, "lake")
        let app = ClientIdentity.at("10.80.3.3")
        let etl = ClientIdentity.at("10.90.1.1")
        var blobs: [String] = []
        for round in 0..<120 {
            if let blob = await workshop.encrypt(shop, orders.id, "order \(round)", from: app) { blobs.append(blob) }
            if round % 2 == 0, let blob = blobs.randomElement(using: &workshop.random) {
                await workshop.decrypt(shop, orders.id, blob, from: app)
            }
            if round % 3 == 0 {
                await workshop.send(
                    HTTPCall(
                        "POST", Workshop.path(shop, "asymmetric-keys/\(signing.id)/sign"),
                        headers: workshop.headers(app),
                        body: HTTPCall.json([("plaintext", .string("receipt \(round)"))])),
                    from: app)
            }
            if round % 4 == 0 { await workshop.encrypt(data, lake.id, "row \(round)", from: etl) }
            if round % 10 == 0 {
                await workshop.send(HTTPCall("GET", Workshop.path(shop, "secrets/\(dbPassword.id)")), from: app)
            }
            switch round {
            case 10:
                let twice = Data(blobs[0].utf8).base64EncodedString()
                await workshop.decrypt(shop, orders.id, twice, from: app)
            case 20:
                await workshop.decrypt(shop, orders.id, String(blobs[1].prefix(24)), from: app)
            case 30:
                await workshop.send(
                    HTTPCall(
                        "POST", Workshop.path(shop, "asymmetric-keys/\(orders.id)/sign"),
                        headers: workshop.headers(app),
                        body: HTTPCall.json([("plaintext", "receipt")])), from: app)
            case 40:
                await workshop.send(
                    HTTPCall(
                        "POST", Workshop.path(shop, "symmetric-keys/\(orders.id)/encrypt"),
                        headers: workshop.headers(app), body: "{\"plaintext\": \"unterminated"), from: app)
            case 50:
                await workshop.send(HTTPCall("GET", Workshop.path(shop, "symmetric-keys/\(orders.id)/keys")), from: app)
            case 60:
                await workshop.send(
                    HTTPCall(
                        "GET", Workshop.path(shop, "keystores"),
                        headers: [
                            ("X-TC-AUTHENTICATION-ID", shopAccess.accessKey.id),
                            ("X-TC-AUTHENTICATION-SECRET", "not-the-secret"),
                        ]), from: app)
            case 70:
                await workshop.encrypt(shop, orders.id, String(repeating: "x", count: 40_000), from: app)
            case 80:
                await workshop.send(
                    HTTPCall("GET", Workshop.path(shop, "symmetric-keys/\(dbPassword.id)/symmetric-key")), from: app)
            case 90:
                await workshop.encrypt(data, lake.id, "row from the wrong network", from: .at("172.16.4.4"))
            default:
                break
            }
        }
    }
}
