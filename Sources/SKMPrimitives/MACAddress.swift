/// A MAC address as sent in the `X-TOAST-CLIENT-MAC-ADDR` header.
///
/// Matching ignores case and accepts `:` or `-` between the six octets, and spaces or tabs around them (a header
/// value's optional whitespace); the canonical form is lower case with colons (`aa:bb:cc:dd:ee:ff`).
package struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    package var octets: [UInt8]

    package init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var first = 0
        var end = bytes.count
        while first < end, bytes[first] == 0x20 || bytes[first] == 0x09 { first += 1 }
        while end > first, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard end - first == 17 else { return nil }
        let separator = bytes[first + 2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { return nil }
        var octets: [UInt8] = []
        octets.reserveCapacity(6)
        for group in 0..<6 {
            let start = first + group * 3
            if group < 5 && bytes[start + 2] != separator { return nil }
            guard let high = Self.hexValue(bytes[start]), let low = Self.hexValue(bytes[start + 1]) else { return nil }
            octets.append(high << 4 | low)
        }
        self.octets = octets
    }

    /// The value of one hexadecimal digit, either case.
    package static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    package var description: String {
        func digit(_ value: UInt8) -> UInt8 { value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10 }
        return String(unsafeUninitializedCapacity: max(0, octets.count * 3 - 1)) { output in
            var end = 0
            for (index, octet) in octets.enumerated() {
                if index > 0 {
                    output[end] = UInt8(ascii: ":")
                    end += 1
                }
                output[end] = digit(octet >> 4)
                output[end + 1] = digit(octet & 0x0F)
                end += 2
            }
            return end
        }
    }
}
