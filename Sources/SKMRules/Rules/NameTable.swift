import Foundation

/// A few values by name (operation names, tags), looked up by a scan instead of hashing: the replay looks up a
/// request's operation and tags once per request, and hashing a string costs more than comparing it with a few
/// dozen names.
///
/// Strings compare as Swift compares them (canonical equivalence). Between two ASCII strings that is byte
/// equality, so ASCII names are compared by bytes (their length and first eight bytes, then the rest); any other
/// name is looked up in a dictionary, and so is an ASCII name the scan did not find when the table holds a name
/// that is not ASCII: a few characters are equal to ASCII ones (a Kelvin sign is a `K`).
package struct NameTable<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        let length: Int
        /// The first eight bytes, packed.
        let head: UInt64
        let bytes: [UInt8]
        let value: Value
    }

    private let ascii: [Entry]
    private let all: [String: Value]
    /// Whether some name is not ASCII, so that an ASCII name may equal it without sharing its bytes.
    private let hasOtherNames: Bool

    package init(_ values: [String: Value]) {
        all = values
        ascii = values.compactMap { name, value in
            let bytes = Array(name.utf8)
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            let head = bytes.withUnsafeBufferPointer(Self.head)
            return Entry(length: bytes.count, head: head, bytes: bytes, value: value)
        }
        hasOtherNames = ascii.count < values.count
    }

    package subscript(name: String) -> Value? {
        switch name.utf8.withContiguousStorageIfAvailable(lookUp) {
        case .found(let value)?: return value
        case .absent?: return hasOtherNames ? all[name] : nil
        case .notASCII?, nil: return all[name]
        }
    }

    private enum Lookup {
        case found(Value), absent, notASCII
    }

    private func lookUp(_ bytes: UnsafeBufferPointer<UInt8>) -> Lookup {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return .notASCII }
        let head = Self.head(of: bytes)
        for entry in ascii where entry.length == bytes.count && entry.head == head {
            // Past the head, the rest by memcmp: `elementsEqual` would go a byte at a time.
            if entry.length <= 8
                || entry.bytes.withUnsafeBufferPointer({
                    memcmp($0.baseAddress! + 8, bytes.baseAddress! + 8, entry.length - 8) == 0
                })
            {
                return .found(entry.value)
            }
        }
        return .absent
    }

    /// The first eight bytes of `bytes` (fewer when it is shorter), packed into one word.
    private static func head(of bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var head: UInt64 = 0
        for index in 0..<min(8, bytes.count) { head |= UInt64(bytes[index]) << UInt64(8 * index) }
        return head
    }
}
