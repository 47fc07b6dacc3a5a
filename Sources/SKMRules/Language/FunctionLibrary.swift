import Foundation
import SKMPrimitives

/// The string and SKM functions rules call (`contains`, `ipInCidr`, `normalizeMAC`, …), by name.
extension Generator {
    /// A string or SKM function, by how many operands it takes.
    enum Implementation: Sendable {
        case unary(@Sendable (Value) -> Value?)
        case binary(@Sendable (Value, Value) -> Value?)

        var arity: Int {
            switch self {
            case .unary: return 1
            case .binary: return 2
            }
        }
    }

    static let stringFunctions: [String: Implementation] = [
        "contains": .binary { a, b in
            guard case .string(let text) = a, case .string(let part) = b else { return nil }
            return .bool(part.isEmpty || text.unicodeScalars.elementsEqualSubsequence(part.unicodeScalars))
        },
        "startsWith": .binary { a, b in
            guard case .string(let text) = a, case .string(let prefix) = b else { return nil }
            return .bool(text.unicodeScalars.starts(with: prefix.unicodeScalars))
        },
        "endsWith": .binary { a, b in
            guard case .string(let text) = a, case .string(let suffix) = b else { return nil }
            return .bool(text.unicodeScalars.reversed().starts(with: suffix.unicodeScalars.reversed()))
        },
        "lowerAscii": .unary { value in
            guard case .string(let text) = value else { return nil }
            return text.withUTF8Bytes { bytes in
                // A byte of A–Z in UTF-8 is always that letter: no other scalar's encoding holds bytes below 0x80.
                guard bytes.contains(where: { (0x41...0x5A).contains($0) }) else { return value }
                return .string(
                    String(joiningValidUTF8: bytes.count) { output in
                        for index in bytes.indices {
                            let byte = bytes[index]
                            output[index] = (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
                        }
                        return bytes.count
                    })
            }
        },
        "join": .binary { a, b in
            guard case .list(let items) = a, case .string(let separator) = b else { return nil }
            // Measured first and written once, without a list of the parts or a string grown part by part.
            var length = separator.utf8.count * max(0, items.count - 1)
            for item in items {
                guard case .string(let text) = item else { return nil }
                length += text.utf8.count
            }
            return .string(
                String(joiningValidUTF8: length) { output in
                    var written = 0
                    func write(_ text: String) {
                        text.withUTF8Bytes { bytes in
                            guard let start = bytes.baseAddress else { return }
                            (output.baseAddress! + written).initialize(from: start, count: bytes.count)
                            written += bytes.count
                        }
                    }
                    for (index, item) in items.enumerated() {
                        if index > 0 { write(separator) }
                        if case .string(let text) = item { write(text) }
                    }
                    return written
                })
        },
        "first": .unary { value in
            guard case .list(let items) = value else { return nil }
            return items.first ?? .error(EvaluationError(.outOfRange, "first() of an empty list"))
        },
        "last": .unary { value in
            guard case .list(let items) = value else { return nil }
            return items.last ?? .error(EvaluationError(.outOfRange, "last() of an empty list"))
        },
        "days": .unary { value in
            guard case .duration(let duration) = value else { return nil }
            return .int(duration.seconds / 86_400)
        },
        "hours": .unary { value in
            guard case .duration(let duration) = value else { return nil }
            return .int(duration.seconds / 3600)
        },
        "ipInCidr": .binary { a, b in
            guard case .string(let ip) = a, case .string(let cidr) = b else { return nil }
            return .bool(Network.contains(cidr: cidr, ip: ip))
        },
        "isIPv4": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .bool(Network.ipv4(Substring(text)) != nil)
        },
        "isPrivateIP": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .bool(Network.isPrivate(text))
        },
        "ipKind": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .string(Network.kind(text))
        },
        "isCIDR": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .bool(Network.canonicalCIDR(text) != nil)
        },
        "canonicalCIDR": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .string(Network.canonicalCIDR(text) ?? "")
        },
        "isDay": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .bool(CivilDate.days(fromDay: text) != nil)
        },
        "isMAC": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .bool(Network.normalizedMAC(text) != nil)
        },
        // One shell word, whatever the text: for commands a fix shows, where a name may hold quotes or `;`.
        "shellQuote": .unary { value in
            guard case .string(let text) = value else { return nil }
            // Every ' (one byte in UTF-8, never part of another scalar) closes the quote, adds an escaped one and
            // reopens it. Read in place, and copied whole when it holds none, as names mostly do.
            return .string(
                text.withUTF8Bytes { bytes in
                    var quotes = 0
                    for byte in bytes where byte == UInt8(ascii: "'") { quotes += 1 }
                    return String(joiningValidUTF8: bytes.count + 3 * quotes + 2) { output in
                        output[0] = UInt8(ascii: "'")
                        var end = 1
                        if quotes == 0, let start = bytes.baseAddress {
                            (output.baseAddress! + 1).initialize(from: start, count: bytes.count)
                            end += bytes.count
                        } else {
                            for byte in bytes {
                                if byte == UInt8(ascii: "'") {
                                    for escaped in "'\\''".utf8 {
                                        output[end] = escaped
                                        end += 1
                                    }
                                } else {
                                    output[end] = byte
                                    end += 1
                                }
                            }
                        }
                        output[end] = UInt8(ascii: "'")
                        return end + 1
                    }
                })
        },
        "normalizeMAC": .unary { value in
            guard case .string(let text) = value else { return nil }
            return .string(Network.normalizedMAC(text) ?? "")
        },
    ]
}

extension String.UnicodeScalarView {
    /// Whether `part` occurs as a contiguous run of scalars.
    func elementsEqualSubsequence(_ part: String.UnicodeScalarView) -> Bool {
        let haystack = Array(self)
        let needle = Array(part)
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
