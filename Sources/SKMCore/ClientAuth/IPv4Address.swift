/// An IPv4 address.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    /// Parses dotted-quad notation strictly: four decimal octets 0–255, no leading zeros, nothing else.
    public init?(_ text: some StringProtocol) {
        var octets: [UInt32] = []
        var current: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, octets.count < 3 else { return nil }
                octets.append(current)
                current = 0
                digits = 0
                leadingZero = false
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if digits == 1 && leadingZero { return nil }
                if digits == 0 && byte == UInt8(ascii: "0") { leadingZero = true }
                current = current * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, current <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, octets.count == 3 else { return nil }
        octets.append(current)
        value = octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]
    }

    /// Parses an address as a socket reports it: dotted quad, or an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`).
    public init?(peer text: String) {
        var trimmed = Substring(text)
        if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") { trimmed = trimmed.dropFirst().dropLast() }
        let lowered = trimmed.lowercased()
        if lowered.hasPrefix("::ffff:") {
            self.init(lowered.dropFirst(7))
        } else {
            self.init(trimmed)
        }
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// RFC 1918 private ranges, carrier-grade NAT (100.64/10) and loopback: addresses a NAT or an internal route
    /// shows instead of the client's public one.
    public var isPrivate: Bool {
        IPv4Network.privateRanges.contains { $0.contains(self) }
    }
}

/// An IPv4 network in CIDR notation; a single address is a /32.
public struct IPv4Network: Sendable, Hashable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        self.address = IPv4Address(address.value & Self.mask(prefixLength))
    }

    /// The problem with a CIDR text, for messages that name it.
    public enum ParseFailure: Error, Sendable, Hashable, CustomStringConvertible {
        case malformedAddress(String)
        case malformedPrefix(String)
        case hostBitsSet(canonical: String)

        public var description: String {
            switch self {
            case .malformedAddress(let text): return "'\(text)' is not an IPv4 address (expected a.b.c.d)"
            case .malformedPrefix(let text): return "'\(text)' is not a prefix length from 0 to 32"
            case .hostBitsSet(let canonical): return "has host bits set; did you mean \(canonical)?"
            }
        }
    }

    /// Parses `a.b.c.d` or `a.b.c.d/n`. Host bits below the prefix are refused, so a typo cannot silently widen or
    /// move a registration.
    public static func parse(_ text: String) -> Result<IPv4Network, ParseFailure> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPv4Address(parts[0]) else { return .failure(.malformedAddress(String(parts[0]))) }
        var length = 32
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...32).contains(parsed), !parts[1].hasPrefix("+"),
                parts[1].count <= 2
            else { return .failure(.malformedPrefix(String(parts[1]))) }
            length = parsed
        }
        let network = IPv4Network(address: address, prefixLength: length)
        if network.address != address { return .failure(.hostBitsSet(canonical: network.description)) }
        return .success(network)
    }

    public init?(_ text: String) {
        guard case .success(let network) = Self.parse(text) else { return nil }
        self = network
    }

    static func mask(_ length: Int) -> UInt32 {
        length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }

    public func contains(_ candidate: IPv4Address) -> Bool {
        candidate.value & Self.mask(prefixLength) == address.value
    }

    public var description: String {
        prefixLength == 32 ? address.description : "\(address)/\(prefixLength)"
    }

    static let privateRanges: [IPv4Network] = [
        IPv4Network("10.0.0.0/8")!, IPv4Network("172.16.0.0/12")!, IPv4Network("192.168.0.0/16")!,
        IPv4Network("100.64.0.0/10")!, IPv4Network("127.0.0.0/8")!,
    ]
}
