import CAnalysisSupport
import Foundation
import SKMCore
import SKMPrimitives
import SKMWire

/// Reads the server's request log (JSON Lines, gzip or plain, or standard input) item by item.
///
/// Failed requests are decoded in full. Successful ones, the vast majority, are only counted: a line the server
/// wrote with `"isSuccessful":true` gives its time, appkey, key and operation without being decoded, once a line of
/// the same layout (its members' names and kinds of value) has been decoded in full and found to be a whole record
/// (``SuccessMemory``). The shortcut never misreads a failure or a damaged line; any line it cannot read quickly is
/// decoded in full. A line of a proxy's JSON access log (nginx, Envoy)
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
        let memory = SuccessMemory()
        let ending = try reader.forEachLine { line, number in
            if number & 0xFFF == 0 { progress(reader.offset, reader.size) }
            guard let line else {
                consume(.problem(Self.overlong(SourceLocation(file: name, number: number))))
                return
            }
            if let marker, FastFields.find(marker, in: line) == nil { return }
            let location = SourceLocation(file: name, number: number)
            guard let item = Self.item(line, location: location, full: marker != nil, memory: memory, access: access)
            else { return }
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
    ///
    /// With a `memory`, a successful line whose layout a full reading has already found whole is only counted.
    package static func item(
        _ raw: UnsafeBufferPointer<UInt8>, location: SourceLocation, full: Bool = false, shapes: LineShapes? = nil,
        memory: SuccessMemory? = nil, access: AccessLogReader = AccessLogReader()
    ) -> CaptureItem? {
        var start = 0
        var end = raw.count
        // A byte order mark that starts a line is one that started a file: logs saved by a Windows tool and joined
        // (`cat`, a gzip of several members) carry one at the first line of each.
        if raw.count >= 3, raw[0] == 0xEF, raw[1] == 0xBB, raw[2] == 0xBF { start = 3 }
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
        guard !full, let memory, !FastFields.endsAsFailure(line), let scan = FastFields.success(line, memory: memory)
        else {
            return read(line, raw: raw, location: location, full: full, shapes: shapes, access: access)
        }
        if scan.known { return .success(scan.observation) }
        // A layout not seen yet: the full reading decides, and a whole record teaches the layout.
        let item = read(line, raw: raw, location: location, full: false, shapes: shapes, access: access)
        if case .success(let read)? = item, read == scan.observation { memory.learnLayout() }
        return item
    }

    /// The item of a line read in full (a success only counted unless `full`).
    private static func read(
        _ line: UnsafeBufferPointer<UInt8>, raw: UnsafeBufferPointer<UInt8>, location: SourceLocation, full: Bool,
        shapes: LineShapes?, access: AccessLogReader
    ) -> CaptureItem? {
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

/// What one reader remembers of the success lines it read: the layouts of lines a full reading found to be whole
/// records, and the appkeys, key ids and operations it made. For one thread.
///
/// A line's layout is its members' names and the kinds of their values (a string, an integer, `true`, …), in
/// order, objects and arrays opened and closed: everything a full reading checks of a successful record but for
/// values, whose few checks (the time and other dates, the duration's range) the success shortcut makes itself.
/// A line of a layout a full reading found whole is the same record to it; a line of any other layout is read in
/// full (a member missing or of the wrong kind is reported, never counted as a success), and teaches its layout
/// when it is whole.
package final class SuccessMemory {
    private static let slots = 256
    /// Values longer than this are made each time (ids are 32 bytes).
    private static let longest = 64
    /// Each slot's bytes, `longest` apart, and their lengths (-1: empty slot).
    private let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * longest)
    private let lengths = UnsafeMutablePointer<Int>.allocate(capacity: slots)
    // One reader's, never shared between threads: the dynamic exclusivity check would be pure cost.
    @exclusivity(unchecked) private var strings: [String] = Array(repeating: "", count: slots)

    /// Lines with longer layouts are always read in full.
    static let layoutCapacity = 2048
    private static let layoutSlots = 128
    /// The layout of the line last scanned, written by the scan.
    let layout = UnsafeMutablePointer<UInt8>.allocate(capacity: layoutCapacity + 16)
    @exclusivity(unchecked) var layoutCount = 0
    /// Layouts found whole, direct-mapped by their hash.
    @exclusivity(unchecked) private var layouts: [[UInt8]] = Array(repeating: [], count: layoutSlots)
    @exclusivity(unchecked) private var layoutHashes: [UInt64] = Array(repeating: 0, count: layoutSlots)
    /// Lines counted on a layout found whole before (for tests).
    @exclusivity(unchecked) package private(set) var knownLines = 0

    package init() {
        lengths.initialize(repeating: -1, count: Self.slots)
    }

    deinit {
        bytes.deallocate()
        lengths.deallocate()
        layout.deallocate()
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

    /// A hash of the current layout, eight bytes at a time.
    private var layoutHash: UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(layoutCount)
        let raw = UnsafeRawPointer(layout)
        var index = 0
        while index + 8 <= layoutCount {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            hash = (hash ^ word) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 29
            index += 8
        }
        var tail: UInt64 = 0
        while index < layoutCount {
            tail = tail << 8 | UInt64(layout[index])
            index += 1
        }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ hash >> 32
    }

    /// Whether the current layout is one a full reading found whole.
    func layoutIsKnown() -> Bool {
        let hash = layoutHash
        let slot = Int(truncatingIfNeeded: hash) & (Self.layoutSlots - 1)
        guard layoutHashes[slot] == hash, layouts[slot].count == layoutCount,
            layouts[slot].withUnsafeBufferPointer({ memcmp($0.baseAddress!, layout, layoutCount) }) == 0
        else { return false }
        knownLines += 1
        return true
    }

    /// Remembers the current layout as one a full reading found whole.
    func learnLayout() {
        let hash = layoutHash
        let slot = Int(truncatingIfNeeded: hash) & (Self.layoutSlots - 1)
        layouts[slot] = Array(UnsafeBufferPointer(start: layout, count: layoutCount))
        layoutHashes[slot] = hash
    }
}

/// Reads a few top-level string members of a compact log line straight from its bytes.
enum FastFields {
    /// A successful request's observation, and whether a line of its layout was found whole before
    /// (``SuccessMemory``); `nil` when the line is not one the shortcut can read.
    ///
    /// One pass over the line reads what a full reading would: the top-level `time`, `appkey`, `keyId` and
    /// `operation` strings and, in the top-level `response` object, `httpStatus`, `resultCode` and `isSuccessful`,
    /// each the first of its name at its level (a duplicate's first value is the one a full reading keeps, whatever
    /// spacing sets it apart). A member elsewhere (nested, or in another object) is not taken for one of these. A
    /// line with an escape anywhere, which could spell a name differently, is left to the full reading, and so is a
    /// line that is not one JSON object by JSON's grammar (two records run together, a trailing comma, a stray
    /// byte): the pass checks the grammar as it goes, so that the full reading reports such a line. The values a
    /// full reading checks (the time and every other date, the duration's range) are checked here too; the rest of
    /// what it checks, the members and the kinds of their values, is the line's layout.
    static func success(
        _ line: UnsafeBufferPointer<UInt8>, memory: SuccessMemory
    ) -> (observation: SuccessObservation, known: Bool)? {
        guard let base = line.baseAddress, memchr(base, Int32(UInt8(ascii: "\\")), line.count) == nil else {
            return nil
        }
        var scan = SuccessScan(line, memory: memory)
        guard let observation = scan.run() else { return nil }
        return (observation, memory.layoutIsKnown())
    }

    /// Whether the line's last bytes hold `"isSuccessful":false`, where the server writes it (in the response, the
    /// record's last member but the duration): a failure, which the success pass would scan nearly to its end
    /// before finding so. Only a saving: a line taken for one is read in full, which is always right.
    @inline(__always)
    static func endsAsFailure(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = line.baseAddress else { return false }
        let window = min(line.count, 128)
        return failure.withUnsafeBytes { needle in
            memmem(base + (line.count - window), window, needle.baseAddress, needle.count) != nil
        }
    }

    private static let failure = Array(#""isSuccessful":false"#.utf8)

    /// The state of ``success(_:)``'s pass.
    struct SuccessScan {
        /// What the grammar allows next.
        enum Expect {
            case value
            /// After `[`: a value or `]`.
            case valueOrClose
            /// After `{`: a member's name or `}`.
            case nameOrClose
            /// After `,` in an object.
            case name
            case colon
            /// After a value: `,` or the container's close.
            case commaOrClose
        }

        /// The member whose value comes next, when it is one the pass reads.
        enum Member {
            case other, time, appkey, keyId, operation, response, isSuccessful, httpStatus, resultCode
        }

        /// A member whose value a full reading checks: a date (at any depth, to be safe) or the duration.
        enum Checked {
            case none, date, duration
        }

        /// Deeper lines are left to the full reading.
        static let maximumDepth = 63

        let line: UnsafeBufferPointer<UInt8>
        var depth = 0
        /// Bit `d` set: the container at depth `d` is an object.
        var objects: UInt64 = 0
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
        /// Whether the value that comes next is checked.
        var checked = Checked.none
        let memory: SuccessMemory
        /// The line's layout (``SuccessMemory``), written into the memory's buffer.
        let layout: UnsafeMutablePointer<UInt8>
        var layoutCount = 0

        init(_ line: UnsafeBufferPointer<UInt8>, memory: SuccessMemory) {
            self.line = line
            self.memory = memory
            layout = memory.layout
        }

        var inObject: Bool { depth > 0 && objects & (1 << UInt64(depth)) != 0 }

        mutating func run() -> SuccessObservation? {
            var index = 0
            var expect = Expect.value
            var member = Member.other
            var closed = false
            while index < line.count {
                let byte = line[index]
                if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                    index += 1
                    continue
                }
                // Nothing may follow the line's one object.
                guard !closed else { return nil }
                switch expect {
                case .name, .nameOrClose:
                    if byte == UInt8(ascii: "}"), expect == .nameOrClose {
                        guard append(byte) else { return nil }
                        close()
                        closed = depth == 0
                        expect = .commaOrClose
                        index += 1
                        continue
                    }
                    guard byte == UInt8(ascii: "\""), let end = closing(index),
                        append(name: UnsafeBufferPointer(rebasing: line[(index + 1)..<end]))
                    else { return nil }
                    member = self.member((index + 1)..<end)
                    checked = (8...10).contains(end - index - 1) ? self.checked((index + 1)..<end) : .none
                    expect = .colon
                    index = end + 1
                case .colon:
                    guard byte == UInt8(ascii: ":") else { return nil }
                    expect = .value
                    index += 1
                case .commaOrClose:
                    if byte == UInt8(ascii: ",") {
                        expect = inObject ? .name : .value
                    } else if byte == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        guard append(byte) else { return nil }
                        close()
                        closed = depth == 0
                    } else {
                        return nil
                    }
                    index += 1
                case .value, .valueOrClose:
                    if byte == UInt8(ascii: "]"), expect == .valueOrClose {
                        guard append(byte) else { return nil }
                        close()
                        expect = .commaOrClose
                        index += 1
                        continue
                    }
                    guard let next = value(at: index, of: member) else { return nil }
                    index = next.index
                    expect = next.expect
                    member = .other
                    checked = .none
                }
            }
            // The time from the line's bytes: every line's is its own, so making (and keeping) a string of it is
            // wasted.
            guard closed, successful, httpStatus, resultCode, let time,
                let parsed = Timestamp.parse(utf8: UnsafeBufferPointer(rebasing: line[time]))
            else { return nil }
            memory.layoutCount = layoutCount
            return SuccessObservation(
                time: parsed, appkey: appkey.map(text), keyId: keyId.map(text), operation: operation.map(text))
        }

        /// Which member the name in `range` is, at this depth; `.other` for one the pass does not read or a
        /// duplicate (the first of a name is the one a full reading keeps).
        // This and the other helpers the pass calls are `mutating` though they change nothing: the scan is then
        // handed to them by reference, where a non-mutating call from a mutating one copied all of it each time.
        mutating func member(_ range: Range<Int>) -> Member {
            if depth == 1 {
                switch range.count {
                case 4 where bytes(range, are: "time"): return time == nil ? .time : .other
                case 5 where bytes(range, are: "keyId"): return keyId == nil ? .keyId : .other
                case 6 where bytes(range, are: "appkey"): return appkey == nil ? .appkey : .other
                case 9 where bytes(range, are: "operation"): return operation == nil ? .operation : .other
                case 8 where bytes(range, are: "response"): return responseSeen ? .other : .response
                default: return .other
                }
            }
            guard depth == responseDepth else { return .other }
            switch range.count {
            case 12 where bytes(range, are: "isSuccessful"): return successful ? .other : .isSuccessful
            case 10 where bytes(range, are: "httpStatus"): return httpStatus ? .other : .httpStatus
            case 10 where bytes(range, are: "resultCode"): return resultCode ? .other : .resultCode
            default: return .other
            }
        }

        /// Whether a full reading checks the value of the member named in `range`, at this depth.
        mutating func checked(_ range: Range<Int>) -> Checked {
            switch range.count {
            case 8 where bytes(range, are: "notAfter"): return .date
            case 9 where bytes(range, are: "notBefore") || bytes(range, are: "expiresAt"): return .date
            case 10 where bytes(range, are: "clientDate"): return .date
            case 10 where depth == 1 && bytes(range, are: "durationMs"): return .duration
            default: return .none
            }
        }

        /// Reads the value at `start`, the value of `member`: where the pass goes on and what it expects there;
        /// `nil` when the line is not one to read this way.
        mutating func value(at start: Int, of member: Member) -> (index: Int, expect: Expect)? {
            switch line[start] {
            case UInt8(ascii: "\""):
                guard let end = closing(start), append(UInt8(ascii: "s")) else { return nil }
                let contents = (start + 1)..<end
                if checked == .date, Timestamp.parse(utf8: UnsafeBufferPointer(rebasing: line[contents])) == nil {
                    return nil
                }
                switch member {
                case .time: time = contents
                case .appkey: appkey = contents
                case .keyId: keyId = contents
                case .operation: operation = contents
                case .other: break
                case .response, .isSuccessful, .httpStatus, .resultCode: return nil
                }
                return (end + 1, .commaOrClose)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = line[start] == UInt8(ascii: "{")
                switch member {
                case .other: break
                case .response where isObject: responseSeen = true
                default: return nil
                }
                guard depth < Self.maximumDepth, append(line[start]) else { return nil }
                depth += 1
                if isObject {
                    objects |= 1 << UInt64(depth)
                } else {
                    objects &= ~(1 << UInt64(depth))
                }
                if member == .response { responseDepth = depth }
                return (start + 1, isObject ? .nameOrClose : .valueOrClose)
            case UInt8(ascii: "t"):
                guard bytes(from: start, startWith: "true"), append(UInt8(ascii: "t")) else { return nil }
                switch member {
                case .other: break
                case .isSuccessful: successful = true
                default: return nil
                }
                return (start + 4, .commaOrClose)
            case UInt8(ascii: "f"), UInt8(ascii: "n"):
                // The first `isSuccessful` decides: anything but `true` (a failure) ends the pass.
                guard member == .other else { return nil }
                let literal: StaticString = line[start] == UInt8(ascii: "f") ? "false" : "null"
                guard bytes(from: start, startWith: literal), append(line[start]) else { return nil }
                return (start + literal.utf8CodeUnitCount, .commaOrClose)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard let (end, integer) = number(at: start) else { return nil }
                // Only the duration may be other than an integer; its range is what a full reading checks of it.
                if checked == .duration {
                    guard durationIsInRange(start..<end) else { return nil }
                } else if !integer {
                    return nil
                }
                guard append(integer ? UInt8(ascii: "i") : UInt8(ascii: "d")) else { return nil }
                switch member {
                case .other: break
                case .httpStatus where integer: httpStatus = true
                case .resultCode where integer: resultCode = true
                default: return nil
                }
                return (end, .commaOrClose)
            default:
                return nil
            }
        }

        /// Appends a byte to the layout; `false` when it is full.
        @inline(__always)
        mutating func append(_ byte: UInt8) -> Bool {
            guard layoutCount < SuccessMemory.layoutCapacity else { return false }
            layout[layoutCount] = byte
            layoutCount += 1
            return true
        }

        /// Appends a member's name, quoted (a name holds no quote: a line with an escape is never scanned); `false` when
        /// the layout is full.
        @inline(__always)
        mutating func append(name: UnsafeBufferPointer<UInt8>) -> Bool {
            guard layoutCount + name.count + 2 <= SuccessMemory.layoutCapacity, let base = name.baseAddress else {
                return false
            }
            layout[layoutCount] = UInt8(ascii: "\"")
            // Names are short: one of up to 16 bytes is copied as two words (the buffer has room past its capacity
            // for the bytes after the name), rather than by a call out per name.
            let target = UnsafeMutableRawPointer(layout + layoutCount + 1)
            if name.count <= 16, line.count - (base - line.baseAddress!) >= 16 {
                let source = UnsafeRawPointer(base)
                target.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
                target.storeBytes(
                    of: source.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
            } else {
                target.copyMemory(from: base, byteCount: name.count)
            }
            layout[layoutCount + name.count + 1] = UInt8(ascii: "\"")
            layoutCount += name.count + 2
            return true
        }

        /// Ends the innermost container.
        mutating func close() {
            if depth == responseDepth { responseDepth = -1 }
            depth -= 1
        }

        /// The end of the JSON number at `start`, and whether it is an integer of at most 18 digits; `nil` when
        /// the bytes there are not a number by JSON's grammar.
        mutating func number(at start: Int) -> (end: Int, integer: Bool)? {
            guard case .number(let end, let isInteger) = JSONNumberGrammar.scan(line, at: start) else { return nil }
            let digits = end - start - (line[start] == UInt8(ascii: "-") ? 1 : 0)
            return (end, isInteger && digits <= 18)
        }

        /// Whether the number in `range` (by JSON's grammar) is a duration a full reading accepts: from 0 to a day
        /// in milliseconds. Conservative: a negative sign, an exponent or a value from a day on is left to it.
        mutating func durationIsInRange(_ range: Range<Int>) -> Bool {
            var whole = 0
            var index = range.lowerBound
            while index < range.upperBound, isDigit(line[index]) {
                whole = whole * 10 + Int(line[index] &- UInt8(ascii: "0"))
                guard whole < 86_400_000 else { return false }
                index += 1
            }
            // A sign first, or anything after the whole part but a fraction (an exponent), is left to the reading.
            guard index > range.lowerBound else { return false }
            guard index < range.upperBound else { return true }
            guard line[index] == UInt8(ascii: ".") else { return false }
            index += 1
            while index < range.upperBound, isDigit(line[index]) { index += 1 }
            return index == range.upperBound
        }

        @inline(__always)
        func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

        func text(_ range: Range<Int>) -> String {
            let bytes = UnsafeBufferPointer(rebasing: line[range])
            return memory.string(bytes)
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

        /// The position of the quote that closes the string opening at `quote`; `nil` when there is none or a
        /// control character comes first (JSON allows none unescaped). Eight bytes at a time: a log's strings are
        /// short, so a call out per string would cost more than the search.
        @inline(__always)
        func closing(_ quote: Int) -> Int? {
            let count = line.count
            let base = UnsafeRawPointer(line.baseAddress!)
            var index = quote + 1
            while index + 8 <= count {
                // A byte is flagged where it is the quote (XOR to zero) or below 0x20; the lowest flagged byte is
                // always a true one (the borrow that can flag a byte wrongly only runs upwards from a true one).
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let quotes = word ^ 0x2222_2222_2222_2222
                let flagged =
                    ((quotes &- 0x0101_0101_0101_0101) & ~quotes | (word &- 0x2020_2020_2020_2020) & ~word)
                    & 0x8080_8080_8080_8080
                if flagged != 0 {
                    let found = index + flagged.trailingZeroBitCount >> 3
                    return line[found] == UInt8(ascii: "\"") ? found : nil
                }
                index += 8
            }
            while index < count {
                if line[index] == UInt8(ascii: "\"") { return index }
                if line[index] < 0x20 { return nil }
                index += 1
            }
            return nil
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
