import Foundation
import SKMCore

/// Finds the entries of a HAR document (`log.entries`) one by one in its bytes, without building the document: each
/// entry is parsed on its own and dropped, so memory follows the largest entry, not the capture.
///
/// The scan follows JSON's structure (strings with their escapes, nesting) only as far as it needs to find the
/// bytes of each element of `log.entries`; the elements themselves are parsed by ``JSONParser``, which reports any
/// malformation in them.
struct HAREntryScanner {
    enum Failure: Error, Equatable {
        /// Not a JSON object at the top, or broken before the entries were found.
        case notJSON(String)
        /// A JSON object without `log.entries`.
        case noEntries
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth = 128

    /// Calls `body` with each element of `log.entries`, in order.
    func forEachEntry(_ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(Failure) {
        var index = skipSpace(0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            throw .notJSON("the document is not a JSON object")
        }
        // Find "log" among the top-level members, then "entries" among its members.
        guard let log = try member("log", inObjectAt: index) else { throw .noEntries }
        index = skipSpace(log)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw .noEntries }
        guard let entries = try member("entries", inObjectAt: index) else { throw .noEntries }
        index = skipSpace(entries)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { throw .noEntries }
        index = skipSpace(index + 1)
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { return }
        while index < bytes.count {
            let end = try endOfValue(at: index)
            body(UnsafeBufferPointer(rebasing: bytes[index..<end]))
            index = skipSpace(end)
            guard index < bytes.count else { break }
            if bytes[index] == UInt8(ascii: ",") {
                index = skipSpace(index + 1)
            } else if bytes[index] == UInt8(ascii: "]") {
                return
            } else {
                throw .notJSON("byte \(index): expected ',' or ']' after an entry")
            }
        }
        throw .notJSON("the entries array is not closed: the file is cut off")
    }

    /// The offset of the value of member `name` of the object starting at `start`, or `nil` when it has none.
    private func member(_ name: String, inObjectAt start: Int) throws(Failure) -> Int? {
        let wanted = Array(name.utf8)
        var index = skipSpace(start + 1)
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return nil }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\"") else { throw .notJSON("byte \(index): expected a member name") }
            let keyEnd = try endOfString(at: index)
            let isWanted = keyEnd - index - 2 == wanted.count && bytes[(index + 1)..<(keyEnd - 1)].elementsEqual(wanted)
            index = skipSpace(keyEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw .notJSON("byte \(index): expected ':'")
            }
            index = skipSpace(index + 1)
            if isWanted { return index }
            index = skipSpace(try endOfValue(at: index))
            guard index < bytes.count else { break }
            if bytes[index] == UInt8(ascii: ",") {
                index = skipSpace(index + 1)
            } else if bytes[index] == UInt8(ascii: "}") {
                return nil
            } else {
                throw .notJSON("byte \(index): expected ',' or '}'")
            }
        }
        throw .notJSON("an object is not closed: the file is cut off")
    }

    /// The offset just past the JSON value starting at `start`.
    private func endOfValue(at start: Int) throws(Failure) -> Int {
        guard start < bytes.count else { throw .notJSON("the file ends where a value was expected") }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return try endOfString(at: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index = try endOfString(at: index)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    if depth > maximumDepth { throw .notJSON("byte \(index): nested deeper than \(maximumDepth)") }
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            throw .notJSON("a value is not closed: the file is cut off")
        default:
            // A number, true, false or null: up to the next delimiter.
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return index
                default: index += 1
                }
            }
            return index
        }
    }

    /// The offset just past the string starting at `start` (its opening quote).
    private func endOfString(at start: Int) throws(Failure) -> Int {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        throw .notJSON("a string is not closed: the file is cut off")
    }

    private func skipSpace(_ start: Int) -> Int {
        var index = start
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D
        {
            index += 1
        }
        return index
    }
}
