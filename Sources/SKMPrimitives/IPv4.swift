/// An IPv4 address.
package struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var value: UInt32

    package init(_ value: UInt32) {
        self.value = value
    }

    /// Parses dotted-quad notation strictly: four decimal octets 0–255, no leading zeros, nothing else.
    package init?(_ text: some StringProtocol) {
        guard let value = text.withUTF8Bytes(Self.strict) else { return nil }
        self.value = value
    }

    /// ``init(_:)`` for a `String`, read in place: the rule engine parses addresses for every request.
    package init?(_ text: String) {
        guard let value = text.withUTF8Bytes(Self.strict) else { return nil }
        self.value = value
    }

    /// A dotted quad, or the same in its IPv4-mapped IPv6 form (`::ffff:10.0.3.7`, any case), as peers are
    /// sometimes logged.
    package init?(mapped text: some StringProtocol) {
        guard let value = text.withUTF8Bytes(Self.mapped) else { return nil }
        self.value = value
    }

    /// ``init(mapped:)`` for a `String`, read in place.
    package init?(mapped text: String) {
        guard let value = text.withUTF8Bytes(Self.mapped) else { return nil }
        self.value = value
    }

    /// `::ffff:`, matched in any case.
    private static let mappedPrefix = Array("::ffff:".utf8)

    private static func strict(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        guard let (value, end) = dottedQuad(bytes, from: 0), end == bytes.count else { return nil }
        return value
    }

    private static func mapped(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var start = 0
        // Most addresses are plain dotted quads: the prefix is looked for only after a colon.
        if bytes.count > 7, bytes[0] == UInt8(ascii: ":") {
            let prefix = mappedPrefix
            if prefix.indices.allSatisfy({ lowercased(bytes[$0]) == prefix[$0] }) { start = prefix.count }
        }
        guard let (value, end) = dottedQuad(bytes, from: start), end == bytes.count else { return nil }
        return value
    }

    /// Parses an address as a socket reports it: dotted quad, or an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`),
    /// possibly in brackets.
    package init?(peer text: String) {
        var trimmed = Substring(text)
        if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") { trimmed = trimmed.dropFirst().dropLast() }
        self.init(mapped: trimmed)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func lowercased(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    /// A strict dotted quad at `start` (no leading zeros, octets to 255): its value and the index after it.
    static func dottedQuad(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (UInt32, Int)? {
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

    package var description: String {
        // Written digit by digit into at most 15 bytes: a string that short is stored inline, so the request log
        // and the answers that show an address allocate nothing for it.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { buffer in
            var count = 0
            for shift in stride(from: UInt32(24), through: 0, by: -8) {
                let octet = Int(value >> shift & 0xFF)
                if shift != 24 {
                    buffer[count] = UInt8(ascii: ".")
                    count += 1
                }
                if octet >= 100 {
                    buffer[count] = UInt8(ascii: "0") + UInt8(octet / 100)
                    count += 1
                }
                if octet >= 10 {
                    buffer[count] = UInt8(ascii: "0") + UInt8(octet / 10 % 10)
                    count += 1
                }
                buffer[count] = UInt8(ascii: "0") + UInt8(octet % 10)
                count += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }

    package static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// RFC 1918 private ranges, carrier-grade NAT (100.64/10) and loopback: addresses a NAT or an internal route
    /// shows instead of the client's public one.
    package var isPrivate: Bool {
        IPv4Network.privateRanges.contains { $0.contains(self) }
    }

    /// The special-purpose ranges of RFC 6890 an address can fall in, most specific first.
    static let kinds: [(network: UInt32, length: Int, kind: String)] = [
        (0x0000_0000, 8, "unspecified"), (0x0A00_0000, 8, "private"), (0x6440_0000, 10, "shared"),
        (0x7F00_0000, 8, "loopback"), (0xA9FE_0000, 16, "link-local"), (0xAC10_0000, 12, "private"),
        (0xC000_0200, 24, "documentation"), (0xC0A8_0000, 16, "private"), (0xC612_0000, 15, "benchmarking"),
        (0xC633_6400, 24, "documentation"), (0xCB00_7100, 24, "documentation"), (0xE000_0000, 4, "multicast"),
        (0xF000_0000, 4, "reserved"),
    ]

    /// What kind of address this is: `public`, `private` (RFC 1918), `shared` (carrier-grade NAT), `loopback`,
    /// `link-local`, `documentation`, `benchmarking`, `multicast`, `reserved` or `unspecified`.
    package var kind: String {
        Self.kinds.first { value & IPv4Network.mask($0.length) == $0.network }?.kind ?? "public"
    }
}

/// An IPv4 network in CIDR notation; a single address is a /32.
package struct IPv4Network: Sendable, Hashable, CustomStringConvertible {
    package var address: IPv4Address
    package var prefixLength: Int

    package init(address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        self.address = IPv4Address(address.value & Self.mask(prefixLength))
    }

    /// The problem with a CIDR text, for messages that name it.
    package typealias ParseError = CodedFailure<IPv4ParseErrorCode>

    /// Parses `a.b.c.d` or `a.b.c.d/n`. Host bits below the prefix are refused, so a typo cannot silently widen or
    /// move a registration.
    package static func parse(_ text: String) -> Result<IPv4Network, ParseError> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPv4Address(parts[0]) else { return .failure(.malformedAddress(parts[0])) }
        var length = 32
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...32).contains(parsed), !parts[1].hasPrefix("+"),
                parts[1].count <= 2
            else { return .failure(.malformedPrefix(parts[1])) }
            length = parsed
        }
        let network = IPv4Network(address: address, prefixLength: length)
        if network.address != address { return .failure(.hostBitsSet(canonical: network.description)) }
        return .success(network)
    }

    package init?(_ text: String) {
        guard case .success(let network) = Self.parse(text) else { return nil }
        self = network
    }

    /// `a.b.c.d` or `a.b.c.d/n` (n of one or two digits, at most 32) as written, host bits and all: what a rule
    /// compares, where a registration's typo must still be seen for what it is.
    package static func written(_ text: some StringProtocol) -> (address: IPv4Address, prefixLength: Int)? {
        text.withUTF8Bytes(writtenBytes)
    }

    /// ``written(_:)`` for a `String`, read in place: the rule engine reads registrations for every request.
    package static func written(_ text: String) -> (address: IPv4Address, prefixLength: Int)? {
        text.withUTF8Bytes(writtenBytes)
    }

    private static func writtenBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> (address: IPv4Address, prefixLength: Int)?
    {
        guard let (address, end) = IPv4Address.dottedQuad(bytes, from: 0) else { return nil }
        if end == bytes.count { return (IPv4Address(address), 32) }
        guard bytes[end] == UInt8(ascii: "/"), bytes.count - end - 1 >= 1, bytes.count - end - 1 <= 2 else {
            return nil
        }
        var length = 0
        for index in (end + 1)..<bytes.count {
            guard IPv4Address.isDigit(bytes[index]) else { return nil }
            length = length * 10 + Int(bytes[index] - 0x30)
        }
        return length <= 32 ? (IPv4Address(address), length) : nil
    }

    package static func mask(_ length: Int) -> UInt32 {
        length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }

    package func contains(_ candidate: IPv4Address) -> Bool {
        candidate.value & Self.mask(prefixLength) == address.value
    }

    package var description: String {
        prefixLength == 32 ? address.description : "\(address)/\(prefixLength)"
    }

    static let privateRanges: [IPv4Network] = [
        IPv4Network("10.0.0.0/8")!, IPv4Network("172.16.0.0/12")!, IPv4Network("192.168.0.0/16")!,
        IPv4Network("100.64.0.0/10")!, IPv4Network("127.0.0.0/8")!,
    ]
}

/// What kind of ``IPv4Network/ParseError`` it is.
package enum IPv4ParseErrorCode: String, ErrorCode {
    case malformedAddress, malformedPrefix, hostBitsSet
}

extension CodedFailure where Code == IPv4ParseErrorCode {
    package static func malformedAddress(_ text: some StringProtocol, line: UInt = #line) -> Self {
        Self(.malformedAddress, "'\(text)' is not an IPv4 address (expected a.b.c.d)", line: line)
    }
    package static func malformedPrefix(_ text: some StringProtocol, line: UInt = #line) -> Self {
        Self(.malformedPrefix, "'\(text)' is not a prefix length from 0 to 32", line: line)
    }
    package static func hostBitsSet(canonical: String, line: UInt = #line) -> Self {
        Self(.hostBitsSet, "has host bits set; did you mean \(canonical)?", line: line)
    }
}
