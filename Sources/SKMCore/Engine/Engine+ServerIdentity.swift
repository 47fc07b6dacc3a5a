import Crypto
import Foundation
import SKMPrimitives
import X509

/// The certificate and key the server presents over TLS.
package struct ServerIdentity: Sendable {
    package var certificate: Certificate
    package var privateKey: P256.Signing.PrivateKey
    /// Certificates to send after the leaf (the issuing CA).
    package var chain: [Certificate]
}

extension Engine {
    static let serverCertificateSetting = "server_certificate"

    /// The server certificate the installation's CA issued for `hosts`: issued on first use, and issued again when
    /// the stored one does not name every host or expires within 30 days.
    package func serverIdentity(hosts: [String]) async throws -> ServerIdentity {
        let now = clock.now
        if let pem = try await storage.setting(Self.serverCertificateSetting),
            let sealed = try await storage.sealedItem(.serverKey),
            let certificate = try? Certificate(pemEncoded: String(decoding: pem, as: UTF8.self)),
            certificate.notValidAfter > now.addingTimeInterval(30 * 86_400),
            Set(hosts).isSubset(of: Self.names(in: certificate))
        {
            let key = try P256.Signing.PrivateKey(rawRepresentation: try vault.open(sealed, for: .serverKey))
            return ServerIdentity(certificate: certificate, privateKey: key, chain: [authority.certificate])
        }
        let issued = try authority.issueServerCertificate(hosts: hosts, now: now)
        try await storage.commit(
            ChangeSet([
                .putSetting(Self.serverCertificateSetting, Data(issued.certificate.pemString.utf8)),
                .putSealed(.serverKey, try vault.seal(issued.privateKey.rawRepresentation, for: .serverKey)),
            ]))
        return ServerIdentity(
            certificate: issued.certificate, privateKey: issued.privateKey, chain: [authority.certificate])
    }

    static func names(in certificate: Certificate) -> Set<String> {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        var result: Set<String> = []
        for name in names {
            switch name {
            case .dnsName(let host): result.insert(host)
            case .ipAddress(let bytes) where bytes.bytes.count == 4:
                result.insert(IPv4Address(UInt32(bigEndian: Array(bytes.bytes))).description)
            default: break
            }
        }
        return result
    }
}
