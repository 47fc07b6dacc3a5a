import Foundation
import SKMCore
import SKMTestSupport
import SKMWire
import Testing
import X509

@Suite struct CertificateAuthorityTests {
    /// A client certificate "billing", valid for 90 days, issued by the fixture's CA into a new key store.
    func issueBilling(_ fixture: Fixture) async throws -> (summary: IssuedCertificate, certificate: Certificate) {
        let store = try await fixture.store("payments", certificate: true)
        let entry = try await fixture.engine.issueCertificate(
            appkey: fixture.appkey, store: .id(store.id), name: "billing", password: "pw", lifetimeDays: 90,
            actor: "test")
        let summary = try #require(entry.certificate)
        return (summary, try Certificate(pemEncoded: summary.pem))
    }

    @Test func issuedClientCertificateHasClientAuthAndLifetime() async throws {
        let fixture = try await Fixture.make()
        let (summary, certificate) = try await issueBilling(fixture)
        #expect(try certificate.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
        #expect(certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore) == 90 * day)
        #expect(summary.subject.contains("CN=billing"))
        #expect(summary.sha256 == certificate.sha256Fingerprint)
        #expect(fixture.engine.authority.check([certificate], at: referenceTime) == .valid)
        #expect(
            fixture.engine.authority.check([certificate], at: referenceTime + 91 * day)
                == .expired(notAfter: certificate.notValidAfter))
        #expect(fixture.engine.authority.check([], at: referenceTime) == .absent)
    }

    /// A presented certificate whose validity reads a leap second (second 60 or 61, which DER parsing takes) is judged
    /// like any other, in debug builds too: its times count each field as written, second 61 being a minute and one
    /// second on, and the request log records them. Reading them through swift-certificates stopped a debug build.
    @Test func validityTimesWithLeapSecondsAreReadAsWritten() async throws {
        let fixture = try await Fixture.make()
        let genuine = try await issueBilling(fixture).certificate
        let authority = fixture.engine.authority
        for second in ["60", "61"] {
            // The first UTCTime (tag 0x17, 13 bytes "YYMMDDHHMMSSZ") is notBefore; its seconds are bytes 10 and 11.
            var bytes = genuine.derBytes
            let start = try #require(
                bytes.indices.first { bytes[$0] == 0x17 && bytes[$0 + 1] == 13 && bytes[$0 + 14] == UInt8(ascii: "Z") })
            let written = String(decoding: bytes[(start + 12)...(start + 13)], as: UTF8.self)
            bytes.replaceSubrange((start + 12)...(start + 13), with: Array(second.utf8))
            let leap = try Certificate(derEncoded: bytes)
            let expected = genuine.notValidBefore + Double(Int(second)! - Int(written)!)

            #expect(leap.validityPeriod.notBefore == expected, "second \(second)")
            #expect(leap.validityPeriod.notAfter == genuine.notValidAfter)
            #expect(authority.examine(leap).notBefore == expected)
            #expect(authority.check([leap], at: referenceTime) == .untrusted(.badSignature))
            let observation = RequestRecord.CertificateObservation(leap, authority: authority)
            #expect(observation == RequestRecord.CertificateObservation(leap, issuer: authority.certificate))
            #expect(observation.notBefore == expected)
        }
        #expect(genuine.validityPeriod.notBefore == genuine.notValidBefore)
        #expect(genuine.validityPeriod.notAfter == genuine.notValidAfter)
    }

    /// The signature of a presented certificate is checked once and the finding kept, for that very certificate
    /// only: the same signed bytes under another signature are examined anew and refused, by client authentication
    /// and in the request log alike, and the genuine certificate stays trusted.
    @Test func aKeptFindingNeverCoversAnotherSignature() async throws {
        let fixture = try await Fixture.make()
        let genuine = try await issueBilling(fixture).certificate
        let authority = fixture.engine.authority
        #expect(authority.check([genuine], at: referenceTime) == .valid)

        // The last byte of the DER encoding is the last byte of the signature's s.
        var bytes = genuine.derBytes
        bytes[bytes.count - 1] ^= 0x01
        let forged = try Certificate(derEncoded: bytes)
        #expect(forged.tbsCertificateBytes == genuine.tbsCertificateBytes)
        #expect(forged != genuine)

        for _ in 0..<2 {
            #expect(authority.check([forged], at: referenceTime) == .untrusted(.badSignature))
            #expect(authority.check([genuine], at: referenceTime) == .valid)
            #expect(authority.examine(forged).signedByThisCA == false)
            #expect(authority.examine(genuine).signedByThisCA)
            #expect(authority.examine(genuine).sha256 == genuine.sha256Fingerprint)
            #expect(authority.examine(forged).sha256 == forged.sha256Fingerprint)
            #expect(RequestRecord.CertificateObservation(forged, authority: authority).chainVerified == false)
            #expect(RequestRecord.CertificateObservation(genuine, authority: authority).chainVerified == true)
            #expect(
                RequestRecord.CertificateObservation(genuine, authority: authority)
                    == RequestRecord.CertificateObservation(genuine, issuer: authority.certificate))
            #expect(
                RequestRecord.CertificateObservation(forged, authority: authority)
                    == RequestRecord.CertificateObservation(forged, issuer: authority.certificate))
        }
    }

    /// Certificates this CA did not issue for clients are refused for the same reason on every request, and the
    /// request log records them as it does without a kept finding: one of another CA of the same name (the
    /// signature is wrong), one of a CA of another name, and this CA's server certificate.
    @Test func keptFindingsRefuseWhatTheCheckRefuses() async throws {
        let fixture = try await Fixture.make()
        let authority = fixture.engine.authority
        let sameName = try CertificateAuthority.create(commonName: "SKM Client CA", now: referenceTime)
        let otherName = try CertificateAuthority.create(commonName: "Elsewhere CA", now: referenceTime)
        let impostor = try sameName.issueClientCertificate(
            commonName: "billing", organizationalUnit: "payments", now: referenceTime, lifetimeDays: 30
        ).certificate
        let stranger = try otherName.issueClientCertificate(
            commonName: "billing", organizationalUnit: "payments", now: referenceTime, lifetimeDays: 30
        ).certificate
        let server = try authority.issueServerCertificate(hosts: ["127.0.0.1"], now: referenceTime).certificate
        try #require(impostor.issuer == authority.certificate.subject)
        let now = referenceTime + day
        for _ in 0..<2 {
            #expect(authority.check([impostor], at: now) == .untrusted(.badSignature))
            #expect(authority.check([stranger], at: now) == .untrusted(.otherIssuer))
            #expect(authority.check([server], at: now) == .untrusted(.notForClientAuthentication))
            for certificate in [impostor, stranger, server] {
                let observed = RequestRecord.CertificateObservation(certificate, authority: authority)
                #expect(observed == RequestRecord.CertificateObservation(certificate, issuer: authority.certificate))
                #expect(observed.chainVerified == (certificate == server))
            }
        }
    }

    @Test func certificateParametersAreValidated() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store(certificate: true)
        for (password, lifetime, field) in [("", 30, "password"), ("pw", 0, "lifeTime"), ("pw", 3651, "lifeTime")] {
            await #expect {
                _ = try await fixture.engine.issueCertificate(
                    appkey: fixture.appkey, store: .id(store.id), name: "c", password: password, lifetimeDays: lifetime,
                    actor: "t")
            } throws: { ($0 as? Rejection)?.field == field }
        }
    }

    @Test func pkcs12IsReadByOpenSSLWithThePassword() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store(certificate: true)
        let entry = try await fixture.engine.issueCertificate(
            appkey: fixture.appkey, store: .id(store.id), name: "billing", password: "cr3at10n", lifetimeDays: 30,
            actor: "test")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        // With the password chosen at creation, and with another one chosen at export.
        for password in ["cr3at10n", "expo rt!"] {
            let bytes = try await fixture.engine.exportCertificate(
                appkey: fixture.appkey, store: .id(store.id), name: "billing",
                password: password == "cr3at10n" ? nil : password)
            let file = directory.appendingPathComponent("client.p12")
            try Data(bytes).write(to: file)
            let certificates = try runOpenSSL([
                "pkcs12", "-in", file.path, "-passin", "pass:\(password)", "-nokeys", "-clcerts",
            ])
            #expect(certificates.contains("BEGIN CERTIFICATE"))
            #expect(certificates.contains("billing"))
            let key = try runOpenSSL(["pkcs12", "-in", file.path, "-passin", "pass:\(password)", "-nocerts", "-nodes"])
            #expect(key.contains("BEGIN PRIVATE KEY"))
            let wrong = try? runOpenSSL(["pkcs12", "-in", file.path, "-passin", "pass:wrong", "-nokeys"])
            #expect(wrong == nil)
            // Read back in-process too, and it is the registered certificate.
            let parsed = try PKCS12.certificates(in: bytes, password: password)
            #expect(parsed.first?.sha256Fingerprint == entry.certificate?.sha256)
            #expect(throws: CoreError.self) { try PKCS12.certificates(in: bytes, password: "nope") }
        }
    }

    @Test func pkcs12IsReadByJavaAndPython() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store(certificate: true)
        let entry = try await fixture.engine.issueCertificate(
            appkey: fixture.appkey, store: .id(store.id), name: "billing", password: "pw-1234", lifetimeDays: 30,
            actor: "test")
        let bytes = try await fixture.engine.exportCertificate(
            appkey: fixture.appkey, store: .id(store.id), name: "billing")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("skm.p12")
        try Data(bytes).write(to: file)

        // Python's cryptography, as a Python client loads it.
        let python = try run(
            "/usr/bin/env",
            [
                "python3", "-c",
                """
                import sys
                from cryptography.hazmat.primitives.serialization import pkcs12
                from cryptography.hazmat.primitives import hashes
                key, cert, extra = pkcs12.load_key_and_certificates(open(sys.argv[1], 'rb').read(), b'pw-1234')
                print(cert.fingerprint(hashes.SHA256()).hex(), key is not None, len(extra))
                """, file.path,
            ])
        #expect(python.trimmingCharacters(in: .whitespacesAndNewlines) == "\(entry.certificate!.sha256) True 1")

        // Java's KeyStore.getInstance("PKCS12"), through keytool.
        let java = try run(
            "/usr/bin/env",
            ["keytool", "-list", "-v", "-storetype", "PKCS12", "-keystore", file.path, "-storepass", "pw-1234"])
        #expect(java.contains("Entry type: PrivateKeyEntry"))
        #expect(java.contains("Certificate chain length: 2"))
        #expect(java.uppercased().contains(entry.certificate!.sha256.uppercased().chunked(2).joined(separator: ":")))
    }

    func run(_ executable: String, _ arguments: [String]) throws -> String {
        let result = try Subprocess.runBlocking(URL(fileURLWithPath: executable), arguments)
        let text = result.output + result.error
        struct Failed: Error, CustomStringConvertible { let description: String }
        guard result.status == 0 else { throw Failed(description: text) }
        return text
    }

    func runOpenSSL(_ arguments: [String]) throws -> String {
        let result = try Subprocess.runBlocking(URL(fileURLWithPath: "/usr/bin/openssl"), arguments)
        struct Failed: Error {}
        guard result.status == 0 else { throw Failed() }
        return result.output
    }
}

extension String {
    func chunked(_ size: Int) -> [String] {
        stride(from: 0, to: count, by: size).map { offset in
            let start = index(startIndex, offsetBy: offset)
            return String(self[start..<index(start, offsetBy: size, limitedBy: endIndex)!])
        }
    }
}
