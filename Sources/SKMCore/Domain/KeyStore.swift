import struct Foundation.Date

/// How a key store combines its enabled client-authentication factors.
package enum AuthMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every enabled factor must pass (SKM's default).
    case and = "AND"
    /// One enabled factor is enough.
    case or = "OR"
}

/// A key store: the unit that holds keys and decides how clients authenticate.
package struct KeyStore: Sendable, Hashable, Codable {
    package enum Status: String, Sendable, Hashable, Codable {
        case active = "ACTIVE"
        case deleted = "DELETED"
    }

    package var id: Int
    package var appkey: String
    package var name: String
    package var description: String
    package var ip4AuthUse: Bool
    package var macAuthUse: Bool
    package var certificateAuthUse: Bool
    package var authMode: AuthMode
    package var status: Status
    package var created: Stamp
    package var lastChange: Stamp
    package var revision: Int

    package init(
        id: Int, appkey: String, name: String, description: String, ip4AuthUse: Bool, macAuthUse: Bool,
        certificateAuthUse: Bool, authMode: AuthMode, status: Status = .active, created: Stamp, lastChange: Stamp,
        revision: Int = 0
    ) {
        self.id = id
        self.appkey = appkey
        self.name = name
        self.description = description
        self.ip4AuthUse = ip4AuthUse
        self.macAuthUse = macAuthUse
        self.certificateAuthUse = certificateAuthUse
        self.authMode = authMode
        self.status = status
        self.created = created
        self.lastChange = lastChange
        self.revision = revision
    }

    /// Whether client authentication checks `factor`.
    package func uses(_ factor: AuthKind) -> Bool {
        switch factor {
        case .ipv4: ip4AuthUse
        case .mac: macAuthUse
        case .certificate: certificateAuthUse
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, appkey, name, description, ip4AuthUse, macAuthUse, certificateAuthUse, authMode, status, created,
            lastChange
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int.self, forKey: .id)
        appkey = try container.decode(String.self, forKey: .appkey)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decode(String.self, forKey: .description)
        ip4AuthUse = try container.decode(Bool.self, forKey: .ip4AuthUse)
        macAuthUse = try container.decode(Bool.self, forKey: .macAuthUse)
        certificateAuthUse = try container.decode(Bool.self, forKey: .certificateAuthUse)
        authMode = try container.decode(AuthMode.self, forKey: .authMode)
        status = try container.decode(Status.self, forKey: .status)
        created = try container.decode(Stamp.self, forKey: .created)
        lastChange = try container.decode(Stamp.self, forKey: .lastChange)
        revision = 0
    }
}
