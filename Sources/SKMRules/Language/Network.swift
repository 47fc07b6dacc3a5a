import SKMPrimitives

/// Address helpers behind `ipInCidr`, `isIPv4`, `isPrivateIP`, `ipKind`, `isCIDR`, `isMAC` and `normalizeMAC`: the
/// key manager's own parsers (SKMPrimitives), so that a rule and the engine never disagree about an address.
enum Network {
    /// A strict dotted quad as a 32-bit number.
    static func ipv4(_ text: Substring) -> UInt32? {
        IPv4Address(text)?.value
    }

    /// A dotted quad, also in its IPv4-mapped IPv6 form (`::ffff:10.0.3.7`), as peers are sometimes logged.
    static func ipv4(_ text: String) -> UInt32? {
        IPv4Address(mapped: text)?.value
    }

    /// `a.b.c.d` or `a.b.c.d/n` as (address, prefix length), host bits and all.
    static func cidr(_ text: String) -> (UInt32, Int)? {
        IPv4Network.written(text).map { ($0.address.value, $0.prefixLength) }
    }

    static func mask(_ length: Int) -> UInt32 { IPv4Network.mask(length) }

    static func contains(cidr text: String, ip: String) -> Bool {
        guard let (network, length) = cidr(text), let address = ipv4(ip) else { return false }
        return address & mask(length) == network & mask(length)
    }

    /// Whether an address (or a CIDR's network) lies in a private, carrier-grade NAT or loopback range.
    static func isPrivate(_ text: String) -> Bool {
        IPv4Network.written(text)?.address.isPrivate ?? false
    }

    /// What kind of address an address (or a CIDR's network) is (``IPv4Address/kind``); `invalid` when it is not
    /// IPv4.
    static func kind(_ text: String) -> String {
        guard let address = IPv4Network.written(text)?.address ?? IPv4Address(mapped: text) else { return "invalid" }
        return address.kind
    }

    /// `a.b.c.d` or `a.b.c.d/n` written the one way SKM stores it (`/32` dropped); `nil` when malformed or when bits
    /// below the prefix are set.
    static func canonicalCIDR(_ text: String) -> String? {
        guard case .success(let network) = IPv4Network.parse(text) else { return nil }
        return network.description
    }

    /// Lower case with colons, or `nil` when not six two-digit hex groups separated by one of `:` or `-`.
    static func normalizedMAC(_ text: String) -> String? {
        // Already canonical, as the facts hold registered and presented addresses: the text itself, neither parsed
        // nor written out again (both allocate, once per entry of every comprehension that compares addresses).
        if isCanonicalMAC(text) { return text }
        return MACAddress(text)?.description
    }

    /// Whether `text` is a MAC address in the canonical form: six two-digit lower-case hex octets joined by colons.
    static func isCanonicalMAC(_ text: String) -> Bool {
        guard text.utf8.count == 17 else { return false }
        return text.withUTF8Bytes { bytes in
            // Octet by octet: two lower-case hex digits, then a colon but after the last.
            var index = 0
            while true {
                guard isLowerHex(bytes[index]), isLowerHex(bytes[index + 1]) else { return false }
                if index == 15 { return true }
                guard bytes[index + 2] == UInt8(ascii: ":") else { return false }
                index += 3
            }
        }
    }

    /// A digit or a lower-case letter from a to f.
    @inline(__always)
    private static func isLowerHex(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10 || byte &- UInt8(ascii: "a") < 6
    }
}
