import Foundation

/// A few values by name (operation names, tags), looked up by their length and first eight bytes in a small hash
/// table: the replay looks up a request's operation and tags once per request, and Swift's hashing of a whole
/// string costs more than reading its first word.
///
/// Strings compare as Swift compares them (canonical equivalence). Between two ASCII strings that is byte
/// equality, so ASCII names are compared by bytes (their length and first eight bytes, then the rest); any other
/// name is looked up in a dictionary, and so is an ASCII name the table did not find when it holds a name that is
/// not ASCII: a few characters are equal to ASCII ones (a Kelvin sign is a `K`).
package struct NameTable<Value: Sendable>: Sendable {
    /// The ASCII names, and their values in the same order.
    private let names: NameIndex
    private let values: [Value]
    private let all: [String: Value]
    /// Whether some name is not ASCII, so that an ASCII name may equal it without sharing its bytes.
    private let hasOtherNames: Bool

    package init(_ values: [String: Value]) {
        all = values
        let ascii = values.filter { name, _ in name.utf8.allSatisfy { $0 < 0x80 } }
        names = NameIndex(ascii.map { Array($0.key.utf8) })
        self.values = ascii.map(\.value)
        hasOtherNames = ascii.count < values.count
    }

    package subscript(name: String) -> Value? {
        switch name.utf8.withContiguousStorageIfAvailable(names.lookUp) {
        case .found(let index)?: return values[index]
        case .absent?: return hasOtherNames ? all[name] : nil
        case .notASCII?, nil: return all[name]
        }
    }
}

/// Where each of a few ASCII names is, by its bytes: not generic, so that a lookup needs no type metadata.
private struct NameIndex: Sendable {
    private struct Entry: Sendable {
        let length: Int
        /// The first eight bytes, packed.
        let head: UInt64
        let bytes: [UInt8]
    }

    enum Lookup {
        case found(Int), absent, notASCII
    }

    private let entries: [Entry]
    /// Where each name's entry is, plus one, by the hash of its length and head (open addressing, probed in turn; 0
    /// is an empty slot): a lookup compares with one entry or two, where a scan would test them all.
    private let slots: [Int32]

    init(_ names: [[UInt8]]) {
        entries = names.map { bytes in
            Entry(length: bytes.count, head: bytes.withUnsafeBufferPointer(Self.head), bytes: bytes)
        }
        // At most half full, so that a probe soon meets the entry or an empty slot.
        var size = 4
        while size < 2 * entries.count { size *= 2 }
        var slots = [Int32](repeating: 0, count: size)
        for (index, entry) in entries.enumerated() {
            var slot = Self.slot(length: entry.length, head: entry.head, size: size)
            while slots[slot] != 0 { slot = (slot + 1) & (size - 1) }
            slots[slot] = Int32(index + 1)
        }
        self.slots = slots
    }

    /// The position of the name `bytes` spell. Equal bytes are equal names; a name that is not ASCII is never here.
    func lookUp(_ bytes: UnsafeBufferPointer<UInt8>) -> Lookup {
        let head = Self.head(of: bytes)
        let length = bytes.count
        // Through buffers: an entry read out of the array would be copied, its bytes counted up and down.
        let found = slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries -> Int? in
                let mask = slots.count - 1
                var slot = Self.slot(length: length, head: head, size: slots.count)
                while slots[slot] != 0 {
                    let index = Int(slots[slot]) - 1
                    // Past the head, the rest by memcmp: `elementsEqual` would go a byte at a time.
                    if entries[index].length == length, entries[index].head == head,
                        length <= 8
                            || entries[index].bytes.withUnsafeBufferPointer({
                                memcmp($0.baseAddress! + 8, bytes.baseAddress! + 8, length - 8) == 0
                            })
                    {
                        return index
                    }
                    slot = (slot + 1) & mask
                }
                return nil
            }
        }
        if let found { return .found(found) }
        return bytes.allSatisfy({ $0 < 0x80 }) ? .absent : .notASCII
    }

    /// The slot a name of `length` bytes starting with `head` hashes to, in a table of `size` (a power of two).
    @inline(__always)
    private static func slot(length: Int, head: UInt64, size: Int) -> Int {
        // A multiplicative hash: the high bits of the product mix every byte of the head and the length.
        let mixed = (head ^ UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: mixed >> 40) & (size - 1)
    }

    /// The first eight bytes of `bytes` (fewer when it is shorter), packed into one word, the first byte lowest.
    @inline(__always)
    private static func head(of bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard let base = bytes.baseAddress else { return 0 }
        if bytes.count >= 8 { return UInt64(littleEndian: UnsafeRawPointer(base).loadUnaligned(as: UInt64.self)) }
        var head: UInt64 = 0
        for index in 0..<bytes.count { head |= UInt64(base[index]) << UInt64(8 * index) }
        return head
    }
}
