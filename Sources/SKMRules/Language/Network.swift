import Foundation

/// Address helpers behind `ipInCidr`, `isIPv4`, `isPrivateIP`, `isMAC` and `normalizeMAC`.
enum Network {
    /// A strict dotted quad as a 32-bit number.
    static func ipv4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                !(part.count > 1 && part.first == "0"), let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
            octets += 1
        }
        return octets == 4 ? value : nil
    }

    static func ipv4(_ text: String) -> UInt32? {
        var trimmed = Substring(text)
        if trimmed.lowercased().hasPrefix("::ffff:") { trimmed = trimmed.dropFirst(7) }
        return ipv4(trimmed)
    }

    /// `a.b.c.d` or `a.b.c.d/n` as (network, prefix length).
    static func cidr(_ text: String) -> (UInt32, Int)? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = ipv4(parts[0]) else { return nil }
        var length = 32
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...32).contains(parsed) else { return nil }
            length = parsed
        }
        return (address, length)
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

    static func contains(cidr text: String, ip: String) -> Bool {
        guard let (network, length) = cidr(text), let address = ipv4(ip) else { return false }
        return address & mask(length) == network & mask(length)
    }

    static let privateRanges: [(UInt32, Int)] = [
        (0x0A00_0000, 8), (0xAC10_0000, 12), (0xC0A8_0000, 16), (0x6440_0000, 10), (0x7F00_0000, 8),
    ]

    /// Whether an address (or a CIDR's network) lies in a private, carrier-grade NAT or loopback range.
    static func isPrivate(_ text: String) -> Bool {
        guard let (address, _) = cidr(text) else { return false }
        return privateRanges.contains { address & mask($0.1) == $0.0 }
    }

    /// `a.b.c.d` or `a.b.c.d/n` written the one way SKM stores it (`/32` dropped); `nil` when malformed or when bits
    /// below the prefix are set.
    static func canonicalCIDR(_ text: String) -> String? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = ipv4(parts[0]) else { return nil }
        var length = 32
        if parts.count == 2 {
            guard parts[1].count <= 2, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let parsed = Int(parts[1]),
                (0...32).contains(parsed)
            else { return nil }
            length = parsed
        }
        guard address & mask(length) == address else { return nil }
        return length == 32 ? String(parts[0]) : "\(parts[0])/\(length)"
    }

    /// Lower case with colons, or `nil` when not six two-digit hex groups separated by one of `:` or `-`.
    static func normalizedMAC(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let scalars = Array(trimmed.unicodeScalars)
        guard scalars.count == 17 else { return nil }
        let separator = scalars[2]
        guard separator == ":" || separator == "-" else { return nil }
        var groups: [String] = []
        for group in 0..<6 {
            let start = group * 3
            if group < 5 && scalars[start + 2] != separator { return nil }
            let pair = String(String.UnicodeScalarView(scalars[start..<(start + 2)]))
            guard pair.allSatisfy(\.isHexDigit) else { return nil }
            groups.append(pair.lowercased())
        }
        return groups.joined(separator: ":")
    }
}
