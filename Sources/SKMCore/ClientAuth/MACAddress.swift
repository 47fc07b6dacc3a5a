import Foundation

/// A MAC address as sent in the `X-TOAST-CLIENT-MAC-ADDR` header.
///
/// Matching ignores case and accepts `:` or `-` between the six octets; the canonical form is lower case with
/// colons (`aa:bb:cc:dd:ee:ff`).
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    public var octets: [UInt8]

    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let bytes = Array(trimmed.utf8)
        guard bytes.count == 17 else { return nil }
        let separator = bytes[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { return nil }
        var octets: [UInt8] = []
        for group in 0..<6 {
            let start = group * 3
            if group < 5 && bytes[start + 2] != separator { return nil }
            guard let high = Self.hexValue(bytes[start]), let low = Self.hexValue(bytes[start + 1]) else { return nil }
            octets.append(high << 4 | low)
        }
        self.octets = octets
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    public var description: String {
        octets.map { [$0].hexString }.joined(separator: ":")
    }
}
