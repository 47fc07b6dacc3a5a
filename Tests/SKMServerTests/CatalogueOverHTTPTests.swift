import AsyncHTTPClient
import Crypto
import Foundation
import NIOHTTP1
import SKMCore
import SKMTestSupport
import Testing
import X509

/// One server with a key store per factor, and one symmetric key in each.
struct HTTPWorld: Sendable {
    let server: TestServer
    let local: KeyStore
    let remote: KeyStore
    let macStore: KeyStore
    let certificateStore: KeyStore
    let key: ManagedKey
    let remoteKey: ManagedKey
    let macKey: ManagedKey
    let certificateKey: ManagedKey
    let certificate: Certificate
    let certificateKeyPair: P256.Signing.PrivateKey

    static func make() async throws -> HTTPWorld {
        let server = try await TestServer.start()
        let fixture = server.fixture
        let local = try await fixture.store("local")
        try await fixture.allow("127.0.0.0/8", in: local)
        let remote = try await fixture.store("remote")
        try await fixture.allow("10.0.0.0/8", in: remote)
        let macStore = try await fixture.store("mac", ip4: false, mac: true)
        try await fixture.allow("aa:bb:cc:dd:ee:ff", in: macStore, kind: .mac)
        let certificateStore = try await fixture.store("cert", ip4: false, certificate: true)
        let entry = try await fixture.engine.issueCertificate(
            appkey: fixture.appkey, store: .id(certificateStore.id), name: "app", password: "pw", lifetimeDays: 30,
            actor: "test")
        // The test needs the private key of the registered certificate: read it back the way a client would.
        let (certificate, privateKey) = try await issuedKeyPair(fixture: fixture, store: certificateStore, entry: entry)
        return HTTPWorld(
            server: server, local: local, remote: remote, macStore: macStore, certificateStore: certificateStore,
            key: try await fixture.key(.symmetric, in: local, name: "aes"),
            remoteKey: try await fixture.key(.symmetric, in: remote, name: "remote-aes"),
            macKey: try await fixture.key(.symmetric, in: macStore, name: "mac-aes"),
            certificateKey: try await fixture.key(.symmetric, in: certificateStore, name: "cert-aes"),
            certificate: certificate, certificateKeyPair: privateKey)
    }

    func encrypt(
        _ client: TestClient, key: ManagedKey? = nil, headers: [(String, String)] = []
    ) async throws
        -> TestClient.Answer
    {
        try await client.send(
            .POST, server.url(server.api("symmetric-keys/\((key ?? self.key).id)/encrypt")),
            json: ["plaintext": "hello"],
            headers: headers)
    }

    func decrypt(_ client: TestClient, _ ciphertext: String, key: ManagedKey? = nil) async throws -> TestClient.Answer {
        try await client.send(
            .POST, server.url(server.api("symmetric-keys/\((key ?? self.key).id)/decrypt")),
            json: ["ciphertext": .string(ciphertext)])
    }
}

/// Reads the issued certificate and its private key out of the PKCS#12 export, as a client would.
func issuedKeyPair(
    fixture: Fixture, store: KeyStore, entry: AuthEntry
) async throws
    -> (Certificate, P256.Signing.PrivateKey)
{
    let bytes = try await fixture.engine.exportCertificate(
        appkey: fixture.appkey, store: .id(store.id), name: entry.value)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("c.p12")
    try Data(bytes).write(to: file)
    let pem = try await Subprocess.run(
        URL(fileURLWithPath: "/usr/bin/openssl"),
        ["pkcs12", "-in", file.path, "-passin", "pass:pw", "-nocerts", "-nodes"]
    ).output
    let start = try #require(pem.range(of: "-----BEGIN PRIVATE KEY-----"))
    return (
        try Certificate(pemEncoded: entry.certificate!.pem),
        try P256.Signing.PrivateKey(pemRepresentation: String(pem[start.lowerBound...]))
    )
}

struct HTTPCase: Sendable, CustomTestStringConvertible {
    let expected: APIError
    let name: String
    let run: @Sendable (HTTPWorld) async throws -> TestClient.Answer
    var testDescription: String { "\(expected.resultMessage): \(name)" }
}

@Suite struct CatalogueOverHTTPTests {
    static let cases: [HTTPCase] = [
        HTTPCase(expected: .urlNotFound, name: "unknown path") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await client.send(.GET, world.server.url(world.server.api("nothing-here")))
        },
        HTTPCase(expected: .urlNotFound, name: "wrong method") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await client.send(
                .GET, world.server.url(world.server.api("symmetric-keys/\(world.key.id)/encrypt")))
        },
        HTTPCase(expected: .invalidRequest, name: "malformed JSON") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await client.send(
                .POST, world.server.url(world.server.api("symmetric-keys/\(world.key.id)/encrypt")),
                raw: "{\"plaintext\": ")
        },
        HTTPCase(expected: .unauthorized, name: "key creation without a UAK") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await client.send(
                .POST, world.server.url(world.server.api("keys/symmetric-keys/create")),
                json: ["keyStoreName": "local", "name": "k"])
        },
        HTTPCase(expected: .invalidAppkey, name: "unknown appkey") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await client.send(
                .POST,
                world.server.url(
                    world.server.api("symmetric-keys/\(world.key.id)/encrypt", appkey: "ZZZZZZZZZZZZZZZZ")),
                json: ["plaintext": "x"])
        },
        HTTPCase(expected: .invalidKeyID, name: "unknown key") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(
                client,
                key: ManagedKey(
                    id: String(repeating: "1", count: 32), appkey: "", keyStoreId: 0, name: "", description: "",
                    type: .symmetric, status: .active, autoRotationPeriod: 0, nextRotationAt: nil, deletionAt: nil,
                    latestVersion: 0, created: Stamp(user: "", at: Date()), lastChange: Stamp(user: "", at: Date())))
        },
        HTTPCase(expected: .invalidKeyVersion, name: "blob of a version the key never had") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            let blob = try #require(try await world.encrypt(client).json["body"]?["ciphertext"]?.stringValue)
            var bytes = [UInt8](Data(base64Encoded: blob)!)
            bytes[3] = 7
            return try await world.decrypt(client, Data(bytes).base64EncodedString())
        },
        HTTPCase(expected: .invalidUserData, name: "not Base64") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await world.decrypt(client, "not base64!")
        },
        HTTPCase(expected: .invalidKeyStatus, name: "key pending deletion") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            let blob = try #require(try await world.encrypt(client).json["body"]?["ciphertext"]?.stringValue)
            _ = try await world.server.engine.scheduleKeyDeletion(
                appkey: world.server.appkey, keyId: world.key.id, actor: "t")
            return try await world.decrypt(client, blob)
        },
        HTTPCase(expected: .invalidKeyVersionStatus, name: "version pending deletion") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            let blob = try #require(try await world.encrypt(client).json["body"]?["ciphertext"]?.stringValue)
            let engine = world.server.engine
            _ = try await engine.rotateKey(appkey: world.server.appkey, keyId: world.key.id, actor: "t")
            _ = try await engine.scheduleVersionDeletion(
                appkey: world.server.appkey, keyId: world.key.id, version: 0, actor: "t")
            return try await world.decrypt(client, blob)
        },
        HTTPCase(expected: .ipv4AuthFailure, name: "127.0.0.1 is not registered") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(client, key: world.remoteKey)
        },
        HTTPCase(expected: .macAuthFailure, name: "no MAC header") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(client, key: world.macKey)
        },
        HTTPCase(expected: .certificateAuthFailure, name: "no client certificate") { world in
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(client, key: world.certificateKey)
        },
        HTTPCase(expected: .certificateExpired, name: "registered certificate, now expired") { world in
            world.server.fixture.clock.advance(by: 31 * day)
            let client = try world.server.client(presenting: (world.certificate, world.certificateKeyPair))
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(client, key: world.certificateKey)
        },
        HTTPCase(expected: .certificateNotYetValid, name: "certificate from the future") { world in
            let issued = try world.server.engine.authority.issue(
                subject: { try DistinguishedName { CommonName("early") } }, notBefore: referenceTime + day,
                notAfter: referenceTime + 2 * day, usage: [.clientAuth], names: [])
            let client = try world.server.client(presenting: (issued.certificate, issued.privateKey))
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(client, key: world.certificateKey)
        },
        HTTPCase(expected: .untrustedCertificate, name: "certificate of another CA") { world in
            let other = try CertificateAuthority.create(commonName: "SKM Client CA", now: referenceTime - day)
            let issued = try other.issue(
                subject: { try DistinguishedName { CommonName("stranger") } }, notBefore: referenceTime - day,
                notAfter: referenceTime + day, usage: [.clientAuth], names: [])
            let client = try world.server.client(presenting: (issued.certificate, issued.privateKey))
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(client, key: world.certificateKey)
        },
        HTTPCase(expected: .internalError, name: "damaged key material") { world in
            try await world.server.engine.storage.commit(
                ChangeSet([.putSealed(.keyMaterial(keyId: world.key.id, version: 0), Data([1, 2, 3]))]))
            let client = try world.server.client()
            defer { Task { try await client.shutdown() } }
            return try await world.encrypt(client)
        },
    ]

    @Test(arguments: cases)
    func catalogueErrorOverHTTP(_ row: HTTPCase) async throws {
        let world = try await HTTPWorld.make()
        let answer = try await row.run(world)
        try await world.server.stop()
        #expect(answer.status == row.expected.httpStatus)
        #expect(
            answer.json["header"] == [
                "resultCode": .int(row.expected.resultCode), "resultMessage": .string(row.expected.resultMessage),
                "isSuccessful": false,
            ])
        #expect(answer.json["body"] == .null)
        #expect(answer.header("Content-Type")?.hasPrefix("application/json") == true)
        // A 500 never says why.
        if row.expected == .internalError {
            #expect(!String(decoding: answer.body, as: UTF8.self).contains("material"))
        }
        // The failure is in the log with the same answer.
        let last = try #require(try world.server.logLines().last)
        #expect(last["response"]?["resultCode"] == .int(row.expected.resultCode))
        #expect(last["response"]?["httpStatus"] == .int(row.expected.httpStatus))
    }

    @Test func tableCoversTheCatalogue() {
        #expect(Set(Self.cases.map(\.expected)) == Set(APIError.allCases))
    }
}
