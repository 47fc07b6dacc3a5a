import Foundation
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing
import X509

@Suite struct ClientAuthenticationTests {
    /// A key store with all three factors, the address 10.0.3.0/24, the MAC aa:bb:cc:dd:ee:ff and one certificate.
    struct ThreeFactors {
        let fixture: Fixture
        let key: ManagedKey
        let certificate: Certificate

        static func make(mode: AuthMode) async throws -> ThreeFactors {
            let fixture = try await Fixture.make()
            let store = try await fixture.store("all", ip4: true, mac: true, certificate: true, mode: mode)
            try await fixture.allow("10.0.3.0/24", in: store)
            try await fixture.allow("AA-BB-CC-DD-EE-FF", in: store, kind: .mac)
            let entry = try await fixture.engine.issueCertificate(
                appkey: fixture.appkey, store: .id(store.id), name: "app", password: "pw", lifetimeDays: 365,
                actor: "test")
            return ThreeFactors(
                fixture: fixture, key: try await fixture.key(.symmetric, in: store),
                certificate: try Certificate(pemEncoded: entry.certificate!.pem))
        }

        func encrypt(ip: String, mac: String?, certificate: Bool) async -> APIError? {
            await fixture.call(
                .encrypt, key: key.id, body: ["plaintext": "x"],
                from: .at(ip, mac: mac, chain: certificate ? [self.certificate] : [])
            ).error
        }
    }

    struct Attempt: Sendable, CustomTestStringConvertible {
        let ip: String
        let mac: String?
        let certificate: Bool
        let and: APIError?
        let or: APIError?
        var testDescription: String { "ip \(ip), mac \(mac ?? "none"), cert \(certificate)" }
    }

    static let attempts: [Attempt] = [
        Attempt(ip: "10.0.3.9", mac: "aa:bb:cc:dd:ee:ff", certificate: true, and: nil, or: nil),
        Attempt(ip: "10.0.4.9", mac: "aa:bb:cc:dd:ee:ff", certificate: true, and: .ipv4AuthFailure, or: nil),
        Attempt(ip: "10.0.3.9", mac: nil, certificate: true, and: .macAuthFailure, or: nil),
        Attempt(ip: "10.0.3.9", mac: "aa:bb:cc:dd:ee:ff", certificate: false, and: .certificateAuthFailure, or: nil),
        Attempt(ip: "10.0.4.9", mac: nil, certificate: true, and: .ipv4AuthFailure, or: nil),
        Attempt(ip: "10.0.4.9", mac: nil, certificate: false, and: .ipv4AuthFailure, or: .ipv4AuthFailure),
        Attempt(
            ip: "10.0.4.9", mac: "00:00:00:00:00:01", certificate: false, and: .ipv4AuthFailure, or: .ipv4AuthFailure),
    ]

    @Test(arguments: attempts)
    func andModeNeedsEveryFactorOrModeOne(_ attempt: Attempt) async throws {
        let and = try await ThreeFactors.make(mode: .and)
        #expect(await and.encrypt(ip: attempt.ip, mac: attempt.mac, certificate: attempt.certificate) == attempt.and)
        let or = try await ThreeFactors.make(mode: .or)
        #expect(await or.encrypt(ip: attempt.ip, mac: attempt.mac, certificate: attempt.certificate) == attempt.or)
    }

    @Test(arguments: [
        ("10.0.3.0", true), ("10.0.3.255", true), ("10.0.2.255", false), ("10.0.4.0", false), ("192.168.0.1", false),
    ])
    func cidrMatching(_ address: String, _ allowed: Bool) async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store()
        try await fixture.allow("10.0.3.0/24", in: store)
        let key = try await fixture.key(.symmetric, in: store)
        let error = await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: .at(address)).error
        #expect((error == nil) == allowed)
    }

    @Test(
        arguments: [
            ("aa:bb:cc:dd:ee:ff", nil), ("AA:BB:CC:DD:EE:FF", nil), ("aa-bb-cc-dd-ee-ff", nil),
            ("Aa-bB-cC-dD-eE-fF", nil),
            (" aa:bb:cc:dd:ee:ff ", nil), ("aa:bb:cc:dd:ee", APIError.macAuthFailure),
            ("aa:bb-cc:dd:ee:ff", .macAuthFailure),
            ("aabbccddeeff", .macAuthFailure), ("", .macAuthFailure), ("aa:bb:cc:dd:ee:fe", .macAuthFailure),
        ] as [(String, APIError?)])
    func macHeaderVariants(_ header: String, _ expected: APIError?) async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store(ip4: false, mac: true)
        try await fixture.allow("aa:bb:cc:dd:ee:ff", in: store, kind: .mac)
        let key = try await fixture.key(.symmetric, in: store)
        let error = await fixture.call(
            .encrypt, key: key.id, body: ["plaintext": "x"], from: .at("10.0.0.1", mac: header)
        ).error
        #expect(error == expected)
    }

    /// An address reads back as the dotted quad it was parsed from: every octet width (0, 9, 10, 99, 100, 255) in
    /// every position, and a spread of other values.
    @Test func addressesPrintAsDottedQuads() {
        let octets: [UInt32] = [0, 1, 9, 10, 42, 99, 100, 199, 255]
        var values: [UInt32] = []
        for first in octets { for last in octets { values.append(first << 24 | 7 << 16 | 200 << 8 | last) } }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 { values.append(UInt32.random(in: .min ... .max, using: &generator)) }
        for value in values {
            let address = IPv4Address(value)
            let expected = "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
            #expect(address.description == expected)
            #expect(IPv4Address(peer: address.description) == address)
        }
        #expect(IPv4Address(0).description == "0.0.0.0")
        #expect(IPv4Address(.max).description == "255.255.255.255")
    }

    @Test func certificateChecksFollowTheDocumentedOrder() async throws {
        let factors = try await ThreeFactors.make(mode: .or)
        let fixture = factors.fixture
        let authority = fixture.engine.authority
        let store = try await fixture.store("certs", ip4: false, certificate: true)
        let key = try await fixture.key(.symmetric, in: store)
        func answer(_ chain: [Certificate]) async -> Rejection? {
            await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: .at("10.0.0.1", chain: chain))
                .rejection
        }
        // Issued by this CA but never registered in this key store.
        let unregistered = try mintCertificate(
            from: authority, notBefore: referenceTime - day, notAfter: referenceTime + day)
        #expect(await answer([unregistered])?.check == .certificateRegistered)
        // Registered in another key store.
        #expect(await answer([factors.certificate])?.check == .certificateRegistered)
        // Not a client certificate.
        let server = try mintCertificate(
            from: authority, notBefore: referenceTime - day, notAfter: referenceTime + day, usage: [.serverAuth])
        #expect(await answer([server])?.check == .clientAuthenticationUsage)
        // Another CA with the same name: the signature gives it away.
        let impostor = try CertificateAuthority.create(commonName: "SKM Client CA", now: referenceTime - day)
        let forged = try mintCertificate(from: impostor, notBefore: referenceTime - day, notAfter: referenceTime + day)
        #expect(await answer([forged])?.check == .signatureVerifies)
        // An untrusted certificate is reported as untrusted even when it has also expired.
        let oldForged = try mintCertificate(
            from: impostor, notBefore: referenceTime - 9 * day, notAfter: referenceTime - 8 * day)
        #expect(await answer([oldForged])?.check == .signatureVerifies)
    }

    @Test func deletedCertificateNoLongerAuthenticates() async throws {
        let factors = try await ThreeFactors.make(mode: .or)
        let fixture = factors.fixture
        let store = try #require(try await fixture.engine.storage.keyStores(appkey: fixture.appkey).first)
        #expect(await factors.encrypt(ip: "192.0.2.1", mac: nil, certificate: true) == nil)
        _ = try await fixture.engine.scheduleAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .certificate, value: "app", actor: "test")
        #expect(await factors.encrypt(ip: "192.0.2.1", mac: nil, certificate: true) == .ipv4AuthFailure)
        let only = try await fixture.store("only-cert", ip4: false, certificate: true)
        _ = only
        _ = try await fixture.engine.deleteAuthEntry(
            appkey: fixture.appkey, store: .id(store.id), kind: .certificate, value: "app", actor: "test")
        let outcome = await fixture.call(
            .encrypt, key: factors.key.id, body: ["plaintext": "x"],
            from: .at("192.0.2.1", chain: [factors.certificate]))
        #expect(outcome.error == .ipv4AuthFailure)
        // The deleted entry's key material is destroyed.
        let entry = try #require(
            try await fixture.engine.storage.authEntries(keyStoreId: store.id).first { $0.kind == .certificate })
        #expect(entry.status == .deleted)
        #expect(try await fixture.engine.storage.sealedItem(.certificateKey(entryId: entry.id)) == nil)
    }

    /// Hundreds of entries, read once per key rather than once per call: the one that matches decides wherever it
    /// is among them, and a change to it counts from the next call.
    @Test func amongHundredsOfEntriesTheMatchingOneDecides() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store("many", ip4: true, mac: true, mode: .or)
        for index in 0..<300 { try await fixture.allow("10.\(index / 200).\(index % 200).0/24", in: store) }
        for index in 0..<50 {
            try await fixture.allow(String(format: "02:00:00:00:00:%02x", index), in: store, kind: .mac)
        }
        let key = try await fixture.key(.symmetric, in: store)
        func encrypt(_ ip: String, mac: String? = nil) async -> APIError? {
            let outcome = await fixture.call(
                .encrypt, key: key.id, body: ["plaintext": "x"], from: .at(ip, mac: mac))
            return outcome.error
        }
        #expect(await encrypt("10.1.99.7") == nil)
        #expect(await encrypt("10.0.0.1") == nil)
        #expect(await encrypt("10.1.100.7") == .ipv4AuthFailure)
        #expect(await encrypt("10.1.100.7", mac: "02:00:00:00:00:31") == nil)
        #expect(await encrypt("10.1.100.7", mac: "02:00:00:00:00:32") == .ipv4AuthFailure)
        _ = try await fixture.engine.scheduleAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.1.99.0/24", actor: "test")
        #expect(await encrypt("10.1.99.7") == .ipv4AuthFailure)
        #expect(await encrypt("10.1.98.7") == nil)
    }

    @Test func confirmEchoesWhatTheServerObserved() async throws {
        let fixture = try await Fixture.make()
        let outcome = await fixture.engine.execute(
            APIRequest(operation: .confirm, appkey: fixture.appkey), from: .at("10.9.8.7", mac: "AA:BB:CC:DD:EE:FF"))
        #expect(
            outcome.body == [
                "clientIp": "10.9.8.7", "clientMacHeader": "AA:BB:CC:DD:EE:FF", "clientSentCertificate": false,
            ])
    }
}

@Suite struct AddressTests {
    @Test(arguments: ["1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.0.1"])
    func validAddresses(_ text: String) {
        #expect(IPv4Address(text)?.description == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.4 ", "-1.2.3.4"])
    func invalidAddresses(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func mappedIPv6PeersAreNormalised() {
        #expect(IPv4Address(peer: "::ffff:10.0.0.1")?.description == "10.0.0.1")
        #expect(IPv4Address(peer: "[::FFFF:127.0.0.1]")?.description == "127.0.0.1")
        #expect(IPv4Address(peer: "::1") == nil)
    }

    @Test func cidrParsingNamesTheProblem() {
        #expect(IPv4Network("10.0.3.0/24")?.description == "10.0.3.0/24")
        #expect(IPv4Network("10.0.3.7")?.description == "10.0.3.7")
        #expect(IPv4Network("0.0.0.0/0")?.contains(IPv4Address("8.8.8.8")!) == true)
        #expect(IPv4Network.parse("10.0.3.5/24") == .failure(.hostBitsSet(canonical: "10.0.3.0/24")))
        #expect(IPv4Network.parse("10.0.3.0/33") == .failure(.malformedPrefix("33")))
        #expect(IPv4Network.parse("10.0.3/24") == .failure(.malformedAddress("10.0.3")))
        #expect(IPv4Network.parse("10.0.3.0/") == .failure(.malformedPrefix("")))
    }

    @Test func privateRanges() {
        for text in ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "127.0.0.1"] {
            #expect(IPv4Address(text)!.isPrivate, "\(text)")
        }
        for text in ["172.32.0.1", "8.8.8.8", "203.0.113.9", "100.128.0.1"] {
            #expect(!IPv4Address(text)!.isPrivate, "\(text)")
        }
    }

    @Test func malformedRegistrationsAreRefusedNamingTheField() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store()
        for (kind, value) in [
            (AuthKind.ipv4, "10.0.0.300"), (.ipv4, "10.0.0.1/24"), (.mac, "aa:bb:cc"), (.mac, "zz:bb:cc:dd:ee:ff"),
        ] {
            await #expect {
                try await fixture.allow(value, in: store, kind: kind)
            } throws: { error in
                (error as? Rejection)?.field == "value" && (error as? Rejection)?.error == .invalidRequest
            }
        }
        try await fixture.allow("10.0.0.1", in: store)
        await #expect {
            try await fixture.allow("10.0.0.1", in: store)
        } throws: { ($0 as? Rejection)?.error == .invalidRequest }
    }
}
