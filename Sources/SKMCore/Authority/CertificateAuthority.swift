import Crypto
import Foundation
import SKMPrimitives
import SwiftASN1
import Synchronization
import X509

/// The installation's own certificate authority: it issues the client certificates key stores register, and it is
/// the only issuer client-certificate authentication trusts.
package struct CertificateAuthority: Sendable {
    package let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey
    /// What was found on the certificates clients presented, shared by the copies of this CA.
    private let presented = PresentedCertificates()

    package init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// What this CA finds on `leaf`, worked out once per certificate: a client presents the same certificate on
    /// every request, and checking an ECDSA signature costs more than the rest of a data call.
    package func examine(_ leaf: Certificate) -> PresentedCertificate {
        presented.facts(of: leaf, by: certificate)
    }

    /// A new CA with a fresh P-256 key, valid for `validityDays` from `now`.
    package static func create(
        commonName: String, now: Date, validityDays: Int = 3650
    ) throws(CoreError)
        -> CertificateAuthority
    {
        let key = P256.Signing.PrivateKey()
        let notBefore = now.truncatedToSeconds
        do {
            let name = try DistinguishedName {
                OrganizationName("SKM")
                CommonName(commonName)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Self.randomSerialNumber(),
                publicKey: .init(key.publicKey),
                notValidBefore: notBefore,
                notValidAfter: notBefore.addingTimeInterval(Double(validityDays) * 86_400),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
                },
                issuerPrivateKey: .init(key)
            )
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch {
            throw CoreError(.certificate, "cannot create the CA certificate: \(error)")
        }
    }

    /// A certificate and its private key, freshly issued.
    package struct Issued: Sendable {
        package var certificate: Certificate
        package var privateKey: P256.Signing.PrivateKey
    }

    /// Issues a client certificate (EKU clientAuth) named `commonName`, valid from `now` for `lifetimeDays`.
    package func issueClientCertificate(
        commonName: String, organizationalUnit: String, now: Date, lifetimeDays: Int
    ) throws(CoreError) -> Issued {
        let notBefore = now.truncatedToSeconds
        return try issue(
            subject: {
                try DistinguishedName {
                    OrganizationName("SKM")
                    OrganizationalUnitName(organizationalUnit)
                    CommonName(commonName)
                }
            },
            notBefore: notBefore, notAfter: notBefore.addingTimeInterval(Double(lifetimeDays) * 86_400),
            usage: [.clientAuth], names: [])
    }

    /// Issues a TLS server certificate for `hosts` (DNS names or IP addresses).
    package func issueServerCertificate(
        hosts: [String], now: Date, lifetimeDays: Int = 825
    ) throws(CoreError)
        -> Issued
    {
        let notBefore = now.truncatedToSeconds
        var names: [GeneralName] = []
        for host in hosts {
            if let address = IPv4Address(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.value.bigEndianBytes))))
            } else {
                names.append(.dnsName(host))
            }
        }
        return try issue(
            subject: {
                try DistinguishedName {
                    OrganizationName("SKM"); CommonName(hosts.first ?? "localhost")
                }
            },
            notBefore: notBefore, notAfter: notBefore.addingTimeInterval(Double(lifetimeDays) * 86_400),
            usage: [.serverAuth], names: names)
    }

    /// Signs a certificate with arbitrary validity; tests use it to mint expired and not-yet-valid certificates.
    package func issue(
        subject: () throws -> DistinguishedName, notBefore: Date, notAfter: Date,
        usage: [ExtendedKeyUsage.Usage], names: [GeneralName]
    ) throws(CoreError) -> Issued {
        let key = P256.Signing.PrivateKey()
        do {
            let issuerKeyIdentifier = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Self.randomSerialNumber(),
                publicKey: .init(key.publicKey),
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: self.certificate.subject,
                subject: try subject(),
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyAgreement: true))
                    try ExtendedKeyUsage(usage)
                    SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
                    if let issuerKeyIdentifier {
                        AuthorityKeyIdentifier(keyIdentifier: issuerKeyIdentifier)
                    }
                    if !names.isEmpty {
                        SubjectAlternativeNames(names)
                    }
                },
                issuerPrivateKey: .init(privateKey)
            )
            return Issued(certificate: certificate, privateKey: key)
        } catch {
            throw CoreError(.certificate, "cannot issue a certificate: \(error)")
        }
    }

    /// Checks a presented chain (leaf first) the way client authentication does, in its order: presented, issued by
    /// this CA with a valid signature and for client authentication, not before its start, not after its end.
    /// Whether the certificate is registered in a key store is the caller's question.
    package func check(_ chain: [Certificate], at now: Date) -> CertificateCheck {
        check(chain.first.map(examine), at: now)
    }

    /// ``check(_:at:)`` on what ``examine(_:)`` found on the leaf, for a caller that reads the finding too (its
    /// fingerprint): the certificate is looked up once.
    package func check(_ found: PresentedCertificate?, at now: Date) -> CertificateCheck {
        guard let found else { return .absent }
        guard found.issuedByThisCA else { return .untrusted(.otherIssuer) }
        guard found.signedByThisCA else { return .untrusted(.badSignature) }
        guard found.forClientAuthentication else { return .untrusted(.notForClientAuthentication) }
        if now < found.notBefore { return .notYetValid(notBefore: found.notBefore) }
        if now > found.notAfter { return .expired(notAfter: found.notAfter) }
        return .valid
    }

    static func randomSerialNumber() -> Certificate.SerialNumber {
        var bytes = SystemIdentifierSource().randomBytes(count: 16)
        bytes[0] = bytes[0] & 0x7F | 0x40
        return Certificate.SerialNumber(bytes: ArraySlice(bytes))
    }
}

/// What a CA found on a certificate a client presented (``CertificateAuthority/examine(_:)``): everything about it
/// that does not depend on the time of the request.
package struct PresentedCertificate: Sendable {
    /// Whether the certificate names the CA as its issuer.
    package let issuedByThisCA: Bool
    /// Whether the CA's key signed the certificate (checked only when it names the CA as its issuer).
    package let signedByThisCA: Bool
    /// Whether the certificate may authenticate a client: it has no extended key usage, or one with client
    /// authentication.
    package let forClientAuthentication: Bool
    /// SHA-256 of the certificate's DER encoding, lower-case hexadecimal.
    package let sha256: String
    /// The subject and issuer as text (RFC 4514), and the serial number in lower-case hexadecimal.
    package let subject: String
    package let issuer: String
    package let serial: String
    /// The validity period the certificate states (part of what was signed, so the same for every request).
    package let notBefore: Date
    package let notAfter: Date

    init(_ leaf: Certificate, by authority: Certificate) {
        issuedByThisCA = leaf.issuer == authority.subject
        signedByThisCA = issuedByThisCA && authority.publicKey.isValidSignature(leaf.signature, for: leaf)
        if let usage = try? leaf.extensions.extendedKeyUsage, !usage.contains(.clientAuth) {
            forClientAuthentication = false
        } else {
            forClientAuthentication = true
        }
        sha256 = leaf.sha256Fingerprint
        subject = leaf.subject.description
        issuer = leaf.issuer.description
        serial = leaf.serialNumberHex
        (notBefore, notAfter) = leaf.validityPeriod
    }
}

/// The findings on presented certificates, by certificate. Two certificates are the same only when their signed
/// bytes and their signatures are (`Certificate`'s equality), so a certificate with another signature is examined
/// anew and never takes a genuine one's finding. Bounded: past `capacity` certificates the table starts again.
final class PresentedCertificates: Sendable {
    static let capacity = 1024
    private let known = Mutex<[Certificate: PresentedCertificate]>([:])

    func facts(of leaf: Certificate, by authority: Certificate) -> PresentedCertificate {
        if let found = known.withLock({ $0[leaf] }) { return found }
        let found = PresentedCertificate(leaf, by: authority)
        known.withLock { known in
            if known.count >= Self.capacity { known.removeAll(keepingCapacity: true) }
            known[leaf] = found
        }
        return found
    }
}

/// The result of checking a presented client certificate: a value, never a throw.
package enum CertificateCheck: Sendable, Hashable {
    /// Why a certificate is not trusted.
    package enum Distrust: Sendable, Hashable, CustomStringConvertible {
        /// Its issuer is not this key manager's CA.
        case otherIssuer
        /// It names this CA but the CA's key did not sign it.
        case badSignature
        /// It has an extended key usage without client authentication.
        case notForClientAuthentication

        package var description: String {
            switch self {
            case .otherIssuer: return "issued by another CA than this key manager's"
            case .badSignature:
                return "not signed by this key manager's CA key (another CA of the same name?)"
            case .notForClientAuthentication:
                return "not a client-authentication certificate (no clientAuth extended key usage)"
            }
        }
    }

    case valid
    case absent
    case untrusted(Distrust)
    case notYetValid(notBefore: Date)
    case expired(notAfter: Date)
}

extension Certificate {
    /// The DER encoding.
    package var derBytes: [UInt8] {
        var serializer = DER.Serializer()
        try! serializer.serialize(self)  // Serialising an already-parsed or built certificate cannot fail.
        return serializer.serializedBytes
    }

    /// SHA-256 of the DER encoding, lower-case hexadecimal.
    package var sha256Fingerprint: String {
        SHA256.hash(data: derBytes).hexString
    }

    /// The serial number, lower-case hexadecimal.
    package var serialNumberHex: String {
        serialNumber.bytes.hexString
    }

    /// PEM text.
    package var pemString: String {
        (try? serializeAsPEM().pemString) ?? ""
    }

    /// What the key manager keeps of a certificate it issued.
    package var issuedSummary: IssuedCertificate {
        IssuedCertificate(
            serialNumber: serialNumberHex, sha256: sha256Fingerprint, subject: subject.description,
            issuer: issuer.description, notBefore: notValidBefore, notAfter: notValidAfter, pem: pemString)
    }

    /// Parses PEM (one or more certificates) or DER.
    package static func parseChain(_ data: Data) throws(CoreError) -> [Certificate] {
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
            do {
                let documents = try PEMDocument.parseMultiple(pemString: text)
                let certificates = try documents.filter { $0.discriminator == "CERTIFICATE" }.map {
                    try Certificate(pemDocument: $0)
                }
                guard !certificates.isEmpty else {
                    throw CoreError(.certificate, "no CERTIFICATE block in the PEM text")
                }
                return certificates
            } catch let error as CoreError {
                throw error
            } catch {
                throw CoreError(.certificate, "not a PEM certificate: \(error)")
            }
        }
        do {
            return [try Certificate(derEncoded: [UInt8](data))]
        } catch {
            throw CoreError(.certificate, "neither PEM nor DER certificate data")
        }
    }
}

extension Date {
    var truncatedToSeconds: Date {
        Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down))
    }
}
