import struct Foundation.Date

/// The three client-authentication factors a key store can require.
package enum AuthKind: String, Sendable, Hashable, Codable, CaseIterable {
    case ipv4 = "IPV4"
    case mac = "MAC"
    case certificate = "CERTIFICATE"

    package var displayName: String {
        switch self {
        case .ipv4: return "IPv4"
        case .mac: return "MAC"
        case .certificate: return "certificate"
        }
    }
}

/// What the key manager keeps about a client certificate it issued. The public certificate only; the private key
/// and the PKCS#12 password are sealed separately.
package struct IssuedCertificate: Sendable, Hashable, Codable {
    /// Serial number, lower-case hexadecimal.
    package var serialNumber: String
    /// SHA-256 of the DER encoding, lower-case hexadecimal.
    package var sha256: String
    package var subject: String
    package var issuer: String
    package var notBefore: Date
    package var notAfter: Date
    package var pem: String

    package init(
        serialNumber: String, sha256: String, subject: String, issuer: String, notBefore: Date, notAfter: Date,
        pem: String
    ) {
        self.serialNumber = serialNumber
        self.sha256 = sha256
        self.subject = subject
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.pem = pem
    }
}

/// A registered IPv4 address or CIDR, MAC address or issued certificate of a key store.
package struct AuthEntry: Sendable, Hashable, Codable {
    package var id: Int
    package var appkey: String
    package var keyStoreId: Int
    package var kind: AuthKind
    /// Canonical form: `10.0.0.1`, `10.0.3.0/24`, `aa:bb:cc:dd:ee:ff`, or the certificate's name.
    package var value: String
    package var description: String
    package var status: EntryStatus
    package var certificate: IssuedCertificate?
    package var deletionAt: Date?
    package var created: Stamp
    package var lastChange: Stamp
    package var lastAccessAt: Date?
    package var revision: Int

    package init(
        id: Int, appkey: String, keyStoreId: Int, kind: AuthKind, value: String, description: String,
        status: EntryStatus, certificate: IssuedCertificate? = nil, deletionAt: Date? = nil, created: Stamp,
        lastChange: Stamp, lastAccessAt: Date? = nil, revision: Int = 0
    ) {
        self.id = id
        self.appkey = appkey
        self.keyStoreId = keyStoreId
        self.kind = kind
        self.value = value
        self.description = description
        self.status = status
        self.certificate = certificate
        self.deletionAt = deletionAt
        self.created = created
        self.lastChange = lastChange
        self.lastAccessAt = lastAccessAt
        self.revision = revision
    }

    enum CodingKeys: String, CodingKey {
        case id, appkey, keyStoreId, kind, value, description, status, certificate, deletionAt, created,
            lastChange, lastAccessAt
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int.self, forKey: .id)
        appkey = try container.decode(String.self, forKey: .appkey)
        keyStoreId = try container.decode(Int.self, forKey: .keyStoreId)
        kind = try container.decode(AuthKind.self, forKey: .kind)
        value = try container.decode(String.self, forKey: .value)
        description = try container.decode(String.self, forKey: .description)
        status = try container.decode(EntryStatus.self, forKey: .status)
        certificate = try container.decodeIfPresent(IssuedCertificate.self, forKey: .certificate)
        deletionAt = try container.decodeIfPresent(Date.self, forKey: .deletionAt)
        created = try container.decode(Stamp.self, forKey: .created)
        lastChange = try container.decode(Stamp.self, forKey: .lastChange)
        lastAccessAt = try container.decodeIfPresent(Date.self, forKey: .lastAccessAt)
        revision = 0
    }
}
