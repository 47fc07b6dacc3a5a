import Foundation
import SKMPrimitives

/// SKM's ciphertext: Base64 of `version (UInt32 BE) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, AES-256-GCM with the
/// key id as associated data.
///
/// The version can be read out of a blob without any key, which is what lets the analyser tell "this version was
/// deleted" from "this data is damaged".
package struct CiphertextBlob: Sendable, Hashable {
    package static let headerLength = 4
    package static let nonceLength = 12
    package static let tagLength = 16
    /// The smallest well-formed blob: a version, a nonce and a tag around empty ciphertext.
    package static let minimumLength = headerLength + nonceLength + tagLength

    package var version: UInt32
    package var nonce: Data
    package var ciphertext: Data
    package var tag: Data

    package init(version: UInt32, nonce: Data, ciphertext: Data, tag: Data) {
        self.version = version
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.tag = tag
    }

    package static func parse(base64 text: String) -> Result<CiphertextBlob, BlobError> {
        guard let data = StrictBase64.decode(text) else {
            return .failure(BlobError(.notBase64, "is not valid Base64"))
        }
        guard data.count >= minimumLength else {
            return .failure(
                BlobError(
                    .tooShort,
                    "decodes to \(data.count) bytes, fewer than the \(minimumLength) of the shortest ciphertext"))
        }
        let bytes = [UInt8](data)
        let version = UInt32(bigEndian: bytes)
        let nonce = Data(bytes[4..<16])
        let ciphertext = Data(bytes[16..<(bytes.count - tagLength)])
        let tag = Data(bytes[(bytes.count - tagLength)...])
        return .success(CiphertextBlob(version: version, nonce: nonce, ciphertext: ciphertext, tag: tag))
    }

    package var serialized: Data {
        var data = Data(capacity: Self.minimumLength + ciphertext.count)
        data.append(contentsOf: version.bigEndianBytes)
        data.append(nonce)
        data.append(ciphertext)
        data.append(tag)
        return data
    }

    package var base64: String { serialized.base64EncodedString() }
}

/// SKM's legacy signature: Base64 of `version (UInt32 BE) ‖ RSASSA-PKCS1-v1_5-SHA256 signature`.
package struct SignatureBlob: Sendable, Hashable {
    package static let signatureLength = 256

    package var version: UInt32
    package var signature: Data

    package init(version: UInt32, signature: Data) {
        self.version = version
        self.signature = signature
    }

    package static func parse(base64 text: String) -> Result<SignatureBlob, BlobError> {
        guard let data = StrictBase64.decode(text) else {
            return .failure(BlobError(.notBase64, "is not valid Base64"))
        }
        guard data.count == 4 + signatureLength else {
            return .failure(
                BlobError(
                    .wrongLength,
                    "decodes to \(data.count) bytes, not the \(4 + signatureLength) of a version and an RSA-2048 signature"
                ))
        }
        let bytes = [UInt8](data)
        return .success(SignatureBlob(version: UInt32(bigEndian: bytes), signature: Data(bytes[4...])))
    }

    package var base64: String {
        (Data(version.bigEndianBytes) + signature).base64EncodedString()
    }
}

/// Base64 as RFC 4648 §4 defines it, padding required, no whitespace: a blob either is Base64 or it is not.
package enum StrictBase64 {
    package static func decode(_ text: String) -> Data? {
        let bytes = text.utf8
        guard bytes.count % 4 == 0 else { return nil }
        var padding = 0
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding > 0 { return nil }
            case UInt8(ascii: "="):
                padding += 1
                if padding > 2 || offset < bytes.count - 2 { return nil }
            default:
                return nil
            }
        }
        return Data(base64Encoded: text)
    }

    /// Whether `text` is Base64 whose decoded bytes are themselves Base64 text of a blob: the "encoded twice" mistake.
    package static func decodesToBase64Text(_ text: String) -> Bool {
        guard let once = decode(text), once.count >= 8, let inner = String(data: once, encoding: .utf8) else {
            return false
        }
        return decode(inner) != nil
    }
}

extension UInt32 {
    /// The number four big-endian bytes spell.
    package init(bigEndian bytes: [UInt8]) {
        self = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }

    var bigEndianBytes: [UInt8] {
        [UInt8(self >> 24), UInt8(self >> 16 & 0xFF), UInt8(self >> 8 & 0xFF), UInt8(self & 0xFF)]
    }
}

/// SKM's rendering of key bytes: `0x00, 0x20, 0x41, …`.
package enum HexList {
    package static func render(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { "0x" + [$0].hexString }.joined(separator: ", ")
    }
}

/// Why a text is not a ciphertext or signature blob. The reason describes the text's shape, never its bytes.
package typealias BlobError = CodedFailure<BlobErrorCode>

package enum BlobErrorCode: String, ErrorCode {
    case notBase64, tooShort, wrongLength
}
