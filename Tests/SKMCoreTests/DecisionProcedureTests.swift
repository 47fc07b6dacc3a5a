import Foundation
import SKMCore
import SKMTestSupport
import SKMWire
import Testing
import X509

/// A world with one key store per authentication factor and one key of each type, shared by the catalogue table.
struct World: Sendable {
    let fixture: Fixture
    let ipStore: KeyStore
    let macStore: KeyStore
    let certificateStore: KeyStore
    let symmetric: ManagedKey
    let asymmetric: ManagedKey
    let secret: ManagedKey
    let macKey: ManagedKey
    let certificateKey: ManagedKey
    let certificate: Certificate

    static func make() async throws -> World {
        let fixture = try await Fixture.make()
        let ipStore = try await fixture.store("ip")
        try await fixture.allow("10.0.0.0/24", in: ipStore)
        let macStore = try await fixture.store("mac", ip4: false, mac: true)
        try await fixture.allow("aa:bb:cc:dd:ee:ff", in: macStore, kind: .mac)
        let certificateStore = try await fixture.store("cert", ip4: false, certificate: true)
        let entry = try await fixture.engine.issueCertificate(
            appkey: fixture.appkey, store: .id(certificateStore.id), name: "app", password: "pw", lifetimeDays: 30,
            actor: "test")
        let certificate = try Certificate(pemEncoded: entry.certificate!.pem)
        return World(
            fixture: fixture, ipStore: ipStore, macStore: macStore, certificateStore: certificateStore,
            symmetric: try await fixture.key(.symmetric, in: ipStore, name: "aes"),
            asymmetric: try await fixture.key(.asymmetric, in: ipStore, name: "rsa"),
            secret: try await fixture.key(.secret, in: ipStore, name: "secret"),
            macKey: try await fixture.key(.symmetric, in: macStore, name: "mac-aes"),
            certificateKey: try await fixture.key(.symmetric, in: certificateStore, name: "cert-aes"),
            certificate: certificate)
    }

    var client: ClientIdentity { .at("10.0.0.7") }

    func encrypt(_ text: String = "hello") async throws -> String {
        try #require(
            await fixture.call(.encrypt, key: symmetric.id, body: ["plaintext": .string(text)], from: client).string(
                "ciphertext"))
    }
}

/// One row of the catalogue table: a way to reach `expected` through the engine.
struct CatalogueCase: Sendable, CustomTestStringConvertible {
    let name: String
    let expected: APIError
    let run: @Sendable (World) async throws -> Outcome

    var testDescription: String { "\(expected.resultMessage): \(name)" }
}

@Suite struct DecisionProcedureTests {
    static let cases: [CatalogueCase] = [
        CatalogueCase(name: "sign-standard is not in v1.2", expected: .urlNotFound) { world in
            await world.fixture.call(
                .signStandard, key: world.asymmetric.id, body: ["plaintext": "aGk=", "algorithm": "RSASSA-PSS"],
                version: .v1_2, from: world.client)
        },
        CatalogueCase(name: "encrypt without plaintext", expected: .invalidRequest) { world in
            await world.fixture.call(.encrypt, key: world.symmetric.id, body: [:], from: world.client)
        },
        CatalogueCase(name: "plaintext over 32 KB", expected: .invalidRequest) { world in
            await world.fixture.call(
                .encrypt, key: world.symmetric.id,
                body: ["plaintext": .string(String(repeating: "x", count: 32 * 1024 + 1))], from: world.client)
        },
        CatalogueCase(name: "legacy sign over 245 bytes", expected: .invalidRequest) { world in
            await world.fixture.call(
                .sign, key: world.asymmetric.id, body: ["plaintext": .string(String(repeating: "x", count: 246))],
                from: world.client)
        },
        CatalogueCase(name: "plaintext of the wrong type", expected: .invalidRequest) { world in
            await world.fixture.call(.encrypt, key: world.symmetric.id, body: ["plaintext": 42], from: world.client)
        },
        CatalogueCase(name: "management call without credentials", expected: .unauthorized) { world in
            await world.fixture.manage(.listKeyStores, credentials: Credentials())
        },
        CatalogueCase(name: "wrong UAK secret", expected: .unauthorized) { world in
            await world.fixture.manage(
                .listKeyStores,
                credentials: Credentials(userAccessKeyID: world.fixture.accessKeyID, userAccessKeySecret: "wrong"))
        },
        CatalogueCase(name: "unknown appkey", expected: .invalidAppkey) { world in
            await world.fixture.engine.execute(
                APIRequest(
                    operation: .encrypt, appkey: "AAAAAAAAAAAAAAAA", keyId: world.symmetric.id,
                    body: .json(["plaintext": "x"])), from: world.client)
        },
        CatalogueCase(name: "unknown key id", expected: .invalidKeyID) { world in
            await world.fixture.call(
                .encrypt, key: String(repeating: "0", count: 32), body: ["plaintext": "x"], from: world.client)
        },
        CatalogueCase(name: "encrypt with an asymmetric key", expected: .invalidKeyID) { world in
            await world.fixture.call(.encrypt, key: world.asymmetric.id, body: ["plaintext": "x"], from: world.client)
        },
        CatalogueCase(name: "decrypt: version does not exist", expected: .invalidKeyVersion) { world in
            let blob = try await world.encrypt()
            var bytes = [UInt8](Data(base64Encoded: blob)!)
            bytes[3] = 9
            return await world.fixture.call(
                .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(Data(bytes).base64EncodedString())],
                from: world.client)
        },
        CatalogueCase(name: "decrypt: not Base64", expected: .invalidUserData) { world in
            await world.fixture.call(.decrypt, key: world.symmetric.id, body: ["ciphertext": "%%%"], from: world.client)
        },
        CatalogueCase(name: "decrypt: tampered", expected: .invalidUserData) { world in
            let blob = try await world.encrypt()
            var bytes = [UInt8](Data(base64Encoded: blob)!)
            bytes[bytes.count - 1] ^= 1
            return await world.fixture.call(
                .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(Data(bytes).base64EncodedString())],
                from: world.client)
        },
        CatalogueCase(name: "decrypt with a key pending deletion", expected: .invalidKeyStatus) { world in
            let blob = try await world.encrypt()
            _ = try await world.fixture.engine.scheduleKeyDeletion(
                appkey: world.fixture.appkey, keyId: world.symmetric.id, actor: "test")
            return await world.fixture.call(
                .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(blob)], from: world.client)
        },
        CatalogueCase(name: "decrypt a blob of a version pending deletion", expected: .invalidKeyVersionStatus) {
            world in
            let blob = try await world.encrypt()
            let engine = world.fixture.engine
            _ = try await engine.rotateKey(appkey: world.fixture.appkey, keyId: world.symmetric.id, actor: "test")
            _ = try await engine.scheduleVersionDeletion(
                appkey: world.fixture.appkey, keyId: world.symmetric.id, version: 0, actor: "test")
            return await world.fixture.call(
                .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(blob)], from: world.client)
        },
        CatalogueCase(name: "address not registered", expected: .ipv4AuthFailure) { world in
            await world.fixture.call(.encrypt, key: world.symmetric.id, body: ["plaintext": "x"], from: .at("10.0.1.7"))
        },
        CatalogueCase(name: "no MAC header", expected: .macAuthFailure) { world in
            await world.fixture.call(.encrypt, key: world.macKey.id, body: ["plaintext": "x"], from: world.client)
        },
        CatalogueCase(name: "no client certificate", expected: .certificateAuthFailure) { world in
            await world.fixture.call(
                .encrypt, key: world.certificateKey.id, body: ["plaintext": "x"], from: world.client)
        },
        CatalogueCase(name: "expired certificate", expected: .certificateExpired) { world in
            world.fixture.clock.advance(by: 31 * day)
            return await world.fixture.call(
                .encrypt, key: world.certificateKey.id, body: ["plaintext": "x"],
                from: .at("10.0.0.7", chain: [world.certificate]))
        },
        CatalogueCase(name: "certificate not yet valid", expected: .certificateNotYetValid) { world in
            let early = try mintCertificate(
                from: world.fixture.engine.authority, notBefore: referenceTime + day, notAfter: referenceTime + 2 * day)
            return await world.fixture.call(
                .encrypt, key: world.certificateKey.id, body: ["plaintext": "x"], from: .at("10.0.0.7", chain: [early]))
        },
        CatalogueCase(name: "certificate of another CA", expected: .untrustedCertificate) { world in
            let other = try CertificateAuthority.create(commonName: "SKM Client CA", now: referenceTime - day)
            let foreign = try mintCertificate(
                from: other, notBefore: referenceTime - day, notAfter: referenceTime + day)
            return await world.fixture.call(
                .encrypt, key: world.certificateKey.id, body: ["plaintext": "x"],
                from: .at("10.0.0.7", chain: [foreign]))
        },
        CatalogueCase(name: "storage fails", expected: .internalError) { world in
            let engine = try await Engine.open(
                storage: FailingStorage(base: world.fixture.engine.storage), rootKey: testRootKey,
                configuration: world.fixture.engine.configuration)
            return await engine.execute(
                APIRequest(
                    operation: .encrypt, appkey: world.fixture.appkey, keyId: world.symmetric.id,
                    body: .json(["plaintext": "x"])),
                from: world.client)
        },
    ]

    @Test(arguments: cases)
    func reachesCatalogueError(_ row: CatalogueCase) async throws {
        let world = try await World.make()
        let outcome = try await row.run(world)
        #expect(outcome.error == row.expected, "\(outcome.rejection?.description ?? "success")")
        let envelope = outcome.envelope
        #expect(envelope["header"]?["resultCode"] == .int(row.expected.resultCode))
        #expect(envelope["header"]?["resultMessage"] == .string(row.expected.resultMessage))
        #expect(envelope["header"]?["isSuccessful"] == .bool(false))
    }

    @Test func tableCoversTheWholeCatalogue() {
        let reached = Set(Self.cases.map(\.expected))
        #expect(reached == Set(APIError.allCases))
    }
}

/// Storage that fails every read of key contexts, to reach Internal Error.
struct FailingStorage: Storage {
    let base: any Storage
    struct Broken: Error {}
    func setting(_ name: String) async throws -> Data? { try await base.setting(name) }
    func settings(prefix: String) async throws -> [String: Data] { try await base.settings(prefix: prefix) }
    func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int { throw Broken() }
    func appkey(id: String) async throws -> Appkey? { try await base.appkey(id: id) }
    func appkeys() async throws -> [Appkey] { try await base.appkeys() }
    func userAccessKey(id: String) async throws -> UserAccessKey? { try await base.userAccessKey(id: id) }
    func userAccessKeys(appkey: String) async throws -> [UserAccessKey] { throw Broken() }
    func keyStore(id: Int) async throws -> KeyStore? { throw Broken() }
    func keyStores(appkey: String) async throws -> [KeyStore] { throw Broken() }
    func key(id: String) async throws -> ManagedKey? { throw Broken() }
    func keys(keyStoreId: Int) async throws -> [ManagedKey] { throw Broken() }
    func versions(keyId: String) async throws -> [KeyVersion] { throw Broken() }
    func authEntry(id: Int) async throws -> AuthEntry? { throw Broken() }
    func authEntries(keyStoreId: Int) async throws -> [AuthEntry] { throw Broken() }
    func sealedItem(_ context: SealContext) async throws -> Data? { try await base.sealedItem(context) }
    func keyContext(keyId: String) async throws -> KeyContext? { throw Broken() }
    func events(after sequence: Int, limit: Int) async throws -> [AuditEvent] { throw Broken() }
    func dueWork(at now: Date) async throws -> DueWork { throw Broken() }
    func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] { throw Broken() }
    func exportState() async throws -> StoredState { throw Broken() }
    func commit(_ changes: ChangeSet) async throws { throw Broken() }
}
