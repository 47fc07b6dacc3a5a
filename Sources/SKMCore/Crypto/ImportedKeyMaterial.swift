import SKMPrimitives

import struct Foundation.Data

/// AES-256 key material given to import, as text: 32 bytes the way SKM's console writes them (`0x1F, 0xA0, …`,
/// separated by commas, spaces or both), as 64 hexadecimal digits, or as standard Base64 (padding optional);
/// whitespace inside hexadecimal or Base64 (grouping, line wrapping) is ignored.
///
/// A problem never repeats the text: it is key material, right or wrong.
package enum ImportedKeyMaterial {
    /// The bytes an AES-256 key has.
    package static let keyBytes = 32

    /// The 32 bytes of a key, or what is wrong with the text.
    package static func parse(_ text: String) -> Result<Data, CodedFailure<ImportProblem>> {
        guard let bytes = bytes(in: text) else {
            let trimmed = text.trimmingWhitespace
            if trimmed.isEmpty { return .failure(CodedFailure(.empty, "is empty")) }
            return .failure(
                CodedFailure(
                    .unreadable,
                    "is not 0xXX bytes separated by commas or spaces, 64 hexadecimal digits, or Base64"))
        }
        guard bytes.count == keyBytes else {
            return .failure(
                CodedFailure(.wrongLength, "holds \(bytes.count) bytes; an AES-256 key is \(keyBytes) bytes"))
        }
        return .success(bytes)
    }

    /// The bytes the text writes in one of the three forms, of any count; `nil` when it is in none of them. What the
    /// request log records of an import: how many bytes were given, never which.
    package static func bytes(in text: String) -> Data? {
        let trimmed = text.trimmingWhitespace
        guard !trimmed.isEmpty else { return nil }
        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") { return consoleBytes(String(trimmed)) }
        // Hexadecimal and Base64 may be wrapped or grouped (`a0a1 a2a3`, Base64 over lines): whitespace is dropped.
        let compact = String(trimmed.filter { !$0.isWhitespace })
        let utf8 = Array(compact.utf8)
        // A Base64 key ends in `=` (32 bytes are 44 characters with one of padding) or, unpadded, is 43 characters:
        // never an even run of hexadecimal digits.
        // An odd run of hexadecimal digits lost one: it is not read as Base64 of some other length.
        if utf8.allSatisfy({ hexValue($0) != nil }) { return utf8.count % 2 == 0 ? hexBytes(utf8[...]) : nil }
        // Standard Base64. Its padding may be left out of a key's 43 characters; other text is not padded into
        // Base64 of some length ("hello world" is not 7 bytes of key).
        if utf8.count == 43 { return StrictBase64.decode(compact + "=") }
        return StrictBase64.decode(compact)
    }

    /// `0x1F, 0xA0 0x03,0x44`: two hexadecimal digits after each `0x`, separated by commas and spaces.
    private static func consoleBytes(_ text: String) -> Data? {
        var output = Data()
        let tokens = text.split(whereSeparator: { $0 == "," || $0.isWhitespace })
        for token in tokens {
            let utf8 = Array(token.utf8)
            guard utf8.count == 4, utf8[0] == UInt8(ascii: "0"), utf8[1] | 0x20 == UInt8(ascii: "x"),
                let byte = hexBytes(utf8[2...])?.first
            else { return nil }
            output.append(byte)
        }
        // Two separators in a row (`0x01,,0x02`) leave no empty token behind split; a comma count says whether
        // a byte is missing between them.
        let commas = text.utf8.count(where: { $0 == UInt8(ascii: ",") })
        guard commas == 0 || commas == output.count - 1 else { return nil }
        return output
    }

    private static func hexBytes(_ digits: ArraySlice<UInt8>) -> Data? {
        guard digits.count % 2 == 0 else { return nil }
        var output = Data(capacity: digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            output.append(high << 4 | low)
            index += 2
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// What is wrong with key material given to import.
package enum ImportProblem: String, ErrorCode, CaseIterable {
    case empty
    case unreadable
    case wrongLength
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        // A character, not a byte: "\r\n" is one.
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else {
            return ""
        }
        return self[first...last]
    }
}
