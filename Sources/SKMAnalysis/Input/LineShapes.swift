import Foundation
import SKMPrimitives
import SKMWire

extension UInt64 {
    fileprivate func rotatedLeft(by count: UInt64) -> UInt64 {
        self << count | self >> (64 - count)
    }
}

/// Failed requests whose log lines differ only in their time, request id and duration: read in full once.
///
/// An incident's failures repeat the same call thousands of times. The server writes a record's `time` first, its
/// `requestId` second and its `durationMs` last; a line with that layout and those three values in their plainest
/// form (printable ASCII strings, a non-negative decimal number without a leading zero), each of the three keys once
/// and no escape anywhere in the line, is
/// the same record as an earlier line with the same remaining bytes but for those three values, which are read
/// from the line itself. Any other line is read in full, as always.
///
/// Not shared between threads: one per reader. At most ``capacity`` shapes are kept.
package final class LineShapes {
    package static let capacity = 1024

    /// Each kept shape (a line's bytes without the three values), its record (read in full from its first line) and
    /// identifier, in the bucket of its hash's low bits: a table of its own, since a dictionary would hash the hash
    /// again, for every line.
    private var buckets: [[Template]] = Array(repeating: [], count: bucketCount)
    private static let bucketCount = 4096

    /// A kept shape, its record and identifier: a class, so that looking one up copies no record.
    final class Template {
        let hash: Int
        let shape: [UInt8]
        let record: RequestRecord
        let id: Int

        init(hash: Int, shape: [UInt8], record: RequestRecord, id: Int) {
            self.hash = hash
            self.shape = shape
            self.record = record
            self.id = id
        }
    }
    private var count = 0
    /// Identifiers are never reused, even once their shapes are dropped.
    private var nextID = 0
    /// Each record made from a kept shape is compared with the line read in full, and every difference recorded
    /// in ``disagreements`` (for tests).
    let verifying: Bool
    package private(set) var disagreements: [String] = []
    /// Lines read from a kept shape.
    package private(set) var hits = 0

    /// The disagreements recorded since the last call.
    package func takeDisagreements() -> [String] {
        defer { disagreements = [] }
        return disagreements
    }

    package init(verifying: Bool = false) {
        self.verifying = verifying
    }

    /// What a line of the server's layout holds besides its shape.
    struct Parts {
        /// The line's bytes around the three values, in order: its shape.
        var segments: Segments
        var hash: Int
        var time: Date
        var requestId: String
        var durationMs: Double

        static let timeKey = Array(#"{"time":""#.utf8)
        static let requestIdKey = Array(#"","requestId":""#.utf8)
        static let durationKey = Array(#","durationMs":"#.utf8)
        /// The three names as quoted strings, whatever follows them (`"durationMs" :` is the same key to a JSON reader).
        static let keys = [Array(#""time""#.utf8), Array(#""requestId""#.utf8), Array(#""durationMs""#.utf8)]

        init?(_ line: UnsafeBufferPointer<UInt8>) {
            guard line.count > Self.timeKey.count + Self.requestIdKey.count + Self.durationKey.count + 2,
                line.last == UInt8(ascii: "}"), line.starts(with: Self.timeKey)
            else { return nil }
            let timeStart = Self.timeKey.count
            guard let timeEnd = Self.plainString(line, from: timeStart),
                line[timeEnd...].starts(with: Self.requestIdKey)
            else { return nil }
            let idStart = timeEnd + Self.requestIdKey.count
            guard let idEnd = Self.plainString(line, from: idStart),
                let durationKeyAt = Self.lastIndex(of: Self.durationKey, in: line), durationKeyAt > idEnd
            else { return nil }
            let durationStart = durationKeyAt + Self.durationKey.count
            let durationEnd = line.count - 1
            guard Self.isDecimal(line[durationStart..<durationEnd]),
                let duration = Double(String(decoding: line[durationStart..<durationEnd], as: UTF8.self)),
                let time = Timestamp.parse(utf8: UnsafeBufferPointer(rebasing: line[timeStart..<timeEnd]))
            else { return nil }
            segments = Segments(
                time: timeStart, timeEnd: timeEnd, id: idStart, idEnd: idEnd, duration: durationStart,
                durationEnd: durationEnd, lineCount: line.count)
            hash = Self.hash(segments, of: line)
            self.time = time
            requestId = String(decoding: line[idStart..<idEnd], as: UTF8.self)
            durationMs = duration
        }

        /// Whether each of the three keys is in the line once, so that no other member (a duplicate, a nested one)
        /// can be the one a full reading takes, and no escape is anywhere in it, which could spell one of them
        /// differently. A shape is kept only for such a line; a line whose bytes around its three values equal a kept
        /// shape's is such a line too (its values are plain: no quote, no backslash), so it needs no scan.
        static func isUnambiguous(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let base = line.baseAddress, memchr(base, Int32(UInt8(ascii: "\\")), line.count) == nil else {
                return false
            }
            return keys.allSatisfy { count($0, in: line) == 1 }
        }

        /// A hash of the bytes of `segments`, eight at a time: a lookup key only (a kept shape is compared byte for
        /// byte), so speed matters more than resistance to crafted collisions, which cost time, never a wrong
        /// record.
        static func hash(_ segments: Segments, of line: UnsafeBufferPointer<UInt8>) -> Int {
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            let raw = UnsafeRawBufferPointer(line)
            for segment in segments {
                var index = segment.lowerBound
                while index + 8 <= segment.upperBound {
                    let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    state = ((state ^ word) &* 0x9FB2_1C65_1E98_DF25).rotatedLeft(by: 29)
                    index += 8
                }
                var tail: UInt64 = 0
                while index < segment.upperBound {
                    tail = tail << 8 | UInt64(raw[index])
                    index += 1
                }
                state = mix(state, tail ^ UInt64(segment.count) << 56)
            }
            return Int(truncatingIfNeeded: mix(state, 0))
        }

        @inline(__always)
        private static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
            var value = (state ^ word) &* 0xFF51_AFD7_ED55_8CCD
            value ^= value >> 33
            return value &* 0xC4CE_B9FE_1A85_EC53
        }

        /// The end of a string value starting at `start`: printable ASCII up to its closing quote, no escapes.
        static func plainString(_ line: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            var index = start
            while index < line.count {
                let byte = line[index]
                if byte == UInt8(ascii: "\"") { return index }
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }

        /// `0` or a digit 1–9 then digits, with an optional fraction: a non-negative number that every JSON reader
        /// reads the same (no sign, which `-0` would make a question; no leading zero, which JSON refuses).
        static func isDecimal(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
            var rest = bytes[...]
            let digits = rest.prefix { (0x30...0x39).contains($0) }
            guard !digits.isEmpty, digits.count <= 15, digits.count == 1 || digits.first != UInt8(ascii: "0") else {
                return false
            }
            rest = rest.dropFirst(digits.count)
            guard let point = rest.first else { return true }
            guard point == UInt8(ascii: ".") else { return false }
            let fraction = rest.dropFirst()
            return !fraction.isEmpty && fraction.count <= 15 && fraction.allSatisfy { (0x30...0x39).contains($0) }
        }

        static func count(_ needle: [UInt8], in line: UnsafeBufferPointer<UInt8>) -> Int {
            var found = 0
            var start = 0
            while start < line.count,
                let at = FastFields.find(needle, in: UnsafeBufferPointer(rebasing: line[start...]))
            {
                found += 1
                start += at + needle.count
            }
            return found
        }

        static func lastIndex(of needle: [UInt8], in line: UnsafeBufferPointer<UInt8>) -> Int? {
            guard line.count >= needle.count else { return nil }
            var start = line.count - needle.count
            while start >= 0 {
                if line[start..<(start + needle.count)].elementsEqual(needle) { return start }
                start -= 1
            }
            return nil
        }
    }

    /// The four runs of a line's bytes around its time, request id and duration (a collection without an
    /// allocation: one is made for every failed line).
    struct Segments: RandomAccessCollection {
        /// Where the time, the request id and the duration start and end, and the line's length.
        let time: Int, timeEnd: Int, id: Int, idEnd: Int, duration: Int, durationEnd: Int, lineCount: Int

        init(time: Int, timeEnd: Int, id: Int, idEnd: Int, duration: Int, durationEnd: Int, lineCount: Int) {
            (self.time, self.timeEnd, self.id, self.idEnd) = (time, timeEnd, id, idEnd)
            (self.duration, self.durationEnd, self.lineCount) = (duration, durationEnd, lineCount)
        }

        var startIndex: Int { 0 }
        var endIndex: Int { 4 }

        subscript(position: Int) -> Range<Int> {
            switch position {
            case 0: 0..<time
            case 1: timeEnd..<id
            case 2: idEnd..<duration
            default: durationEnd..<lineCount
            }
        }
    }

    /// Whether a line has the server's plain layout (time first, request id second, duration last, each once and
    /// without escapes), the only lines a shape is kept for.
    package static func isPlain(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        Parts(line) != nil && Parts.isUnambiguous(line)
    }

    /// The failed request a line holds, when a line of the same shape was read before.
    func request(_ line: UnsafeBufferPointer<UInt8>, location: SourceLocation) -> (CapturedRequest?, Parts?) {
        guard let parts = Parts(line) else { return (nil, nil) }
        guard let template = kept(parts, line) else { return (nil, parts) }
        hits += 1
        var record = template.record
        record.time = parts.time
        record.requestId = parts.requestId
        record.durationMs = parts.durationMs
        var request = CapturedRequest(record: record, location: location)
        request.shape = template.id
        return (request, parts)
    }

    /// Keeps the record a line of `parts`' shape was read as in full, if its three values are the line's own;
    /// returns the shape's identifier.
    func keep(_ record: RequestRecord, _ parts: Parts, _ line: UnsafeBufferPointer<UInt8>) -> Int? {
        guard record.time == parts.time, record.requestId == parts.requestId, record.durationMs == parts.durationMs,
            Parts.isUnambiguous(line)
        else { return nil }
        if count >= Self.capacity {
            for index in buckets.indices where !buckets[index].isEmpty { buckets[index] = [] }
            count = 0
        }
        var shape: [UInt8] = []
        for segment in parts.segments { shape += line[segment] }
        nextID += 1
        count += 1
        buckets[parts.hash & (Self.bucketCount - 1)].append(
            Template(hash: parts.hash, shape: shape, record: record, id: nextID))
        return nextID
    }

    /// The kept shape of the line: the line's bytes around its three values equal to a kept
    /// shape's, byte for byte.
    private func kept(_ parts: Parts, _ line: UnsafeBufferPointer<UInt8>) -> Template? {
        guard let base = line.baseAddress else { return nil }
        let length = parts.segments.reduce(0) { $0 + $1.count }
        for candidate in buckets[parts.hash & (Self.bucketCount - 1)]
        where candidate.hash == parts.hash && candidate.shape.count == length {
            let same = candidate.shape.withUnsafeBufferPointer { shape -> Bool in
                var offset = 0
                for segment in parts.segments {
                    guard memcmp(shape.baseAddress! + offset, base + segment.lowerBound, segment.count) == 0 else {
                        return false
                    }
                    offset += segment.count
                }
                return true
            }
            if same { return candidate }
        }
        return nil
    }

    func verify(_ shared: CapturedRequest, fresh: CaptureItem?) {
        guard case .request(let request)? = fresh, request.record == shared.record, request.shape == nil else {
            disagreements.append("\(shared.location): the line read from its shape differs from the line read in full")
            return
        }
    }
}
