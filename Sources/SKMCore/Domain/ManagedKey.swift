import SKMPrimitives

import struct Foundation.Date

/// What a key holds.
package enum KeyType: String, Sendable, Hashable, Codable, CaseIterable {
    /// Confidential data: a string of up to 32 KB.
    case secret = "SECRET"
    /// AES-256 (GCM).
    case symmetric = "SYMMETRIC_KEY"
    /// RSA-2048.
    case asymmetric = "ASYMMETRIC_KEY"

    /// Whether the type has versions and rotates.
    package var isVersioned: Bool { self != .secret }
}

/// A key of a key store: a secret, an AES-256 key or an RSA-2048 key pair, with its status and rotation.
package struct ManagedKey: Sendable, Hashable, Codable {
    package var id: String
    package var appkey: String
    package var keyStoreId: Int
    package var name: String
    package var description: String
    package var type: KeyType
    package var status: KeyStatus
    /// Days between automatic rotations; 0 turns automatic rotation off.
    package var autoRotationPeriod: Int
    package var nextRotationAt: Date?
    /// When a pending deletion takes effect, or when the key was deleted.
    package var deletionAt: Date?
    /// The highest version number ever created (versions count from 0).
    package var latestVersion: Int
    package var created: Stamp
    package var lastChange: Stamp
    package var lastAccessAt: Date?
    /// Whether the key material was given (``Engine/importSymmetricKey(appkey:store:name:description:material:actor:)``)
    /// rather than made here. An imported key never rotates: its only material is the one given.
    package var imported: Bool
    package var revision: Int

    package init(
        id: String, appkey: String, keyStoreId: Int, name: String, description: String, type: KeyType,
        status: KeyStatus, autoRotationPeriod: Int, nextRotationAt: Date?, deletionAt: Date?, latestVersion: Int,
        created: Stamp, lastChange: Stamp, lastAccessAt: Date? = nil, imported: Bool = false, revision: Int = 0
    ) {
        self.id = id
        self.appkey = appkey
        self.keyStoreId = keyStoreId
        self.name = name
        self.description = description
        self.type = type
        self.status = status
        self.autoRotationPeriod = autoRotationPeriod
        self.nextRotationAt = nextRotationAt
        self.deletionAt = deletionAt
        self.latestVersion = latestVersion
        self.created = created
        self.lastChange = lastChange
        self.lastAccessAt = lastAccessAt
        self.imported = imported
        self.revision = revision
    }

    /// Whether `text` has the shape of a key id: 32 lower-case hexadecimal digits.
    package static func isWellFormedID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8AllSatisfy { $0.isLowerHexDigit }
    }

    enum CodingKeys: String, CodingKey {
        case id, appkey, keyStoreId, name, description, type, status, autoRotationPeriod, nextRotationAt,
            deletionAt, latestVersion, created, lastChange, lastAccessAt, imported
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        appkey = try container.decode(String.self, forKey: .appkey)
        keyStoreId = try container.decode(Int.self, forKey: .keyStoreId)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decode(String.self, forKey: .description)
        type = try container.decode(KeyType.self, forKey: .type)
        status = try container.decode(KeyStatus.self, forKey: .status)
        autoRotationPeriod = try container.decode(Int.self, forKey: .autoRotationPeriod)
        nextRotationAt = try container.decodeIfPresent(Date.self, forKey: .nextRotationAt)
        deletionAt = try container.decodeIfPresent(Date.self, forKey: .deletionAt)
        latestVersion = try container.decode(Int.self, forKey: .latestVersion)
        created = try container.decode(Stamp.self, forKey: .created)
        lastChange = try container.decode(Stamp.self, forKey: .lastChange)
        lastAccessAt = try container.decodeIfPresent(Date.self, forKey: .lastAccessAt)
        // Absent from states written before keys could be imported: every key then was made here.
        imported = try container.decodeIfPresent(Bool.self, forKey: .imported) ?? false
        revision = 0
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(appkey, forKey: .appkey)
        try container.encode(keyStoreId, forKey: .keyStoreId)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(type, forKey: .type)
        try container.encode(status, forKey: .status)
        try container.encode(autoRotationPeriod, forKey: .autoRotationPeriod)
        try container.encodeIfPresent(nextRotationAt, forKey: .nextRotationAt)
        try container.encodeIfPresent(deletionAt, forKey: .deletionAt)
        try container.encode(latestVersion, forKey: .latestVersion)
        try container.encode(created, forKey: .created)
        try container.encode(lastChange, forKey: .lastChange)
        try container.encodeIfPresent(lastAccessAt, forKey: .lastAccessAt)
        // Written only when set, so that a state without imported keys reads as it did before keys could be imported.
        if imported { try container.encode(true, forKey: .imported) }
    }
}

/// One version of a symmetric or asymmetric key. The newest In Service version is the primary one.
package struct KeyVersion: Sendable, Hashable, Codable {
    package var keyId: String
    package var number: Int
    package var status: EntryStatus
    package var created: Stamp
    package var lastChange: Stamp
    package var deletionAt: Date?
    package var revision: Int

    package init(
        keyId: String, number: Int, status: EntryStatus, created: Stamp, lastChange: Stamp, deletionAt: Date? = nil,
        revision: Int = 0
    ) {
        self.keyId = keyId
        self.number = number
        self.status = status
        self.created = created
        self.lastChange = lastChange
        self.deletionAt = deletionAt
        self.revision = revision
    }

    enum CodingKeys: String, CodingKey {
        case keyId, number, status, created, lastChange, deletionAt
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        keyId = try container.decode(String.self, forKey: .keyId)
        number = try container.decode(Int.self, forKey: .number)
        status = try container.decode(EntryStatus.self, forKey: .status)
        created = try container.decode(Stamp.self, forKey: .created)
        lastChange = try container.decode(Stamp.self, forKey: .lastChange)
        deletionAt = try container.decodeIfPresent(Date.self, forKey: .deletionAt)
        revision = 0
    }
}

extension Array where Element == KeyVersion {
    /// The newest version that is In Service: what encrypt and sign use.
    package var primary: KeyVersion? {
        filter { $0.status == .inService }.max(by: { $0.number < $1.number })
    }
}
