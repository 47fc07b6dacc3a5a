import SKMPrimitives

/// A strict RFC 8259 JSON parser over UTF-8 bytes that reports where the input went wrong.
///
/// Used for request bodies, request-log lines and snapshots. It bounds nesting depth so that hostile input cannot
/// exhaust the stack, and it can either refuse or repair invalid UTF-8 inside strings.
package struct JSONParser: Sendable {
    /// How invalid UTF-8 inside a string is treated.
    package enum InvalidUTF8: Sendable {
        /// Reject the document.
        case reject
        /// Replace each invalid sequence with U+FFFD and carry on.
        case replace
    }

    package var maximumDepth: Int
    package var invalidUTF8: InvalidUTF8

    package init(maximumDepth: Int = 64, invalidUTF8: InvalidUTF8 = .reject) {
        self.maximumDepth = maximumDepth
        self.invalidUTF8 = invalidUTF8
    }

    package func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    package func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer throws(JSONError) in try parse(buffer) }
    }

    package func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSONValue {
        var reader = Reader(bytes: buffer, maximumDepth: maximumDepth, invalidUTF8: invalidUTF8)
        reader.skipWhitespace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        guard reader.index == buffer.count else {
            throw reader.failure("unexpected \(reader.describeCurrent()) after the JSON value")
        }
        return value
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    let invalidUTF8: JSONParser.InvalidUTF8
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int, invalidUTF8: JSONParser.InvalidUTF8) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.invalidUTF8 = invalidUTF8
    }

    func failure(
        _ message: String, at offset: Int? = nil, code: JSONError.Code = .syntax, file: String = #fileID,
        line sourceLine: UInt = #line
    ) -> JSONError {
        let offset = min(offset ?? index, bytes.count)
        var line = 1
        var lineStart = 0
        for position in 0..<offset where bytes[position] == 0x0A {
            line += 1
            lineStart = position + 1
        }
        return JSONError(
            code, message, at: .init(offset: offset, line: line, column: offset - lineStart + 1), file: file,
            line: sourceLine)
    }

    func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func readValue(depth: Int) throws(JSONError) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of input, expected a value", code: .truncated) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject(depth: depth + 1)
        case UInt8(ascii: "["): return try readArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw failure("unexpected \(describeCurrent()), expected a value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw failure("invalid literal", at: start) }
        let pointer = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != pointer[offset] {
            throw failure("invalid literal", at: start)
        }
        index += count
    }

    mutating func readObject(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maximumDepth else { throw failure("nesting deeper than \(maximumDepth) levels", code: .tooDeep) }
        index += 1
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure("unexpected \(describeCurrent()), expected a member name in double quotes")
            }
            let key = try readString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw failure("unexpected \(describeCurrent()), expected ':' after member name")
            }
            index += 1
            skipWhitespace()
            let value = try readValue(depth: depth)
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard index < bytes.count else {
                throw failure("unexpected end of input inside an object", code: .truncated)
            }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(JSONObject(members))
            }
            throw failure("unexpected \(describeCurrent()), expected ',' or '}'")
        }
    }

    mutating func readArray(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maximumDepth else { throw failure("nesting deeper than \(maximumDepth) levels", code: .tooDeep) }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try readValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else {
                throw failure("unexpected end of input inside an array", code: .truncated)
            }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw failure("unexpected \(describeCurrent()), expected ',' or ']'")
        }
    }

    mutating func readNumber() throws(JSONError) -> JSONValue {
        let start = index
        let isInteger: Bool
        switch JSONNumberGrammar.scan(bytes, at: start) {
        case .number(let end, let integer): (index, isInteger) = (end, integer)
        case .invalid: throw failure("invalid number", at: start)
        case .leadingZero: throw failure("leading zeros are not allowed", at: start)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let value = Int(text) { return .int(value) }
        guard let value = Double(text), value.isFinite else { throw failure("number out of range", at: start) }
        return .double(value)
    }

    mutating func readString() throws(JSONError) -> String {
        let start = index
        index += 1
        // Fast path: no escapes and plain ASCII or valid UTF-8 up to the closing quote.
        var scan = index
        var sawEscapeOrHighBit = false
        while scan < bytes.count {
            let byte = bytes[scan]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") || byte >= 0x80 {
                sawEscapeOrHighBit = true
                break
            }
            if byte < 0x20 { throw failure("unescaped control character in a string", at: scan) }
            scan += 1
        }
        if !sawEscapeOrHighBit {
            guard scan < bytes.count else { throw failure("unterminated string", at: start, code: .truncated) }
            let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<scan]), as: UTF8.self)
            index = scan + 1
            return value
        }
        var output: [UInt8] = []
        output.reserveCapacity(scan - index + 16)
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<scan]))
        index = scan
        while true {
            guard index < bytes.count else { throw failure("unterminated string", at: start, code: .truncated) }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: output, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                try readEscape(into: &output)
            case 0..<0x20:
                throw failure("unescaped control character in a string")
            case 0..<0x80:
                output.append(byte)
                index += 1
            default:
                let length = validUTF8SequenceLength(at: index)
                if length > 0 {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
                    index += length
                } else if invalidUTF8 == .replace {
                    output.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    index += 1
                } else {
                    throw failure("invalid UTF-8 in a string", code: .encoding)
                }
            }
        }
    }

    mutating func readEscape(into output: inout [UInt8]) throws(JSONError) {
        guard index < bytes.count else { throw failure("unterminated escape sequence") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): output.append(0x22)
        case UInt8(ascii: "\\"): output.append(0x5C)
        case UInt8(ascii: "/"): output.append(0x2F)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                    index += 2
                    let low = try readHex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if invalidUTF8 == .replace {
                        appendScalar(0xFFFD, to: &output)
                        scalar = (0xD800...0xDFFF).contains(low) ? 0xFFFD : low
                    } else {
                        throw failure("unpaired surrogate in \\u escape", code: .encoding)
                    }
                } else if invalidUTF8 == .replace {
                    scalar = 0xFFFD
                } else {
                    throw failure("unpaired surrogate in \\u escape", code: .encoding)
                }
            } else if (0xDC00...0xDFFF).contains(scalar) {
                guard invalidUTF8 == .replace else {
                    throw failure("unpaired surrogate in \\u escape", code: .encoding)
                }
                scalar = 0xFFFD
            }
            appendScalar(scalar, to: &output)
        default:
            throw failure("invalid escape sequence '\\\(Character(Unicode.Scalar(byte)))'", at: index - 2)
        }
    }

    mutating func readHex4() throws(JSONError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    func appendScalar(_ value: UInt32, to output: inout [UInt8]) {
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        UTF8.encode(scalar) { output.append($0) }
    }

    /// The length of the valid UTF-8 sequence starting at `position`, or 0 when it is invalid.
    func validUTF8SequenceLength(at position: Int) -> Int {
        let first = bytes[position]
        let length: Int
        let minimum: UInt32
        switch first {
        case 0xC2...0xDF: length = 2; minimum = 0x80
        case 0xE0...0xEF: length = 3; minimum = 0x800
        case 0xF0...0xF4: length = 4; minimum = 0x10000
        default: return 0
        }
        guard position + length <= bytes.count else { return 0 }
        var value = UInt32(first) & (0xFF >> (length + 1))
        for offset in 1..<length {
            let next = bytes[position + offset]
            guard next & 0xC0 == 0x80 else { return 0 }
            value = value << 6 | UInt32(next & 0x3F)
        }
        guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { return 0 }
        return length
    }
}

/// Where and why a text is not JSON. The position is in the input (1-based line and column; the column counts bytes);
/// ``file`` and ``line`` are where in SKM the error was raised.
package struct JSONError: CodedError, Sendable {
    package enum Code: String, ErrorCode {
        /// Not JSON's grammar.
        case syntax
        /// The input ends inside a value.
        case truncated
        /// Nested deeper than the parser allows.
        case tooDeep
        /// Invalid UTF-8, or a lone surrogate.
        case encoding
    }

    package struct Position: Sendable, Hashable {
        package var offset: Int
        package var line: Int
        package var column: Int
    }

    package var code: Code
    package var reason: String
    package var position: Position
    package var file: String
    package var line: UInt

    package init(_ code: Code, _ reason: String, at position: Position, file: String = #fileID, line: UInt = #line) {
        (self.code, self.reason, self.position, self.file, self.line) = (code, reason, position, file, line)
    }

    package var description: String { "line \(position.line), column \(position.column): \(reason)" }
}

/// JSON's number grammar (RFC 8259, section 6), for every reader of JSON bytes: the parser, and the log reader's
/// scan that counts successful lines without parsing them.
package enum JSONNumberGrammar {
    package enum Scan: Equatable {
        /// A number ends at `end`; `isInteger` when it has neither a fraction nor an exponent.
        case number(end: Int, isInteger: Bool)
        case invalid
        /// `0` followed by a digit.
        case leadingZero
    }

    /// The number that starts at `start` (a `-` or a digit).
    @inline(__always)
    package static func scan(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Scan {
        @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
        var index = start
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { return .invalid }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { return .leadingZero }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { return .invalid }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { return .invalid }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return .number(end: index, isInteger: isInteger)
    }
}
