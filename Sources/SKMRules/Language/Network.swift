import Foundation

/// Address helpers behind `ipInCidr`, `isIPv4`, `isPrivateIP`, `isMAC` and `normalizeMAC`.
enum Network {
    /// Runs `body` on the UTF-8 bytes of `text` without copying them when the string is native.
    private static func withBytes<R>(_ text: some StringProtocol, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// A strict dotted quad at `start` (no leading zeros, octets to 255): its value and the index after it.
    private static func dottedQuad(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (UInt32, Int)? {
        var index = start
        var value: UInt32 = 0
        for position in 0..<4 {
            if position > 0 {
                guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return nil }
                index += 1
            }
            let first = index
            var octet: UInt32 = 0
            while index < bytes.count, index - first < 3, isDigit(bytes[index]) {
                octet = octet * 10 + UInt32(bytes[index] - 0x30)
                index += 1
            }
            let digits = index - first
            guard digits > 0, digits == 1 || bytes[first] != 0x30, octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return (value, index)
    }

    /// A strict dotted quad as a 32-bit number.
    static func ipv4(_ text: Substring) -> UInt32? {
        withBytes(text) { bytes in
            guard let (value, end) = dottedQuad(bytes, from: 0), end == bytes.count else { return nil }
            return value
        }
    }

    /// A dotted quad, also in its IPv4-mapped IPv6 form (`::ffff:10.0.3.7`), as peers are sometimes logged.
    static func ipv4(_ text: String) -> UInt32? {
        withBytes(text) { bytes in
            var start = 0
            let mapped = Array("::ffff:".utf8)
            if bytes.count > mapped.count,
                (0..<mapped.count).allSatisfy({ bytes[$0] | (isDigit(bytes[$0]) ? 0 : 0x20) == mapped[$0] | 0x20 })
            {
                start = mapped.count
            }
            guard let (value, end) = dottedQuad(bytes, from: start), end == bytes.count else { return nil }
            return value
        }
    }

    /// `a.b.c.d` or `a.b.c.d/n` (n of one or two digits, at most 32) as (address, prefix length).
    static func cidr(_ text: String) -> (UInt32, Int)? {
        withBytes(text) { bytes in
            guard let (address, end) = dottedQuad(bytes, from: 0) else { return nil }
            if end == bytes.count { return (address, 32) }
            guard bytes[end] == UInt8(ascii: "/"), bytes.count - end - 1 >= 1, bytes.count - end - 1 <= 2 else {
                return nil
            }
            var length = 0
            for index in (end + 1)..<bytes.count {
                guard isDigit(bytes[index]) else { return nil }
                length = length * 10 + Int(bytes[index] - 0x30)
            }
            return length <= 32 ? (address, length) : nil
        }
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

    /// The special-purpose ranges of RFC 6890 an address can fall in, most specific first.
    static let kinds: [(network: UInt32, length: Int, kind: String)] = [
        (0x0000_0000, 8, "unspecified"), (0x0A00_0000, 8, "private"), (0x6440_0000, 10, "shared"),
        (0x7F00_0000, 8, "loopback"), (0xA9FE_0000, 16, "link-local"), (0xAC10_0000, 12, "private"),
        (0xC000_0200, 24, "documentation"), (0xC0A8_0000, 16, "private"), (0xC612_0000, 15, "benchmarking"),
        (0xC633_6400, 24, "documentation"), (0xCB00_7100, 24, "documentation"), (0xE000_0000, 4, "multicast"),
        (0xF000_0000, 4, "reserved"),
    ]

    /// What kind of address an address (or a CIDR's network) is: `public`, `private` (RFC 1918), `shared`
    /// (carrier-grade NAT), `loopback`, `link-local`, `documentation`, `benchmarking`, `multicast`, `reserved`,
    /// `unspecified`; `invalid` when it is not IPv4.
    static func kind(_ text: String) -> String {
        guard let (address, _) = cidr(text) ?? ipv4(text).map({ ($0, 32) }) else { return "invalid" }
        return kinds.first { address & mask($0.length) == $0.network }?.kind ?? "public"
    }

    /// `a.b.c.d` or `a.b.c.d/n` written the one way SKM stores it (`/32` dropped); `nil` when malformed or when bits
    /// below the prefix are set.
    static func canonicalCIDR(_ text: String) -> String? {
        guard let (address, length) = cidr(text), address & mask(length) == address else { return nil }
        let quad = "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
        return length == 32 ? quad : "\(quad)/\(length)"
    }

    /// Lower case with colons, or `nil` when not six two-digit hex groups separated by one of `:` or `-`.
    static func normalizedMAC(_ text: String) -> String? {
        withBytes(text) { bytes -> String? in
            var first = 0
            var end = bytes.count
            while first < end, bytes[first] == 0x20 || bytes[first] == 0x09 { first += 1 }
            while end > first, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
            guard end - first == 17 else { return nil }
            let separator = bytes[first + 2]
            guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { return nil }
            var output = [UInt8](repeating: UInt8(ascii: ":"), count: 17)
            for offset in 0..<17 {
                let byte = bytes[first + offset]
                if offset % 3 == 2 {
                    guard byte == separator else { return nil }
                    continue
                }
                switch byte {
                case 0x30...0x39, 0x61...0x66: output[offset] = byte
                case 0x41...0x46: output[offset] = byte + 0x20
                default: return nil
                }
            }
            return String(decoding: output, as: UTF8.self)
        }
    }
}
