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
        // The parts are slices of the decoded bytes, sharing them rather than copying each.
        let start = data.startIndex
        let version = UInt32(bigEndian: data.prefix(headerLength))
        let nonce = data[(start + headerLength)..<(start + headerLength + nonceLength)]
        let ciphertext = data[(start + headerLength + nonceLength)..<(data.endIndex - tagLength)]
        let tag = data[(data.endIndex - tagLength)...]
        return .success(CiphertextBlob(version: version, nonce: nonce, ciphertext: ciphertext, tag: tag))
    }

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
        var text = text
        return text.withUTF8 { decode(bytes: $0) }
    }

    /// Decodes UTF-8 `bytes`: groups of four Base64 characters, the last group ending in at most two `=`. Bits that
    /// a final group holds beyond the bytes it encodes are ignored, as every decoder does.
    package static func decode(bytes: UnsafeBufferPointer<UInt8>) -> Data? {
        guard let (length, padding) = layout(of: bytes) else { return nil }
        var output = Data(count: length)
        let valid = output.withUnsafeMutableBytes { (output: UnsafeMutableRawBufferPointer) -> Bool in
            var written = 0
            return forEachDecodedByte(of: bytes, padding: padding) { byte in
                output[written] = byte
                written += 1
            }
        }
        return valid ? output : nil
    }

    /// How many bytes `bytes` decodes to and how many `=` end it; `nil` when its length is not a multiple of four.
    private static func layout(of bytes: UnsafeBufferPointer<UInt8>) -> (length: Int, padding: Int)? {
        let count = bytes.count
        guard count % 4 == 0 else { return nil }
        var padding = 0
        if count >= 2, bytes[count - 1] == UInt8(ascii: "=") {
            padding = bytes[count - 2] == UInt8(ascii: "=") ? 2 : 1
        }
        return (count / 4 * 3 - padding, padding)
    }

    /// Hands each byte `bytes` decodes to to `body`, in order; `false` as soon as a character is not Base64 (an `=`
    /// anywhere but the last `padding` places included), and nothing more is handed on then.
    @inline(__always)
    private static func forEachDecodedByte(
        of bytes: UnsafeBufferPointer<UInt8>, padding: Int, _ body: (UInt8) -> Void
    ) -> Bool {
        let count = bytes.count
        var index = 0
        while index < count {
            var group: UInt32 = 0
            for offset in index..<(index + 4) {
                let byte = bytes[offset]
                let value: UInt8
                if let sextet = sextet(byte) {
                    value = sextet
                } else if byte == UInt8(ascii: "="), offset >= count - padding {
                    value = 0
                } else {
                    return false
                }
                group = group << 6 | UInt32(value)
            }
            let produced = index + 4 == count ? 3 - padding : 3
            for position in 0..<produced { body(UInt8(truncatingIfNeeded: group >> UInt32(16 - 8 * position))) }
            index += 4
        }
        return true
    }

    @inline(__always)
    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// What a Base64 text decodes to, read without keeping the decoded bytes: what the request log records of a
    /// blob.
    package struct Shape: Sendable, Equatable {
        /// How many bytes the text decodes to.
        package var count: Int
        /// The first four decoded bytes, big-endian, when there are four.
        package var leadingWord: UInt32?
        /// Whether the decoded bytes are themselves Base64 text of eight characters or more (``isBase64Text(_:)``).
        package var isBase64Text: Bool

        package init(count: Int, leadingWord: UInt32?, isBase64Text: Bool) {
            (self.count, self.leadingWord, self.isBase64Text) = (count, leadingWord, isBase64Text)
        }
    }

    /// The shape of what `text` decodes to; `nil` when ``decode(_:)`` would refuse it. Decodes once and allocates
    /// nothing.
    package static func shape(of text: String) -> Shape? {
        var text = text
        return text.withUTF8 { bytes -> Shape? in
            guard let (length, padding) = layout(of: bytes) else { return nil }
            // The decoded bytes as Base64 text, checked as they come, by the rules of `decode(bytes:)`: a multiple
            // of four characters, `=` only as the last one or the last two.
            var inner = length >= 8 && length % 4 == 0
            var innerPadded = false
            var leading: UInt32 = 0
            var written = 0
            let valid = forEachDecodedByte(of: bytes, padding: padding) { byte in
                if written < 4 { leading = leading << 8 | UInt32(byte) }
                if byte == UInt8(ascii: "=") {
                    innerPadded = true
                    inner = inner && written >= length - 2
                } else {
                    // After an `=`, only another `=` may follow.
                    inner = inner && !innerPadded && sextet(byte) != nil
                }
                written += 1
            }
            guard valid else { return nil }
            return Shape(count: length, leadingWord: length >= 4 ? leading : nil, isBase64Text: inner)
        }
    }

    /// Whether `text` is Base64 whose decoded bytes are themselves Base64 text of a blob: the "encoded twice" mistake.
    package static func decodesToBase64Text(_ text: String) -> Bool {
        decode(text).map(isBase64Text) ?? false
    }

    /// Whether `decoded`, the bytes a text decoded to, are themselves Base64 text of a blob (eight characters or
    /// more).
    package static func isBase64Text(_ decoded: Data) -> Bool {
        decoded.count >= 8
            && decoded.withUnsafeBytes { decode(bytes: $0.bindMemory(to: UInt8.self)) != nil }
    }
}

extension UInt32 {
    /// The number four big-endian bytes spell.
    package init(bigEndian bytes: some Collection<UInt8>) {
        precondition(bytes.count >= 4, "four bytes make a UInt32")
        self = bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
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
