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
/// failure; any line it cannot read quickly is decoded in full.
package struct RequestLogReader: Sendable {
    /// Only the line of this request id, read in full whatever its outcome (for explaining one request): lines
    /// without the id's bytes are skipped unparsed.
    package var requestID: String?

    package init(requestID: String? = nil) {
        self.requestID = requestID
    }

    /// Reads `path` (`-` for standard input) and hands each item to `consume`, in order; `progress` hears how many
    /// bytes of how many were read, every 4,096 lines and at the end.
    package func read(
        _ path: String, consume: (CaptureItem) -> Void, progress: (_ read: Int, _ size: Int?) -> Void = { _, _ in }
    ) throws(InputError) {
        let reader = try LineReader(path: path)
        defer { reader.close() }
        let name = path == "-" ? "<stdin>" : path
        let marker = requestID.map { Array("\"requestId\":\"\($0)\"".utf8) }
        let ending = try reader.forEachLine { line, number in
            if number & 0xFFF == 0 { progress(reader.offset, reader.size) }
            guard let line else {
                consume(.problem(Self.overlong(SourceLocation(file: name, number: number))))
                return
            }
            if let marker, FastFields.find(marker, in: line) == nil { return }
            let location = SourceLocation(file: name, number: number)
            if let item = Self.item(line, location: location, full: marker != nil) { consume(item) }
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
        _ raw: UnsafeBufferPointer<UInt8>, location: SourceLocation, full: Bool = false, shapes: LineShapes? = nil
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
        if !full, let success = FastFields.success(line) { return .success(success) }
        var parts: LineShapes.Parts?
        if let shapes {
            let (request, found) = shapes.request(line, location: location)
            if let request {
                if shapes.verifying { shapes.verify(request, fresh: Self.item(raw, location: location, full: full)) }
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

/// Reads a few top-level string members of a compact log line straight from its bytes.
enum FastFields {
    static let successMarker = Array(#""isSuccessful":true"#.utf8)
    static let clientMarker = Array(#""client":{"#.utf8)
    static let timeKey = Array(#""time":""#.utf8)
    static let appkeyKey = Array(#""appkey":""#.utf8)
    static let keyIdKey = Array(#""keyId":""#.utf8)
    static let operationKey = Array(#""operation":""#.utf8)

    /// A successful request's observation, or `nil` when the line is not one the shortcut can read.
    static func success(_ line: UnsafeBufferPointer<UInt8>) -> SuccessObservation? {
        guard find(successMarker, in: line) != nil else { return nil }
        // The request's own members come before its client object; the query and body maps come after it.
        guard let clientAt = find(clientMarker, in: line) else { return nil }
        let head = UnsafeBufferPointer(rebasing: line[..<clientAt])
        guard case .found(let timeText)? = stringValue(timeKey, in: head), let time = Timestamp.parse(timeText) else {
            return nil
        }
        var observation = SuccessObservation(time: time, appkey: nil, keyId: nil, operation: nil)
        for (key, path) in [(appkeyKey, \SuccessObservation.appkey), (keyIdKey, \.keyId), (operationKey, \.operation)] {
            switch stringValue(key, in: head) {
            case .found(let text)?: observation[keyPath: path] = text
            case .escaped?: return nil
            case nil: break
            }
        }
        return observation
    }

    enum Lookup {
        case found(String)
        /// The value has escapes: leave it to the full decoder.
        case escaped
    }

    static func stringValue(_ key: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> Lookup? {
        guard let at = find(key, in: bytes) else { return nil }
        let start = at + key.count
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return .found(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
            case UInt8(ascii: "\\"):
                return .escaped
            default:
                index += 1
            }
        }
        return .escaped
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
