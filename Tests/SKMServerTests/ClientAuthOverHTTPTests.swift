import Crypto
import Foundation
import NIOHTTP1
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing
import X509

@Suite struct ClientAuthOverHTTPTests {
    @Test func cidrMatchingUsesTheRealSourceAddress() async throws {
        let server = try await TestServer.start(plainHTTP: true)
        let fixture = server.fixture
        let store = try await fixture.store("cidr")
        try await fixture.allow("127.0.0.0/29", in: store)
        let key = try await fixture.key(.symmetric, in: store)
        func encrypt(from source: String) async throws -> Curl.Answer {
            try await Curl.run([
                "--interface", source, "-X", "POST", "-d", #"{"plaintext":"x"}"#,
                server.url(server.api("symmetric-keys/\(key.id)/encrypt"), tls: false),
            ])
        }
        #expect(try await encrypt(from: "127.0.0.5").status == 200)
        let outside = try await encrypt(from: "127.0.0.9")
        #expect(outside.status == 403)
        #expect(outside.body.contains("IPv4 Auth Failure"))
        try await server.stop()
        let peers = try server.logLines().compactMap { $0["client"]?["ip"]?.stringValue }
        #expect(peers == ["127.0.0.5", "127.0.0.9"])
    }

    @Test func andAndOrModesOverTLS() async throws {
        let server = try await TestServer.start()
        let fixture = server.fixture
        let and = try await fixture.store("and", ip4: true, mac: true, mode: .and)
        let or = try await fixture.store("or", ip4: true, mac: true, mode: .or)
        for store in [and, or] {
            try await fixture.allow("10.0.0.0/8", in: store)
            try await fixture.allow("aa:bb:cc:dd:ee:ff", in: store, kind: .mac)
        }
        let andKey = try await fixture.key(.symmetric, in: and, name: "a")
        let orKey = try await fixture.key(.symmetric, in: or, name: "o")
        let client = try server.client()
        func encrypt(_ key: ManagedKey, mac: String?) async throws -> TestClient.Answer {
            try await client.send(
                .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"],
                headers: mac.map { [("X-TOAST-CLIENT-MAC-ADDR", $0)] } ?? [])
        }
        // 127.0.0.1 is not registered; the MAC is.
        #expect(try await encrypt(andKey, mac: "aa:bb:cc:dd:ee:ff").resultMessage == "IPv4 Auth Failure")
        #expect(try await encrypt(orKey, mac: "aa:bb:cc:dd:ee:ff").status == 200)
        #expect(try await encrypt(orKey, mac: nil).resultMessage == "IPv4 Auth Failure")
        try await client.shutdown()
        try await server.stop()
    }

    @Test(arguments: [
        ("aa:bb:cc:dd:ee:ff", 200), ("AA:BB:CC:DD:EE:FF", 200), ("aa-bb-cc-dd-ee-ff", 200), ("AA-BB-CC-DD-EE-FF", 200),
        ("aa:bb:cc:dd:ee", 403), ("aa.bb.cc.dd.ee.ff", 403), ("11:22:33:44:55:66", 403), ("", 403),
    ])
    func macHeaderVariants(_ header: String, _ status: Int) async throws {
        let server = try await TestServer.start()
        let store = try await server.fixture.store("mac", ip4: false, mac: true)
        try await server.fixture.allow("aa:bb:cc:dd:ee:ff", in: store, kind: .mac)
        let key = try await server.fixture.key(.symmetric, in: store)
        let client = try server.client()
        let answer = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"],
            headers: [("X-TOAST-CLIENT-MAC-ADDR", header)])
        #expect(answer.status == status)
        let missing = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"])
        #expect(missing.resultMessage == "MAC Auth Failure")
        try await client.shutdown()
        try await server.stop()
        // The header is logged verbatim, as the client sent it.
        #expect(try server.logLines().first?["client"]?["macHeader"] == .string(header))
    }

    @Test func registeredCertificateWorksUntilDeleted() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        let client = try server.client(presenting: (world.certificate, world.certificateKeyPair))
        let ok = try await world.encrypt(client, key: world.certificateKey)
        #expect(ok.status == 200)
        let confirm = try await client.send(.GET, server.url(server.api("confirm")))
        #expect(confirm.json["body"]?["clientSentCertificate"] == true)
        _ = try await server.engine.scheduleAuthDeletion(
            appkey: server.appkey, store: .id(world.certificateStore.id), kind: .certificate, value: "app", actor: "t")
        let pending = try await world.encrypt(client, key: world.certificateKey)
        #expect(pending.resultMessage == "Certificate Auth Failure")
        try await client.shutdown()
        try await server.stop()
        let record = try #require(try server.logLines().last)
        #expect(record["client"]?["cert"]?["present"] == true)
        #expect(record["client"]?["cert"]?["chainVerified"] == true)
        #expect(record["client"]?["cert"]?["sha256"] == .string(world.certificate.sha256Fingerprint))
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() async throws {
        for trusted in [true, false] {
            let server = try await TestServer.start(trustedProxies: trusted ? [IPv4Network("127.0.0.1")!] : [])
            let store = try await server.fixture.store("public")
            try await server.fixture.allow("203.0.113.0/24", in: store)
            let key = try await server.fixture.key(.symmetric, in: store)
            let client = try server.client()
            let answer = try await client.send(
                .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"],
                headers: [("X-Forwarded-For", "198.51.100.1, 203.0.113.7")])
            #expect(answer.status == (trusted ? 200 : 403))
            let confirm = try await client.send(
                .GET, server.url(server.api("confirm")), headers: [("X-Forwarded-For", "203.0.113.7")])
            #expect(confirm.json["body"]?["clientIp"] == (trusted ? "203.0.113.7" : "127.0.0.1"))
            try await client.shutdown()
            try await server.stop()
            let record = try #require(try server.logLines().first)
            #expect(record["client"]?["peer"] == "127.0.0.1")
            #expect(record["client"]?["forwardedFor"] == "198.51.100.1, 203.0.113.7")
        }
    }

    @Test func plainHTTPFailsCertificateAuthenticationCleanly() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        _ = server
        let plain = try await TestServer.start(fixture: world.server.fixture, plainHTTP: true)
        let store = try await plain.fixture.store("only-cert", ip4: false, certificate: true)
        let key = try await plain.fixture.key(.symmetric, in: store)
        let answer = try await Curl.run([
            "-X", "POST", "-d", #"{"plaintext":"x"}"#,
            plain.url(plain.api("symmetric-keys/\(key.id)/encrypt"), tls: false),
        ])
        #expect(answer.status == 403)
        #expect(answer.body.contains("Certificate Auth Failure"))
        try await plain.stop()
        try await world.server.stop()
        #expect(try plain.logLines().last?["client"]?["tls"] == false)
    }
}
