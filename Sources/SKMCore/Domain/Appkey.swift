import SKMPrimitives

import struct Foundation.Data
import struct Foundation.Date

/// A project's appkey: the 16-character identifier in every API path, owner of key stores.
package struct Appkey: Sendable, Hashable, Codable {
    package var id: String
    package var name: String
    package var created: Stamp

    package init(id: String, name: String, created: Stamp) {
        self.id = id
        self.name = name
        self.created = created
    }

    /// Whether `text` has the shape of an appkey (16 ASCII letters or digits).
    package static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8AllSatisfy { $0.isASCIIAlphanumeric }
    }
}

/// A User Access Key: authenticates management calls for one appkey. Only a salted digest of the secret is kept.
package struct UserAccessKey: Sendable, Hashable, Codable {
    package var id: String
    package var appkey: String
    package var status: AccessKeyStatus
    package var created: Stamp
    package var revision: Int
    /// SHA-256 of salt ‖ secret. Never exported.
    package var secretDigest: Data
    package var salt: Data

    package init(
        id: String, appkey: String, status: AccessKeyStatus, created: Stamp, secretDigest: Data, salt: Data,
        revision: Int = 0
    ) {
        self.id = id
        self.appkey = appkey
        self.status = status
        self.created = created
        self.secretDigest = secretDigest
        self.salt = salt
        self.revision = revision
    }

    enum CodingKeys: String, CodingKey {
        case id, appkey, status, created
    }

    /// Whether `text` has the shape of a User Access Key id: 20 capital letters and digits. A value of another shape
    /// in the id header is most likely a secret or a token sent in the wrong place, and is never written anywhere.
    package static func isWellFormedID(_ text: String) -> Bool {
        text.utf8.count == 20 && text.utf8AllSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        appkey = try container.decode(String.self, forKey: .appkey)
        status = try container.decode(AccessKeyStatus.self, forKey: .status)
        created = try container.decode(Stamp.self, forKey: .created)
        secretDigest = Data()
        salt = Data()
        revision = 0
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }

    var isLowerHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x61...0x66).contains(self)
    }
}
