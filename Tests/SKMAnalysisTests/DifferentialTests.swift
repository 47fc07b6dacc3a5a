import Foundation
import SKMCore
import SKMPrimitives
import SKMRules
import SKMTestSupport
import Testing
import X509

@testable import SKMAnalysis

/// Storage that fails on demand: the next read of a key's context throws, as a failing disk or database would, so
/// that the engine answers Internal Error.
final class FaultyStorage: Storage, @unchecked Sendable {
    let base = InMemoryStorage()
    private let lock = NSLock()
    private var failNext = false

    struct Outage: Error {}

    func failNextKeyRead() { lock.withLock { failNext = true } }

    func setting(_ name: String) async throws -> Data? { await base.setting(name) }
    func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int {
        await base.nextIdentifier(for: sequence)
    }
    func appkey(id: String) async throws -> Appkey? { await base.appkey(id: id) }
    func appkeys() async throws -> [Appkey] { await base.appkeys() }
    func userAccessKey(id: String) async throws -> UserAccessKey? { await base.userAccessKey(id: id) }
    func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        await base.userAccessKeys(appkey: appkey)
    }
    func keyStore(id: Int) async throws -> KeyStore? { await base.keyStore(id: id) }
    func keyStores(appkey: String) async throws -> [KeyStore] { await base.keyStores(appkey: appkey) }
    func key(id: String) async throws -> ManagedKey? { await base.key(id: id) }
    func keys(keyStoreId: Int) async throws -> [ManagedKey] { await base.keys(keyStoreId: keyStoreId) }
    func versions(keyId: String) async throws -> [KeyVersion] { await base.versions(keyId: keyId) }
    func authEntry(id: Int) async throws -> AuthEntry? { await base.authEntry(id: id) }
    func authEntries(keyStoreId: Int) async throws -> [AuthEntry] { await base.authEntries(keyStoreId: keyStoreId) }
    func sealedItem(_ context: SealContext) async throws -> Data? { await base.sealedItem(context) }
    func keyContext(keyId: String) async throws -> KeyContext? {
        let fail = lock.withLock {
            defer { failNext = false }
            return failNext
        }
        if fail { throw Outage() }
        return await base.keyContext(keyId: keyId)
    }
    func events(after sequence: Int, limit: Int) async throws -> [AuditEvent] {
        await base.events(after: sequence, limit: limit)
    }
    func dueWork(at now: Date) async throws -> DueWork { await base.dueWork(at: now) }
    func exportState() async throws -> StoredState { await base.exportState() }
    func commit(_ changes: ChangeSet) async throws { try await base.commit(changes) }
}

/// An installation with a bit of everything, built at random: what the differential test sends requests into.
final class Universe: @unchecked Sendable {
    struct Tenant {
        var appkey: String
        var accessKey: IssuedAccessKey
        var stores: [KeyStore] = []
        /// User Access Keys the requests revoke and rotate (never the one they authenticate with).
        var spareAccessKeyIds: [String] = []
        /// A User Access Key revoked before the requests, and a token issued from it before it was.
        var revokedAccessKey: IssuedAccessKey?
        var revokedToken: String?
    }

    struct KeyInfo {
        var key: ManagedKey
        var store: KeyStore
        var appkey: String
        /// Ciphertexts (symmetric) or legacy signatures with their plaintexts (asymmetric), by version.
        var blobs: [Int: [(blob: String, plaintext: String)]] = [:]
        var standardSignatures: [Int: (signature: String, message: String)] = [:]
    }

    struct Credential {
        var certificate: Certificate
    }

    let workshop: Workshop
    let storage = FaultyStorage()
    var tenants: [Tenant] = []
    var keys: [KeyInfo] = []
    var ipsByStore: [Int: [String]] = [:]
    var macsByStore: [Int: [String]] = [:]
    var certificatesByStore: [Int: [Certificate]] = [:]
    var strayCertificates: [Certificate] = []
    var bearerTokens: [String: String] = [:]
    /// Tokens issued before the installation's clock moved on by days: expired by the time requests use them.
    var expiredTokens: [String: String] = [:]

    var engine: Engine { workshop.engine }

    init(seed: UInt64) async throws {
        // Every other installation asks for credentials on the v1.0 reads, as `skm serve` can be told to.
        workshop = try await Workshop(seed: seed, storage: storage, v1_0ReadsNeedCredentials: seed % 2 == 1)
    }

    func random(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &workshop.random) }
    func chance(_ percent: Int) -> Bool { random(1...100) <= percent }
    func pick<T>(_ items: [T]) -> T { items[random(0...(items.count - 1))] }

    static let publicAddresses = ["203.0.113.10", "203.0.113.0/28", "198.51.100.7", "198.51.100.64/26"]
    static let privateAddresses = ["10.1.0.0/16", "192.168.5.5", "10.20.30.40", "172.16.0.0/12"]
    static let macs = ["aa:bb:cc:00:11:22", "aa:bb:cc:00:11:23", "02:00:00:00:00:01", "0a:1b:2c:3d:4e:5f"]

    /// Builds the installation: two tenants, stores with every factor and mode, keys of every type with rotated,
    /// pending and deleted versions, entries in every status, certificates valid, expiring and foreign.
    func build() async throws {
        let actor = "cli:ops"
        for name in ["alpha", "beta"] {
            let (appkey, access) = try await workshop.appkey(name)
            tenants.append(Tenant(appkey: appkey, accessKey: access))
        }
        for (index, tenant) in tenants.enumerated() {
            let storeCount = index == 0 ? 3 : 1
            for number in 0..<storeCount {
                // One store per factor on its own, so that each factor's errors are reached; the others mixed.
                let ip4 = number == 0 || (number != 2 && chance(50))
                let mac = number == 1 || (number != 2 && chance(30))
                let certificate = number == 2 || chance(25)
                let store = try await workshop.store(
                    tenant.appkey, "\(["pay", "web", "ops"][number])-\(index)", ip4: ip4, mac: mac,
                    certificate: certificate, mode: chance(30) ? .or : .and)
                tenants[index].stores.append(store)
                var ips: [String] = []
                for address in (chance(50) ? Self.publicAddresses : Self.privateAddresses).shuffled(
                    using: &workshop.random
                )
                .prefix(2) {
                    try await workshop.allow(tenant.appkey, store, .ipv4, address)
                    ips.append(address)
                }
                ipsByStore[store.id] = ips
                var macs: [String] = []
                for address in Self.macs.shuffled(using: &workshop.random).prefix(2) {
                    try await workshop.allow(tenant.appkey, store, .mac, address)
                    macs.append(address)
                }
                macsByStore[store.id] = macs
                if certificate || chance(30) {
                    var certificates: [Certificate] = []
                    for (lifetime, label) in [(365, "svc"), (1, "short"), (365, "spare")] {
                        let entry = try await engine.issueCertificate(
                            appkey: tenant.appkey, store: .id(store.id), name: "\(label)-\(store.id)",
                            password: "fixture-only", lifetimeDays: lifetime, actor: actor)
                        certificates.append(try Certificate(pemEncoded: entry.certificate!.pem))
                    }
                    certificatesByStore[store.id] = certificates
                }
                for type in [KeyType.symmetric, .symmetric, .secret] + (index == 0 && number < 2 ? [.asymmetric] : []) {
                    let key = try await workshop.key(
                        tenant.appkey, store, type, "\(type.rawValue.lowercased())-\(keys.count)",
                        secret: type == .secret ? "value-\(keys.count)" : nil)
                    var info = KeyInfo(key: key, store: store, appkey: tenant.appkey)
                    if type.isVersioned {
                        let rotations = random(1...2)
                        try await makeBlobs(&info, version: 0)
                        for number in 0..<rotations {
                            _ = try await engine.rotateKey(appkey: tenant.appkey, keyId: key.id, actor: actor)
                            try await makeBlobs(&info, version: number + 1)
                        }
                    }
                    keys.append(info)
                }
            }
        }
        // Some versions and keys scheduled for deletion; some of those deleted a week later.
        var toPurge: [(String, String, Int?)] = []
        for info in keys where info.key.type.isVersioned {
            let latest = try await engine.storage.key(id: info.key.id)?.latestVersion ?? 0
            if latest > 0, chance(60) {
                _ = try await engine.scheduleVersionDeletion(
                    appkey: info.appkey, keyId: info.key.id, version: 0, actor: actor)
                if chance(35) { toPurge.append((info.appkey, info.key.id, 0)) }
            }
        }
        for info in keys where chance(25) {
            _ = try await engine.scheduleKeyDeletion(appkey: info.appkey, keyId: info.key.id, actor: "cli:mlee")
            if chance(50) { toPurge.append((info.appkey, info.key.id, nil)) }
        }
        // Drawn in a sorted order: dictionaries iterate in an order that changes from run to run.
        for (storeId, ips) in ipsByStore.sorted(by: { $0.key < $1.key }) where chance(40) {
            let store = tenants.flatMap(\.stores).first { $0.id == storeId }!
            _ = try await engine.scheduleAuthDeletion(
                appkey: store.appkey, store: .id(storeId), kind: .ipv4, value: Self.canonical(ips[0]), actor: actor)
        }
        for (storeId, macs) in macsByStore.sorted(by: { $0.key < $1.key }) where chance(40) {
            let store = tenants.flatMap(\.stores).first { $0.id == storeId }!
            _ = try await engine.scheduleAuthDeletion(
                appkey: store.appkey, store: .id(storeId), kind: .mac, value: macs[0], actor: actor)
        }
        for storeId in certificatesByStore.keys.sorted() where chance(50) {
            let store = tenants.flatMap(\.stores).first { $0.id == storeId }!
            _ = try await engine.scheduleAuthDeletion(
                appkey: store.appkey, store: .id(storeId), kind: .certificate, value: "spare-\(storeId)", actor: actor)
        }
        // Certificate entries registered, then deleted at once: their certificates are presented all the same.
        for storeId in certificatesByStore.keys.sorted() where chance(40) {
            let store = tenants.flatMap(\.stores).first { $0.id == storeId }!
            _ = try await engine.scheduleAuthDeletion(
                appkey: store.appkey, store: .id(storeId), kind: .certificate, value: "svc-\(storeId)", actor: actor)
            _ = try await engine.deleteAuthEntry(
                appkey: store.appkey, store: .id(storeId), kind: .certificate, value: "svc-\(storeId)", actor: actor)
        }
        for tenant in tenants {
            expiredTokens[tenant.appkey] = try await token(for: tenant)
        }
        workshop.wait(3 * 86_400)
        for (appkey, keyId, version) in toPurge {
            if let version {
                _ = try? await engine.deleteVersion(appkey: appkey, keyId: keyId, version: version, actor: actor)
            } else {
                _ = try? await engine.deleteKey(appkey: appkey, keyId: keyId, actor: actor)
            }
        }
        // Certificates the key manager never registered: one not valid yet, one of another CA.
        let now = workshop.clock.now
        strayCertificates.append(
            try mintCertificate(
                from: engine.authority, name: "early", notBefore: now + 5 * 86_400, notAfter: now + 50 * 86_400))
        let foreign = try CertificateAuthority.create(commonName: "Elsewhere CA", now: now - 86_400)
        strayCertificates.append(
            try mintCertificate(from: foreign, name: "foreign", notBefore: now - 86_400, notAfter: now + 99 * 86_400))
        strayCertificates.append(
            try mintCertificate(
                from: engine.authority, name: "unregistered", notBefore: now - 86_400, notAfter: now + 99 * 86_400))
        // A CA of the same name as this installation's (another installation), and a server certificate.
        let namesake = try CertificateAuthority.create(commonName: "SKM Client CA", now: now - 86_400)
        strayCertificates.append(
            try mintCertificate(from: namesake, name: "namesake", notBefore: now - 86_400, notAfter: now + 99 * 86_400))
        strayCertificates.append(
            try mintCertificate(
                from: engine.authority, name: "server", notBefore: now - 86_400, notAfter: now + 99 * 86_400,
                usage: [.serverAuth]))
        for tenant in tenants {
            bearerTokens[tenant.appkey] = try await token(for: tenant)
        }
        // A key left in service in a deleted key store, as the race between deleting a store and creating a key in
        // it once left them: written past the engine, which no longer allows it.
        if let tenant = tenants.first {
            let store = try await workshop.store(tenant.appkey, "orphanage", ip4: true)
            try await workshop.allow(tenant.appkey, store, .ipv4, "10.1.0.0/16")
            ipsByStore[store.id] = ["10.1.0.0/16"]
            let key = try await workshop.key(tenant.appkey, store, .symmetric, "orphan")
            var info = KeyInfo(key: key, store: store, appkey: tenant.appkey)
            try await makeBlobs(&info, version: 0)
            keys.append(info)
            var deleted = try #require(try await engine.storage.keyStore(id: store.id))
            deleted.status = .deleted
            deleted.lastChange = Stamp(user: "cli:ops", at: workshop.clock.now)
            try await engine.storage.commit(
                ChangeSet([
                    .update(.keyStore(deleted)),
                    .appendEvent(
                        AuditEvent(
                            time: workshop.clock.now, actor: "cli:ops", action: .keyStoreDelete, appkey: tenant.appkey,
                            targetKind: .keyStore, targetId: String(store.id), keyStoreId: store.id,
                            changes: [AuditEvent.Change(field: "status", before: "ACTIVE", after: "DELETED")])),
                ]))
        }
        // Spare User Access Keys for the requests to revoke and rotate, and one revoked with a token still about.
        for index in tenants.indices {
            let appkey = tenants[index].appkey
            for _ in 0..<2 {
                tenants[index].spareAccessKeyIds.append(
                    try await engine.createUserAccessKey(appkey: appkey, actor: actor).accessKey.id)
            }
            let revoked = try await engine.createUserAccessKey(appkey: appkey, actor: actor)
            tenants[index].revokedToken = try await token(with: revoked)
            workshop.wait(60)
            _ = try await engine.revokeUserAccessKey(appkey: appkey, id: revoked.accessKey.id, actor: "cli:sec")
            tenants[index].revokedAccessKey = revoked
        }
    }

    private func token(for tenant: Tenant) async throws -> String? {
        try await token(with: tenant.accessKey)
    }

    private func token(with accessKey: IssuedAccessKey) async throws -> String? {
        let outcome = await engine.execute(
            Request(
                operation: .createToken, appkey: "", body: .json(["grant_type": "client_credentials"]),
                credentials: Credentials(
                    userAccessKeyID: accessKey.accessKey.id, userAccessKeySecret: accessKey.secret)),
            from: .anonymous)
        return outcome.body?["access_token"]?.stringValue
    }

    static func canonical(_ address: String) -> String {
        address.hasSuffix("/32") ? String(address.dropLast(3)) : address
    }

    private func makeBlobs(_ info: inout KeyInfo, version: Int) async throws {
        let client = try clientFor(info.store, honest: true)
        for index in 0..<2 {
            let plaintext = "message \(version)-\(index)"
            if info.key.type == .symmetric {
                let outcome = await engine.execute(
                    Request(
                        operation: .encrypt, apiVersion: .v1_2, appkey: info.appkey, keyId: info.key.id,
                        body: .json(["plaintext": .string(plaintext)])), from: client)
                if let blob = outcome.string("ciphertext") {
                    info.blobs[version, default: []].append((blob, plaintext))
                }
            } else {
                let outcome = await engine.execute(
                    Request(
                        operation: .sign, apiVersion: .v1_2, appkey: info.appkey, keyId: info.key.id,
                        body: .json(["plaintext": .string(plaintext)])), from: client)
                if let blob = outcome.string("signature") { info.blobs[version, default: []].append((blob, plaintext)) }
                let message = Data(plaintext.utf8).base64EncodedString()
                let standard = await engine.execute(
                    Request(
                        operation: .signStandard, apiVersion: .v1_3, appkey: info.appkey, keyId: info.key.id,
                        body: .json(["plaintext": .string(message), "algorithm": "RSASSA-PSS"])), from: client)
                if let signature = standard.string("signature") {
                    info.standardSignatures[version] = (signature, message)
                }
            }
        }
    }

    /// A client the store lets in (when `honest`), else one of many ways to be refused.
    func clientFor(_ store: KeyStore, honest: Bool = false) throws -> ClientIdentity {
        var address = "203.0.113.200"
        let ips = ipsByStore[store.id] ?? []
        if honest || chance(75), let registered = ips.last {
            address = Self.host(in: registered)
        } else if chance(30), let first = ips.first {
            address = Self.host(in: first)
        } else if chance(50) {
            address = pick(["10.77.0.5", "192.168.200.1", "100.64.3.3"])
        }
        var client = ClientIdentity(address: IPv4Address(address), tls: true)
        if !honest && chance(2) {
            client = ClientIdentity(address: nil, peerAddress: "2001:db8::7", tls: true)
        } else if !honest && chance(8) {
            client = ClientIdentity(
                address: IPv4Address("10.9.9.9"), peerAddress: "10.9.9.9", forwardedFor: address, tls: true)
        }
        let macs = macsByStore[store.id] ?? []
        if honest || chance(80), let registered = macs.last {
            client.macHeader =
                honest
                ? registered
                : pick([registered, registered.uppercased(), registered.replacingOccurrences(of: ":", with: "-")])
        } else if chance(40), let first = macs.first {
            client.macHeader = first
        } else if !honest, chance(50) {
            client.macHeader = pick(["de:ad:be:ef:00:01", "aa.bb.cc.00.11.22", "not-a-mac"])
        }
        let certificates = certificatesByStore[store.id] ?? []
        if honest || chance(store.certificateAuthUse ? 40 : 75), let valid = certificates.first {
            client.certificateChain = [valid]
        } else if !honest, !(certificates + strayCertificates).isEmpty, chance(store.certificateAuthUse ? 90 : 60) {
            client.certificateChain = [pick(certificates + strayCertificates)]
        }
        return client
    }

    static func host(in entry: String) -> String {
        guard let slash = entry.firstIndex(of: "/"), let network = IPv4Network(entry) else { return entry }
        _ = slash
        return IPv4Address(network.address.value + 1).description
    }
}

/// Draws requests of every operation, mostly valid, with mutations that make each documented error likely.
struct RequestDraw {
    let universe: Universe

    func random(_ range: ClosedRange<Int>) -> Int { universe.random(range) }
    func chance(_ percent: Int) -> Bool { universe.chance(percent) }
    func pick<T>(_ items: [T]) -> T { universe.pick(items) }

    func next() throws -> (HTTPCall, ClientIdentity) {
        let roll = random(1...100)
        if roll <= 62 { return try dataCall() }
        if roll <= 94 { return managementCall() }
        if roll <= 97 {
            let tenant = pick(universe.tenants)
            let secret = chance(70) ? tenant.accessKey.secret : "wrong"
            let basic = Data("\(tenant.accessKey.accessKey.id):\(secret)".utf8).base64EncodedString()
            return (
                HTTPCall(
                    "POST", "/oauth2/token/create", headers: [("Authorization", "Basic \(basic)")],
                    body: chance(85) ? "grant_type=client_credentials" : "grant_type=password"), .anonymous
            )
        }
        let tenant = pick(universe.tenants)
        return (
            HTTPCall(
                "GET",
                pick([
                    Workshop.path(tenant.appkey, "confirm", version: "v1.0"), "/keymanager/v9/appkey/x/confirm",
                    "/nothing/here",
                ])),
            ClientIdentity.at("10.0.0.1")
        )
    }

    /// The appkey a request names for a key of `owner`.
    func appkey(for owner: String) -> String {
        let roll = random(1...100)
        if roll <= 88 { return owner }
        if roll <= 92 { return universe.tenants.first { $0.appkey != owner }!.appkey }
        if roll <= 96 { return "Zz9" + String(owner.dropFirst(3)) }
        return pick([String(owner.dropLast()), owner + "!", "short"])
    }

    func dataCall() throws -> (HTTPCall, ClientIdentity) {
        let operations: [SKMCore.Operation] = [
            .encrypt, .decrypt, .decrypt, .createLocalKey, .getSymmetricKey, .sign, .verify, .signStandard,
            .verifyStandard, .getPrivateKey, .getPublicKey, .getSecret,
        ]
        let operation = pick(operations)
        let wanted = operation.requiredKeyType ?? .symmetric
        var candidates = universe.keys.filter { $0.key.type == wanted }
        // Keys behind certificate authentication are a minority of stores; aim at them often enough.
        let certified = candidates.filter { $0.store.certificateAuthUse }
        if !certified.isEmpty, chance(35) { candidates = certified }
        if candidates.isEmpty || chance(8) { candidates = universe.keys }
        let info = pick(candidates)
        var keyId = info.key.id
        if chance(3) {
            keyId = pick([String(keyId.dropLast()), keyId.uppercased(), "0123456789abcdef0123456789abcdef"])
        }
        let appkey = appkey(for: info.appkey)
        var version = pick(Array(operation.availableVersions)).rawValue
        if chance(4) { version = pick(["v1.0", "v1.1", "v2.0"]) }
        let kind = wanted == .secret ? "secrets" : wanted == .symmetric ? "symmetric-keys" : "asymmetric-keys"
        let action: String
        var method = "POST"
        var query: [String: String] = [:]
        var body: String?
        let versions = info.blobs.keys.sorted()
        func blob() -> (String, String) {
            let chosen = info.blobs[pick(versions.isEmpty ? [0] : versions)]?.first ?? ("AAAAAAAAAAAAAAAA", "x")
            var text = chosen.blob
            switch random(1...100) {
            case 1...8: text = Data(text.utf8).base64EncodedString()
            case 9...16: text = String(text.prefix(20))
            case 17...22: text = "@@not base64@@"
            case 23...30:
                var bytes = [UInt8](Data(base64Encoded: text) ?? Data())
                if bytes.count > 8 { bytes[bytes.count - 3] ^= 0xFF }
                text = Data(bytes).base64EncodedString()
            case 31...36:
                var bytes = [UInt8](Data(base64Encoded: text) ?? Data())
                if bytes.count > 4 { bytes[3] = UInt8(random(3...9)) }
                text = Data(bytes).base64EncodedString()
            default: break
            }
            return (text, chosen.plaintext)
        }
        switch operation {
        case .encrypt:
            action = "encrypt"
            body = HTTPCall.json([("plaintext", .string(chance(3) ? String(repeating: "p", count: 33_000) : "hello"))])
        case .decrypt:
            action = "decrypt"
            body = HTTPCall.json([
                ("ciphertext", .string(chance(2) ? String(repeating: "A", count: 70_000) : blob().0))
            ])
        case .createLocalKey:
            action = "create-local-key"
        case .getSymmetricKey:
            action = "symmetric-key"
            method = "GET"
        case .sign:
            action = "sign"
            body = HTTPCall.json([("plaintext", .string(chance(4) ? String(repeating: "s", count: 300) : "sign me"))])
        case .verify:
            action = "verify"
            let (signature, plaintext) = blob()
            body = HTTPCall.json([("plaintext", .string(plaintext)), ("signature", .string(signature))])
        case .signStandard:
            action = "sign-standard"
            body = HTTPCall.json([
                ("plaintext", .string(chance(90) ? Data("m".utf8).base64EncodedString() : "not base64!")),
                ("algorithm", .string(chance(92) ? pick(["RSASSA-PSS", "RSASSA-PKCS1-v1_5"]) : "MD5")),
            ])
        case .verifyStandard:
            action = "verify-standard"
            let number = pick(info.standardSignatures.keys.sorted() + [0])
            let signature = info.standardSignatures[number] ?? ("AAAA", "bQ==")
            var keyVersion: JSONValue = .int(number)
            if chance(10) { keyVersion = .int(random(3...9)) }
            if chance(4) { keyVersion = "one" }
            if chance(4) { keyVersion = chance(50) ? .int(-1) : .double(1.5) }
            body = HTTPCall.json([
                ("plaintext", .string(signature.message)),
                ("signature", .string(chance(90) ? signature.signature : "AAAA")),
                ("algorithm", "RSASSA-PSS"), ("keyVersion", keyVersion),
            ])
        case .getPrivateKey, .getPublicKey:
            action = operation == .getPrivateKey ? "privateKey" : "publicKey"
            method = "GET"
        default:
            action = ""
            method = "GET"
        }
        if operation == .getSymmetricKey || operation == .getPrivateKey || operation == .getPublicKey, chance(40) {
            query["keyVersion"] = chance(85) ? String(random(0...4)) : pick(["-1", "abc", "99999999999999"])
        }
        if chance(3) { body = "{\"truncated\": " }
        if chance(1) { body = "{\"plaintext\": \"" + String(repeating: "b", count: 270_000) + "\"}" }
        if chance(2), body != nil { body = "[1, 2, 3]" }
        var path = Workshop.path(
            appkey, operation == .getSecret ? "secrets/\(keyId)" : "\(kind)/\(keyId)/\(action)", version: version)
        if chance(2) { path += "/extra" }
        let client = try universe.clientFor(info.store)
        var headers = universe.workshop.headers(client)
        if chance(1) { headers.append(("X-Padding", String(repeating: "x", count: 17_000))) }
        return (HTTPCall(method, path, query: query, headers: headers, body: body), client)
    }

    /// A valid encrypt with an active key from a client its store admits, or `nil` when none is at hand.
    func honestEncrypt() async throws -> (HTTPCall, ClientIdentity)? {
        let symmetric = universe.keys.filter { $0.key.type == .symmetric }
        guard !symmetric.isEmpty else { return nil }
        let info = pick(symmetric)
        guard let current = try await universe.engine.storage.key(id: info.key.id), current.status == .active,
            let store = try await universe.engine.storage.keyStore(id: info.store.id), store.status == .active
        else { return nil }
        let entries = try await universe.engine.storage.authEntries(keyStoreId: store.id)
        let client = try universe.clientFor(store, honest: true)
        // The honest client uses the last registered address, MAC and first certificate; all must be in service.
        guard
            entries.filter({ $0.status != .inService }).allSatisfy({ entry in
                entry.value != Universe.canonical(universe.ipsByStore[store.id]?.last ?? "")
                    && entry.value != universe.macsByStore[store.id]?.last
                    && entry.certificate?.sha256 != client.certificateChain.first?.sha256Fingerprint
            })
        else { return nil }
        let call = HTTPCall(
            "POST", Workshop.path(info.appkey, "symmetric-keys/\(info.key.id)/encrypt"),
            headers: universe.workshop.headers(client), body: HTTPCall.json([("plaintext", "fine")]))
        return (call, client)
    }

    func managementCall() -> (HTTPCall, ClientIdentity) {
        let tenant = pick(universe.tenants)
        let other = universe.tenants.first { $0.appkey != tenant.appkey }!
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        switch random(1...100) {
        case 1...78:
            headers += [
                ("X-TC-AUTHENTICATION-ID", tenant.accessKey.accessKey.id),
                ("X-TC-AUTHENTICATION-SECRET", tenant.accessKey.secret),
            ]
        case 79...84:
            headers += [
                ("X-TC-AUTHENTICATION-ID", tenant.accessKey.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", "wrong"),
            ]
        case 85...88:
            headers += [
                ("X-TC-AUTHENTICATION-ID", other.accessKey.accessKey.id),
                ("X-TC-AUTHENTICATION-SECRET", other.accessKey.secret),
            ]
        case 89...91:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (universe.bearerTokens[tenant.appkey] ?? "x"))]
        case 92:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (universe.expiredTokens[tenant.appkey] ?? "x"))]
        case 93:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (universe.bearerTokens[other.appkey] ?? "x"))]
        case 94:
            headers += [("X-NHN-AUTHORIZATION", "Bearer skm1.garbage")]
        case 95:
            headers += [("X-TC-AUTHENTICATION-ID", "NOSUCHKEY0000000000Z"), ("X-TC-AUTHENTICATION-SECRET", "x")]
        case 96:
            if let revoked = tenant.revokedAccessKey {
                headers += [
                    ("X-TC-AUTHENTICATION-ID", revoked.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", revoked.secret),
                ]
            }
        case 97:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (tenant.revokedToken ?? "x"))]
        default:
            break
        }
        let stores = tenant.stores
        let store = pick(stores)
        let keys = universe.keys.filter { $0.appkey == tenant.appkey }
        let key = pick(keys.isEmpty ? universe.keys : keys)
        let storeName = chance(90) ? store.name : "no-such-store"
        let storeId = chance(90) ? String(store.id) : pick(["0", "9999", "abc"])
        let appkey = appkey(for: tenant.appkey)
        let client = ClientIdentity.at("10.0.0.9")
        func call(
            _ method: String, _ rest: String, version: String = "v1.2", _ body: [(String, JSONValue)]? = nil,
            query: [String: String] = [:]
        ) -> (HTTPCall, ClientIdentity) {
            (
                HTTPCall(
                    method, Workshop.path(appkey, rest, version: version), query: query, headers: headers,
                    body: body.map(HTTPCall.json)), client
            )
        }
        let name = chance(85) ? "made-\(random(1...99_999))" : pick(["", "   ", String(repeating: "n", count: 120)])
        // The reads exist in v1.0 too, where the appkey alone may authorise them.
        let readVersion = chance(20) ? "v1.0" : "v1.2"
        switch random(1...16) {
        case 1:
            let type = pick(["symmetric-keys", "asymmetric-keys", "secrets"])
            var body: [(String, JSONValue)] = [("keyStoreName", .string(storeName)), ("name", .string(name))]
            if type == "secrets" {
                body.append(
                    (
                        "secretValue",
                        chance(85) ? "v" : chance(50) ? .int(3) : .string(String(repeating: "s", count: 33_000))
                    ))
            }
            if chance(6) {
                body.append(("description", chance(50) ? .int(5) : .string(String(repeating: "d", count: 1_001))))
            }
            if type != "secrets", chance(30) {
                body.append(("autoRotationPeriod", .int(pick([0, 10, 30, 400, 5000]))))
            }
            // Asymmetric key creation costs an RSA key generation; keep it rare.
            return call(
                "POST", "keys/\(type == "asymmetric-keys" && chance(70) ? "symmetric-keys" : type)/create", body)
        case 2: return chance(80) ? call("PUT", "keys/\(key.key.id)/delete") : call("DELETE", "keys/\(key.key.id)")
        case 3: return call("PUT", "keys/\(key.key.id)/cancel-deletion")
        case 4: return call("POST", "keys/\(key.key.id)/rotate")
        case 5:
            return call(
                "PUT", "secrets/\(key.key.id)",
                [("secretValue", .string(chance(95) ? "new value" : String(repeating: "v", count: 33_000)))])
        case 6 where chance(15):
            // A certificate issued into the key store: name, password and lifetime, some out of range.
            return call(
                "POST", "auths/certificates",
                [
                    ("keyStoreName", .string(storeName)),
                    ("name", .string(chance(80) ? "cert-\(random(1...99_999))" : "")),
                    ("password", .string(chance(85) ? "fixture-only" : "")),
                    ("lifeTime", .int(chance(85) ? 30 : pick([0, 4000]))),
                ])
        case 6:
            let kind = pick(["ipv4s", "macs"])
            let value =
                kind == "ipv4s"
                ? pick(["10.3.3.0/24", "10.3.3.1/24", "203.0.113.99", "300.1.1.1"])
                : pick(["02:00:00:00:00:09", "zz:00"])
            return call("POST", "auths/\(kind)", [("keyStoreName", .string(storeName)), ("value", .string(value))])
        case 7:
            let ips = universe.ipsByStore[store.id] ?? []
            let value = ips.isEmpty || chance(20) ? "10.99.99.99" : Universe.canonical(pick(ips))
            return call(
                pick(["PUT", "POST"]),
                "auths/ipv4s/\(pick(["delete", "cancel-deletion"]))".replacingOccurrences(
                    of: "cancel-deletion", with: "cancel-deletion"),
                [("keyStoreName", .string(storeName)), ("value", .string(value))])
        case 8:
            let macs = universe.macsByStore[store.id] ?? []
            let value = macs.isEmpty || chance(20) ? "02:00:00:00:00:77" : pick(macs)
            let action = pick([("PUT", "delete"), ("POST", "delete"), ("PUT", "cancel-deletion")])
            return call(
                action.0, "auths/macs/\(action.1)", [("keyStoreName", .string(storeName)), ("value", .string(value))])
        case 9:
            let flags = ["Y", "N", "maybe"]
            var body: [(String, JSONValue)] = [
                ("name", .string(name)), ("ip4AuthUse", .string(chance(85) ? "Y" : pick(flags))),
                ("macAuthUse", .string(pick(["Y", "N"]))),
                ("certificateAuthUse", .string(chance(90) ? "N" : pick(flags))),
            ]
            if chance(30) { body.append(("authMode", .string(pick(["AND", "OR", "XOR"])))) }
            if chance(20) { body[0] = ("name", .string(pick(stores).name)) }
            return call(
                chance(70) ? "POST" : "PUT", chance(70) ? "keystores" : "keystores/\(storeId)", version: "v1.3", body)
        case 10: return call("DELETE", "keystores/\(storeId)", version: "v1.3")
        case 11: return call("GET", "keystores/\(storeId)", version: readVersion)
        case 12:
            var query: [String: String] = [:]
            if chance(30) { query["pageSize"] = pick(["10", "5", "x", "100"]) }
            if chance(20) { query["type"] = pick(["SECRET", "BAD"]) }
            return call("GET", "keystores/\(storeId)/keys", version: readVersion, query: query)
        case 13: return call("GET", "keystores/\(storeId)/keys/\(key.key.id)", version: readVersion)
        case 14:
            return call(
                "GET", "keystores/\(storeId)/\(pick(["ips", "macs", "certificates", "other"]))", version: readVersion)
        case 16:
            // User Access Keys: list, add, and revoke or rotate a spare, a revoked, another appkey's or no key.
            let target = pick(
                tenant.spareAccessKeyIds + [
                    tenant.revokedAccessKey?.accessKey.id ?? "NOSUCHKEY0000000000Z", other.accessKey.accessKey.id,
                    "NOSUCHKEY0000000000Z",
                ])
            switch random(1...4) {
            case 1: return call("GET", "user-access-keys", version: pick(["v1.2", "v1.3", "v1.0"]))
            case 2: return call("POST", "user-access-keys")
            case 3: return call("PUT", "user-access-keys/\(target)/revoke")
            default: return call("POST", "user-access-keys/\(target)/rotate", version: "v1.3")
            }
        default:
            return call(
                "GET", "keystores", version: readVersion,
                query: chance(30) ? ["detail": pick(["true", "false", "yes"])] : [:])
        }
    }
}

@Suite struct DifferentialTests {
    /// Random installations and requests go through the engine and are logged as the server logs them; replaying
    /// the decision procedure on each logged request, with the state rebuilt at its time, must give the error the
    /// engine answered (or success), and every failure must be confirmed by its rule.
    @Test func theDiagnosisFromTheLogEqualsTheEnginesAnswer() async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["SKM_DIFFERENTIAL_SEED"] ?? "") ?? 20_261_127
        let wanted = Int(ProcessInfo.processInfo.environment["SKM_DIFFERENTIAL_CASES"] ?? "") ?? 200
        let rules = Fixtures.rules
        var counts: [Int: Int] = [:]
        var mismatches: [String] = []
        /// Per deciding check of the engine: how many refusals, and how many the analyser put down to that check.
        var agreement: [DecisionCheck: (cases: Int, agreed: Int)] = [:]
        var overflow = 0
        var holes: [String] = []
        var groupsWithTwoTexts = 0
        var total = 0
        var round: UInt64 = 0
        func done() -> Bool {
            APIError.allCases.allSatisfy { counts[$0.resultCode, default: 0] >= wanted }
        }
        while !done() && round < 60 {
            round += 1
            let universe = try await Universe(seed: seed &+ round)
            try await universe.build()
            let draw = RequestDraw(universe: universe)
            for _ in 0..<600 {
                if universe.chance(3), let (call, client) = try await draw.honestEncrypt() {
                    // A storage outage during an otherwise valid call: Internal Error, found by elimination.
                    universe.storage.failNextKeyRead()
                    await universe.workshop.send(call, from: client)
                    continue
                }
                let (call, client) = try draw.next()
                await universe.workshop.send(call, from: client)
            }
            let snapshot = try await universe.workshop.snapshot("differential")
            let diagnoser = Diagnoser(rules: rules, facts: FactBuilder(timeline: StateTimeline(snapshot)))
            // The log as the server writes it, read back as the analyser reads it.
            let log = FileManager.default.temporaryDirectory.appendingPathComponent(
                "skm-differential-\(UUID().uuidString).jsonl")
            try universe.workshop.recorder.requestLog.write(to: log)
            defer { try? FileManager.default.removeItem(at: log) }
            var analysed = AnalysisResult()
            try Analyzer(rules: rules, snapshot: snapshot).analyze(log.path, into: &analysed)
            let engineFailures = universe.workshop.recorder.records.filter { !$0.response.isSuccessful }.count
            #expect(analysed.triage.failureCount == engineFailures)
            #expect(analysed.problemCount == 0)
            let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
            let records = try lines.map { try RequestRecord(json: try JSONParser().parse(String($0))) }
            #expect(records == universe.workshop.recorder.records)
            let decisions = universe.workshop.recorder.decisions
            var triage = Triage()
            for (index, record) in records.enumerated() {
                // Long stretches of pure computation: let the other tests' servers run.
                if index % 50 == 0 { await Task.yield() }
                let code = record.response.resultCode
                total += 1
                counts[code, default: 0] += 1
                let captured = CapturedRequest(
                    record: record, location: SourceLocation(file: "round \(round)", number: index + 1))
                let finding = diagnoser.diagnose(captured)
                if code != 0 {
                    // One group, one explanation: every request of a group renders its group's words.
                    triage.add(finding)
                    let example = try #require(triage.groups[finding.fingerprint]?.examples.first)
                    if Self.words(example) != Self.words(finding) { groupsWithTwoTexts += 1 }
                    for text in Self.words(finding) where holes.count < 20 {
                        holes += HoleScan.defects(text).map { "\(record.requestId): \($0)" }
                    }
                }
                let predicted = finding.prediction.failure?.rule.error.code ?? 0
                let confirmed = code == 0 || finding.verdict == .confirmed
                // The engine's deciding condition against the cause the analyser names from the log alone.
                var sameCause = true
                if let decided = decisions[index] {
                    sameCause =
                        finding.rule?.error.code == decided.error.resultCode && finding.cause?.check.id == decided.id
                    agreement[decided, default: (0, 0)].cases += 1
                    if sameCause { agreement[decided, default: (0, 0)].agreed += 1 }
                }
                if predicted != code || !confirmed || !sameCause, mismatches.count < 30 {
                    mismatches.append(
                        "seed \(seed) round \(round) \(record.requestId) \(record.method) \(record.path) "
                            + "engine=\(code) predicted=\(predicted) "
                            + "(\(finding.prediction.failure.map { "\($0.rule.id)/\($0.check.id)" } ?? "none")) "
                            + "verdict=\(finding.verdict) cause=\(finding.cause?.check.id ?? "-") "
                            + "engine=\(decisions[index].map(\.id) ?? "-") note=\(finding.note ?? "")")
                } else if predicted != code || !confirmed || !sameCause {
                    overflow += 1
                }
            }
        }
        let summary = APIError.allCases.map { "\($0.identifier)=\(counts[$0.resultCode, default: 0])" }
            .joined(separator: " ")
        print(
            "differential: seed \(seed), \(round) installations, \(total) requests; success=\(counts[0, default: 0]) \(summary)"
        )
        // The per-check agreement table: every deciding condition the corpus reached.
        print("differential: cause-level agreement (engine's deciding check: refusals, analyser agreed)")
        for (check, tally) in agreement.sorted(by: { $0.key.description < $1.key.description }) {
            print(
                "  \(check.description.padding(toLength: 58, withPad: " ", startingAt: 0)) \(tally.cases) \(tally.agreed)"
            )
        }
        let unreached = DecisionCheck.apiChecks.filter { agreement[$0] == nil }.map(\.description).sorted()
        print(
            "differential: conditions the corpus did not reach: \(unreached.isEmpty ? "none" : unreached.joined(separator: ", "))"
        )
        // Every condition an API request can be refused for is reached, but a revoked User Access Key: the engine
        // cannot revoke one yet.
        // The HTTP parser's refusals never reach the engine: the corpus a real server writes covers them
        // (ServerCorpusTests).
        #expect(unreached == ["INVALID_REQUEST/http-well-formed"])
        #expect(
            mismatches.isEmpty,
            "\(mismatches.count + overflow) disagreements, the first:\n\(mismatches.prefix(30).joined(separator: "\n"))"
        )
        #expect(done(), "fewer than \(wanted) cases for some error: \(summary)")
        #expect(groupsWithTwoTexts == 0, "requests whose words differ from their group's")
        #expect(holes.isEmpty, "\(holes.joined(separator: "\n"))")
    }

    /// Everything a finding says in words: what one group must say alike for all its requests.
    static func words(_ finding: Finding) -> [String] {
        [finding.explanation ?? "", finding.fix ?? "", finding.note ?? ""]
            + finding.hints.map { $0.explanation + ($0.fix ?? "") }
            + ([finding.simulation] + finding.alternatives).map { $0?.description ?? "" }
    }
}
