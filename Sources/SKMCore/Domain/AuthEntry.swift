import struct Foundation.Date

/// The three client-authentication factors a key store can require.
public enum AuthKind: String, Sendable, Hashable, Codable, CaseIterable {
    case ipv4 = "IPV4"
    case mac = "MAC"
    case certificate = "CERTIFICATE"

    public var displayName: String {
        switch self {
        case .ipv4: return "IPv4"
        case .mac: return "MAC"
        case .certificate: return "certificate"
        }
    }
}

/// What the key manager keeps about a client certificate it issued. The public certificate only; the private key
/// and the PKCS#12 password are sealed separately.
public struct IssuedCertificate: Sendable, Hashable, Codable {
    /// Serial number, lower-case hexadecimal.
    public var serialNumber: String
    /// SHA-256 of the DER encoding, lower-case hexadecimal.
    public var sha256: String
    public var subject: String
    public var issuer: String
    public var notBefore: Date
    public var notAfter: Date
    public var pem: String

    public init(
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
public struct AuthEntry: Sendable, Hashable, Codable {
    public var id: Int
    public var appkey: String
    public var keyStoreId: Int
    public var kind: AuthKind
    /// Canonical form: `10.0.0.1`, `10.0.3.0/24`, `aa:bb:cc:dd:ee:ff`, or the certificate's name.
    public var value: String
    public var description: String
    public var status: EntryStatus
    public var certificate: IssuedCertificate?
    public var deletionAt: Date?
    public var created: Stamp
    public var lastChange: Stamp
    public var lastAccessAt: Date?
    public var revision: Int

    public init(
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

    public init(from decoder: any Decoder) throws {
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
