import CAnalysisSupport
import Foundation
import SKMCore
import SKMPrimitives
import SKMWire

/// Reads the server's request log (JSON Lines, gzip or plain, or standard input) item by item.
///
/// Failed requests are decoded in full. Successful ones, the vast majority, are only counted: a line the server
/// wrote with `"isSuccessful":true` gives its time, appkey, key and operation without being parsed. That byte
/// sequence cannot occur inside a JSON string (its quotes would be escaped), so the shortcut never misreads a
/// failure; any line it cannot read quickly is decoded in full. A line of a proxy's JSON access log (nginx, Envoy)
/// is read by ``AccessLogReader``, so such a log is read as this one is, gzip and standard input included.
package struct RequestLogReader: Sendable {
    /// Only the line of this request id, read in full whatever its outcome (for explaining one request): lines
    /// without the id's bytes are skipped unparsed.
    package var requestID: String?

    /// Reads the lines of a proxy's access log, with what the command line gives about the client.
    package var access: AccessLogReader

    package init(requestID: String? = nil, access: AccessLogReader = AccessLogReader()) {
        self.requestID = requestID
        self.access = access
    }

    /// Reads `path` (`-` for standard input) and hands each item to `consume`, in order; `progress` hears how many
    /// bytes of how many were read, every 4,096 lines and at the end.
    package func read(
        _ path: String, consume: (CaptureItem) -> Void, progress: (_ read: Int, _ size: Int?) -> Void = { _, _ in }
    ) throws(InputError) {
        let reader = try LineReader(path: path)
        defer { reader.close() }
        let name = path == "-" ? "<stdin>" : path
        // A line that does not hold the id's bytes is skipped unread (an access log names it otherwise).
        let marker = requestID.map { Array("\"\($0)\"".utf8) }
        let ending = try reader.forEachLine { line, number in
            if number & 0xFFF == 0 { progress(reader.offset, reader.size) }
            guard let line else {
                consume(.problem(Self.overlong(SourceLocation(file: name, number: number))))
                return
            }
            if let marker, FastFields.find(marker, in: line) == nil { return }
            let location = SourceLocation(file: name, number: number)
            guard let item = Self.item(line, location: location, full: marker != nil, access: access) else { return }
            if let requestID, case .request(let request) = item, request.record.requestId != requestID { return }
            consume(item)
        }
        progress(reader.offset, reader.size)
        if case .truncated(let lines) = ending { consume(.problem(Self.truncated(file: name, after: lines))) }
    }

    /// A line too long to read, skipped.
    static func overlong(_ location: SourceLocation) -> InputProblem {
        InputProblem(location: location, message: "line longer than \(LineReader.maximumLineBytes) bytes; skipped")
    }

    /// A gzip file cut off after `lines` lines: the input is damaged there.
    static func truncated(file: String, after lines: Int) -> InputProblem {
        InputProblem(
            location: SourceLocation(file: file, number: lines + 1),
            message: "the gzip stream is cut off here: the file is truncated; the \(lines) lines before the cut "
                + "were read, what followed is lost",
            damage: true)
    }

    /// The item one line holds; `nil` for a blank line. With `full`, a successful request is read in full too and
    /// handed over as a request.
    package static func item(
        _ raw: UnsafeBufferPointer<UInt8>, location: SourceLocation, full: Bool = false, shapes: LineShapes? = nil,
        strings: SuccessStrings? = nil, access: AccessLogReader = AccessLogReader()
    ) -> CaptureItem? {
        var start = 0
        var end = raw.count
        while start < end, raw[start] == 0x20 || raw[start] == 0x09 || raw[start] == 0x0D { start += 1 }
        while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 || raw[end - 1] == 0x0D { end -= 1 }
        guard start < end else { return nil }
        let line = UnsafeBufferPointer(rebasing: raw[start..<end])
        guard line.first == UInt8(ascii: "{"), line.last == UInt8(ascii: "}") else {
            return .problem(
                InputProblem(
                    location: location,
                    message: line.first == UInt8(ascii: "{")
                        ? "not a complete JSON object (truncated line?)" : "not a JSON object"))
        }
        if !full, let success = FastFields.success(line, strings: strings) { return .success(success) }
        var parts: LineShapes.Parts?
        if let shapes {
            let (request, found) = shapes.request(line, location: location)
            if let request {
                if shapes.verifying {
                    shapes.verify(request, fresh: Self.item(raw, location: location, full: full, access: access))
                }
                return .request(request)
            }
            parts = found
        }
        let value: JSONValue
        do {
            value = try JSONParser(invalidUTF8: .replace).parse(line)
        } catch {
            return .problem(
                InputProblem(location: location, message: "not JSON: column \(error.position.column): \(error.reason)"))
        }
        if let flavour = AccessLogReader.flavour(of: value) {
            return access.item(value, flavour: flavour, location: location, full: full)
        }
        let record: RequestRecord
        do {
            record = try RequestRecord(json: value)
        } catch {
            return .problem(InputProblem(location: location, message: "not a request record: \(error)"))
        }
        if record.response.isSuccessful, !full {
            return .success(
                SuccessObservation(
                    time: record.time, appkey: record.appkey, keyId: record.keyId, operation: record.operation))
        }
        var request = CapturedRequest(record: record, location: location)
        if let shapes, let parts { request.shape = shapes.keep(record, parts, line) }
        return .request(request)
    }
}

/// The appkeys, key ids and operations of one reader's success lines, kept so that a value seen before is not
/// made again: a log names a few hundred keys over millions of lines. Direct-mapped by a hash of the bytes;
/// for one thread.
package final class SuccessStrings {
    private static let slots = 256
    /// Values longer than this are made each time (ids are 32 bytes).
    private static let longest = 64
    /// Each slot's bytes, `longest` apart, and their lengths (-1: empty slot).
    private let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * longest)
    private let lengths = UnsafeMutablePointer<Int>.allocate(capacity: slots)
    // One reader's, never shared between threads: the dynamic exclusivity check would be pure cost.
    @exclusivity(unchecked) private var strings: [String] = Array(repeating: "", count: slots)

    package init() {
        lengths.initialize(repeating: -1, count: Self.slots)
    }

    deinit {
        bytes.deallocate()
        lengths.deallocate()
    }

    /// The string of `text`'s bytes (decoded as a full reading decodes them), made at most once while it stays.
    func string(_ text: UnsafeBufferPointer<UInt8>) -> String {
        guard let base = text.baseAddress, text.count <= Self.longest else {
            return String(decoding: text, as: UTF8.self)
        }
        var hash: UInt32 = 0x811c_9dc5
        for byte in text { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        let slot = Int(hash ^ (hash >> 16)) & (Self.slots - 1)
        let kept = bytes + slot * Self.longest
        if lengths[slot] == text.count, memcmp(kept, base, text.count) == 0 { return strings[slot] }
        let made = String(decoding: text, as: UTF8.self)
        kept.update(from: base, count: text.count)
        lengths[slot] = text.count
        strings[slot] = made
        return made
    }
}

/// Reads a few top-level string members of a compact log line straight from its bytes.
enum FastFields {
    /// A successful request's observation, or `nil` when the line is not one the shortcut can read.
    ///
    /// One pass over the line reads what a full reading would: the top-level `time`, `appkey`, `keyId` and
    /// `operation` strings and, in the top-level `response` object, `httpStatus`, `resultCode` and `isSuccessful`,
    /// each the first of its name at its level (a duplicate's first value is the one a full reading keeps, whatever
    /// spacing sets it apart). A member elsewhere (nested, or in another object) is not taken for one of these. A
    /// line with an escape anywhere, which could spell a name differently, is left to the full reading.
    static func success(_ line: UnsafeBufferPointer<UInt8>, strings: SuccessStrings? = nil) -> SuccessObservation? {
        guard let base = line.baseAddress, memchr(base, Int32(UInt8(ascii: "\\")), line.count) == nil else {
            return nil
        }
        var scan = SuccessScan(line, strings: strings)
        return scan.run()
    }

    /// The state of ``success(_:)``'s pass.
    struct SuccessScan {
        let line: UnsafeBufferPointer<UInt8>
        var depth = 0
        /// The depth of the top-level response object's members while it is open, else -1.
        var responseDepth = -1
        var responseSeen = false
        /// The first value of each top-level string member read: time, appkey, keyId, operation.
        var time: Range<Int>?
        var appkey: Range<Int>?
        var keyId: Range<Int>?
        var operation: Range<Int>?
        var httpStatus = false
        var resultCode = false
        var successful = false

        let strings: SuccessStrings?

        init(_ line: UnsafeBufferPointer<UInt8>, strings: SuccessStrings?) {
            self.line = line
            self.strings = strings
        }

        mutating func run() -> SuccessObservation? {
            var index = 0
            while index < line.count {
                switch line[index] {
                case UInt8(ascii: "\"") where depth == 1 || depth == responseDepth:
                    guard let next = string(at: index) else { return nil }
                    index = next
                case UInt8(ascii: "\""):
                    // A string in a nested object: nothing in it is read, only skipped.
                    guard let end = closing(index) else { return nil }
                    index = end + 1
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == responseDepth { responseDepth = -1 }
                    depth -= 1
                    index += 1
                default:
                    index += 1
                }
            }
            guard successful, httpStatus, resultCode, let time,
                let parsed = Timestamp.parse(text(time))
            else { return nil }
            return SuccessObservation(
                time: parsed, appkey: appkey.map(text), keyId: keyId.map(text), operation: operation.map(text))
        }

        func text(_ range: Range<Int>) -> String {
            let bytes = UnsafeBufferPointer(rebasing: line[range])
            return strings?.string(bytes) ?? String(decoding: bytes, as: UTF8.self)
        }

        /// Whether the bytes in `range` are `expected` (ASCII).
        @inline(__always)
        func bytes(_ range: Range<Int>, are expected: StaticString) -> Bool {
            range.count == expected.utf8CodeUnitCount
                && memcmp(line.baseAddress! + range.lowerBound, expected.utf8Start, range.count) == 0
        }

        /// Whether the bytes from `start` begin with `expected` (ASCII).
        @inline(__always)
        func bytes(from start: Int, startWith expected: StaticString) -> Bool {
            line.count - start >= expected.utf8CodeUnitCount
                && memcmp(line.baseAddress! + start, expected.utf8Start, expected.utf8CodeUnitCount) == 0
        }

        @inline(__always)
        func skipSpaces(from start: Int) -> Int {
            var index = start
            while index < line.count {
                switch line[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return index
                }
            }
            return index
        }

        /// The position of the quote that closes the string opening at `quote`. Eight bytes at a time: a log's
        /// strings are short, so a call out per string would cost more than the search.
        @inline(__always)
        func closing(_ quote: Int) -> Int? {
            let count = line.count
            let base = UnsafeRawPointer(line.baseAddress!)
            var index = quote + 1
            while index + 8 <= count {
                // A byte is the quote where it XORs to zero; the lowest flagged byte is always a true zero (the
                // borrow that can flag a byte wrongly only runs upwards from a true one).
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let quotes = word ^ 0x2222_2222_2222_2222
                let zeros = (quotes &- 0x0101_0101_0101_0101) & ~quotes & 0x8080_8080_8080_8080
                if zeros != 0 { return index + zeros.trailingZeroBitCount >> 3 }
                index += 8
            }
            while index < count {
                if line[index] == UInt8(ascii: "\"") { return index }
                index += 1
            }
            return nil
        }

        /// Reads the string at `quote`; when it is a member's name, notes the member if it is one of those read.
        /// Returns where the scan goes on, `nil` when the line is not one to read this way.
        mutating func string(at quote: Int) -> Int? {
            guard let end = closing(quote) else { return nil }
            let colon = skipSpaces(from: end + 1)
            guard colon < line.count, line[colon] == UInt8(ascii: ":") else { return end + 1 }
            let key = (quote + 1)..<end
            let value = skipSpaces(from: colon + 1)
            guard value < line.count else { return nil }
            if depth == 1 {
                switch key.count {
                case 4 where bytes(key, are: "time"):
                    guard time == nil else { return value }
                    guard let (range, next) = stringValue(at: value) else { return nil }
                    time = range
                    return next
                case 5 where bytes(key, are: "keyId"):
                    guard keyId == nil else { return value }
                    guard let (range, next) = stringValue(at: value) else { return nil }
                    keyId = range
                    return next
                case 6 where bytes(key, are: "appkey"):
                    guard appkey == nil else { return value }
                    guard let (range, next) = stringValue(at: value) else { return nil }
                    appkey = range
                    return next
                case 9 where bytes(key, are: "operation"):
                    guard operation == nil else { return value }
                    guard let (range, next) = stringValue(at: value) else { return nil }
                    operation = range
                    return next
                case 8 where bytes(key, are: "response"):
                    guard !responseSeen else { return value }
                    responseSeen = true
                    guard line[value] == UInt8(ascii: "{") else { return nil }
                    depth += 1
                    responseDepth = depth
                    return value + 1
                default: return value
                }
            } else if depth == responseDepth {
                switch key.count {
                case 12 where bytes(key, are: "isSuccessful"):
                    guard !successful else { return value }
                    // The first of its name decides: anything but `true` (a failure) ends the scan.
                    guard bytes(from: value, startWith: "true") else { return nil }
                    successful = true
                case 10 where bytes(key, are: "httpStatus"):
                    guard !httpStatus else { return value }
                    guard isInteger(at: value) else { return nil }
                    httpStatus = true
                case 10 where bytes(key, are: "resultCode"):
                    guard !resultCode else { return value }
                    guard isInteger(at: value) else { return nil }
                    resultCode = true
                default: break
                }
            }
            return value
        }

        /// The contents of the string value at `value` and where the scan goes on after it; `nil` when the value is
        /// not a string.
        @inline(__always)
        func stringValue(at value: Int) -> (Range<Int>, next: Int)? {
            guard line[value] == UInt8(ascii: "\""), let end = closing(value) else { return nil }
            return ((value + 1)..<end, end + 1)
        }

        /// `-?digits` followed by the end of the value.
        func isInteger(at start: Int) -> Bool {
            var index = start
            if index < line.count, line[index] == UInt8(ascii: "-") { index += 1 }
            let digits = index
            while index < line.count, (0x30...0x39).contains(line[index]) { index += 1 }
            guard index > digits, index - digits <= 18 else { return false }
            let after = skipSpaces(from: index)
            return after < line.count && (line[after] == UInt8(ascii: ",") || line[after] == UInt8(ascii: "}"))
        }
    }

    /// The offset of `needle` in `haystack`.
    static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = haystack.baseAddress, haystack.count >= needle.count else { return nil }
        return needle.withUnsafeBytes { pattern -> Int? in
            guard let found = memmem(base, haystack.count, pattern.baseAddress, pattern.count) else { return nil }
            return UnsafeRawPointer(found) - UnsafeRawPointer(base)
        }
    }
}
