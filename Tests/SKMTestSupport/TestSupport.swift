import Crypto
import Foundation
import SKMCore
import SKMPrimitives
import X509

/// The time every test starts from: 2026-09-21T14:13:20Z.
package let referenceTime = Date(timeIntervalSince1970: 1_790_000_000)

package let day: TimeInterval = 86_400

/// A root key fixed for tests.
package let testRootKey = try! RootKey(encoded: String(repeating: "ab", count: 32))

/// An engine over `storage` with a clock the test moves and repeatable identifiers.
package func makeEngine(
    storage: any Storage = InMemoryStorage(), clock: ManualClock = ManualClock(referenceTime), seed: UInt64 = 1,
    v1_0ReadsNeedCredentials: Bool = false
) async throws -> Engine {
    try await Engine.initialize(
        storage: storage, rootKey: testRootKey,
        configuration: .init(
            clock: clock.clock, identifiers: SeededIdentifierSource(seed: seed),
            v1_0ReadsNeedCredentials: v1_0ReadsNeedCredentials))
}

/// A small installation: one appkey with a UAK, and key stores and keys made on demand.
package struct Fixture: Sendable {
    package let engine: Engine
    package let clock: ManualClock
    package let appkey: String
    package let accessKeyID: String
    package let accessKeySecret: String

    package static func make(
        storage: any Storage = InMemoryStorage(), seed: UInt64 = 1, v1_0ReadsNeedCredentials: Bool = false
    ) async throws -> Fixture {
        let clock = ManualClock(referenceTime)
        let engine = try await makeEngine(
            storage: storage, clock: clock, seed: seed, v1_0ReadsNeedCredentials: v1_0ReadsNeedCredentials)
        let (appkey, access) = try await engine.createAppkey(name: "test project", actor: "test")
        return Fixture(
            engine: engine, clock: clock, appkey: appkey.id, accessKeyID: access.accessKey.id,
            accessKeySecret: access.secret)
    }

    package var credentials: Credentials {
        Credentials(userAccessKeyID: accessKeyID, userAccessKeySecret: accessKeySecret)
    }

    /// A key store; by default IPv4 only, AND mode.
    package func store(
        _ name: String = "store", ip4: Bool = true, mac: Bool = false, certificate: Bool = false,
        mode: AuthMode = .and
    ) async throws -> KeyStore {
        try await engine.createKeyStore(
            appkey: appkey,
            settings: KeyStoreSettings(
                name: name, ip4AuthUse: ip4, macAuthUse: mac, certificateAuthUse: certificate, authMode: mode),
            actor: "test")
    }

    package func key(
        _ type: KeyType, in store: KeyStore, name: String = "key", period: Int = 0, secret: String? = nil
    )
        async throws -> ManagedKey
    {
        try await engine.createKey(
            appkey: appkey, store: .id(store.id), type: type, name: name, autoRotationPeriod: period,
            secretValue: type == .secret ? (secret ?? "s3cr3t") : nil, actor: "test")
    }

    package func allow(_ value: String, in store: KeyStore, kind: AuthKind = .ipv4) async throws {
        _ = try await engine.addAuthEntry(appkey: appkey, store: .id(store.id), kind: kind, value: value, actor: "test")
    }

    /// Runs a data call.
    package func call(
        _ operation: APIOperation, key: String?, body: JSONValue? = nil, query: [String: String] = [:],
        version: APIVersion = .v1_3, from client: ClientIdentity = .local
    ) async -> Outcome {
        await engine.execute(
            APIRequest(
                operation: operation, apiVersion: version, appkey: appkey, keyId: key,
                body: body.map(RequestBody.json) ?? .none, query: query),
            from: client)
    }

    /// Runs a management call with this fixture's User Access Key.
    package func manage(
        _ operation: APIOperation, key: String? = nil, store: String? = nil, kind: AuthKind? = nil,
        body: JSONValue? = nil, query: [String: String] = [:], version: APIVersion = .v1_3,
        credentials: Credentials? = nil
    ) async -> Outcome {
        await engine.execute(
            APIRequest(
                operation: operation, apiVersion: version, appkey: appkey, keyId: key, keyStoreId: store,
                authKind: kind, body: body.map(RequestBody.json) ?? .none, query: query,
                credentials: credentials ?? self.credentials),
            from: .local)
    }
}

extension ClientIdentity {
    /// A client at 127.0.0.1 with nothing else.
    package static let local = ClientIdentity(address: IPv4Address("127.0.0.1"))

    package static func at(_ address: String, mac: String? = nil, chain: [Certificate] = []) -> ClientIdentity {
        ClientIdentity(address: IPv4Address(address), macHeader: mac, tls: !chain.isEmpty, certificateChain: chain)
    }
}

/// A certificate signed by `authority` with the given validity, for client-auth tests.
package func mintCertificate(
    from authority: CertificateAuthority, name: String = "client", notBefore: Date, notAfter: Date,
    usage: [ExtendedKeyUsage.Usage] = [.clientAuth]
) throws -> Certificate {
    try authority.issue(
        subject: { try DistinguishedName { CommonName(name) } }, notBefore: notBefore, notAfter: notAfter,
        usage: usage, names: []
    ).certificate
}

extension Outcome {
    /// The body member `name` of a success, as a string.
    package func string(_ name: String) -> String? { body?[name]?.stringValue }
}
