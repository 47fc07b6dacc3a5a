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
    func settings(prefix: String) async throws -> [String: Data] { await base.settings(prefix: prefix) }
    func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] {
        await base.callCounts(appkey: appkey, from: from, through: through)
    }
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
        /// A User Access Key that is no approver, which the requests use to revoke or rotate approvers' keys.
        var memberAccessKey: IssuedAccessKey?
        /// Keys the requests may name that are approvers of the appkey.
        var approverAccessKeyIds: [String] = []
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
    /// Registrations that wait for approval, by store: an address, a MAC address, a certificate.
    var waitingIPs: [Int: String] = [:]
    var waitingMACs: [Int: String] = [:]
    var waitingCertificates: [Int: Certificate] = [:]
    /// The entries whose requests wait for approval, by appkey: what approve and reject calls name.
    var waitingEntryIds: [String: [Int]] = [:]
    /// The change requests that wait for approval, by appkey: what approve and reject calls of changes name.
    var waitingChangeIds: [String: [Int]] = [:]
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
                if chance(50) {
                    // An imported AES-256 key: it never rotates, so rotating it is refused.
                    let material = Data((0..<32).map { _ in UInt8(random(0...255)) })
                    let key = try await engine.importSymmetricKey(
                        appkey: tenant.appkey, store: .id(store.id), name: "imported-\(keys.count)", material: material,
                        actor: actor)
                    var info = KeyInfo(key: key, store: store, appkey: tenant.appkey)
                    try await makeBlobs(&info, version: 0)
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
        // Registrations that wait for approval: the workflow turned on for a moment, an address, a MAC address and a
        // certificate requested by a member, then turned off again (what waits still waits).
        // The tenant's own User Access Key is an approver too, and requests an address of its own, which it cannot
        // approve.
        if let tenant = tenants.first {
            let own = "uak:\(tenant.accessKey.accessKey.id)"
            // One spare key is an approver too; a member's key tries to revoke or rotate the approvers' keys.
            let spareApprover = tenant.spareAccessKeyIds.first.map { "uak:\($0)" }
            _ = try await engine.setApprovalRequired(
                appkey: tenant.appkey, true, approvers: ["cli:boss", own] + (spareApprover.map { [$0] } ?? []),
                actor: actor)
            tenants[0].memberAccessKey = try await engine.createUserAccessKey(appkey: tenant.appkey, actor: actor)
            tenants[0].approverAccessKeyIds =
                [tenant.accessKey.accessKey.id] + (tenant.spareAccessKeyIds.first.map { [$0] } ?? [])
            var waiting: [Int] = []
            for store in tenant.stores where store.status == .active {
                let ip = "10.66.\(store.id % 250).0/24"
                waiting.append(
                    try await engine.addAuthEntry(
                        appkey: tenant.appkey, store: .id(store.id), kind: .ipv4, value: ip, actor: "cli:jkim"
                    ).id)
                waitingIPs[store.id] = ip
                let mac = "02:66:00:00:00:" + String(format: "%02x", store.id % 256)
                waiting.append(
                    try await engine.addAuthEntry(
                        appkey: tenant.appkey, store: .id(store.id), kind: .mac, value: mac, actor: "cli:jkim"
                    ).id)
                waitingMACs[store.id] = mac
                let entry = try await engine.issueCertificate(
                    appkey: tenant.appkey, store: .id(store.id), name: "waiting-\(store.id)", password: "fixture-only",
                    lifetimeDays: 365, actor: "cli:jkim")
                waitingCertificates[store.id] = try Certificate(pemEncoded: entry.certificate!.pem)
                waiting.append(entry.id)
                waiting.append(
                    try await engine.addAuthEntry(
                        appkey: tenant.appkey, store: .id(store.id), kind: .ipv4, value: "10.67.\(store.id % 250).0/24",
                        actor: own
                    ).id)
            }
            waitingEntryIds[tenant.appkey] = waiting
            // Change requests: a key for each store and the schedule of a key's deletion by a member, and a key
            // store of the approver's own, which it cannot approve.
            var changes: [Int?] = []
            for store in tenant.stores where store.status == .active {
                changes.append(
                    try await Self.changeRequest {
                        try await engine.createKey(
                            appkey: tenant.appkey, store: .id(store.id), type: .symmetric, name: "waiting-\(store.id)",
                            actor: "cli:jkim")
                    })
            }
            if let key = keys.first(where: { $0.appkey == tenant.appkey && $0.key.status == .active }) {
                changes.append(
                    try await Self.changeRequest {
                        try await engine.scheduleKeyDeletion(
                            appkey: tenant.appkey, keyId: key.key.id, actor: "cli:jkim")
                    })
            }
            changes.append(
                try await Self.changeRequest {
                    try await engine.createKeyStore(
                        appkey: tenant.appkey,
                        settings: KeyStoreSettings(
                            name: "requested-\(tenant.appkey.prefix(4))", ip4AuthUse: true, macAuthUse: false,
                            certificateAuthUse: false),
                        actor: own)
                })
            waitingChangeIds[tenant.appkey] = changes.compactMap { $0 }
            _ = try await engine.setApprovalRequired(appkey: tenant.appkey, false, actor: "cli:boss")
        }
    }

    /// The number of the change request `body` became while the approval workflow was on; `nil` when it was refused.
    private static func changeRequest<T>(_ body: () async throws -> T) async throws -> Int? {
        do {
            _ = try await body()
            return nil
        } catch let waiting as ChangeAwaitsApproval {
            return waiting.request.id
        } catch is Rejection {
            return nil
        }
    }

    private func token(for tenant: Tenant) async throws -> String? {
        try await token(with: tenant.accessKey)
    }

    private func token(with accessKey: IssuedAccessKey) async throws -> String? {
        let outcome = await engine.execute(
            APIRequest(
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
                    APIRequest(
                        operation: .encrypt, apiVersion: .v1_2, appkey: info.appkey, keyId: info.key.id,
                        body: .json(["plaintext": .string(plaintext)])), from: client)
                if let blob = outcome.string("ciphertext") {
                    info.blobs[version, default: []].append((blob, plaintext))
                }
            } else {
                let outcome = await engine.execute(
                    APIRequest(
                        operation: .sign, apiVersion: .v1_2, appkey: info.appkey, keyId: info.key.id,
                        body: .json(["plaintext": .string(plaintext)])), from: client)
                if let blob = outcome.string("signature") { info.blobs[version, default: []].append((blob, plaintext)) }
                let message = Data(plaintext.utf8).base64EncodedString()
                let standard = await engine.execute(
                    APIRequest(
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
        } else if chance(8), let waiting = waitingIPs[store.id] {
            address = Self.host(in: waiting)
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
        } else if !honest, chance(8), let waiting = waitingMACs[store.id] {
            client.macHeader = waiting
        } else if !honest, chance(50) {
            client.macHeader = pick(["de:ad:be:ef:00:01", "aa.bb.cc.00.11.22", "not-a-mac"])
        }
        let certificates = certificatesByStore[store.id] ?? []
        if honest || chance(store.certificateAuthUse ? 40 : 75), let valid = certificates.first {
            client.certificateChain = [valid]
        } else if !honest, chance(5), let waiting = waitingCertificates[store.id] {
            client.certificateChain = [waiting]
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
