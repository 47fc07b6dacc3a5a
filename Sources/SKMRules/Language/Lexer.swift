/// Tokens of the condition language (CEL's lexical grammar).
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case int(UInt64)
        case double(Double)
        case string(String)
        case identifier(String)
        case reserved(String)
        /// A literal the language leaves out (`1u`, `b'…'`), kept for a clean "unsupported" diagnostic.
        case unsupported(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    var span: Span
}

/// A lexical or syntax error.
struct SyntaxError: Error {
    var message: String
    var span: Span
}

/// Splits CEL source into tokens.
struct Lexer {
    static let reservedWords: Set<String> = [
        "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package",
        "namespace", "return", "var", "void", "while",
    ]
    static let keywords: Set<String> = ["true", "false", "null", "in"]

    let bytes: [UInt8]
    var index = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    mutating func tokens() throws(SyntaxError) -> [Token] {
        var result: [Token] = []
        while true {
            let token = try next()
            result.append(token)
            if case .end = token.kind { return result }
        }
    }

    func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    mutating func skipSpaceAndComments() {
        while let byte = peek() {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
                index += 1
            } else if byte == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                while let next = peek(), next != 0x0A { index += 1 }
            } else {
                return
            }
        }
    }

    static func isIdentifierStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "_") || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    mutating func next() throws(SyntaxError) -> Token {
        skipSpaceAndComments()
        let start = index
        guard let byte = peek() else { return Token(kind: .end, span: Span(start, start)) }

        // String and bytes literals, with their prefixes.
        if let quoted = try stringLiteral() { return quoted }

        if Self.isIdentifierStart(byte) {
            while let next = peek(), Self.isIdentifierStart(next) || Self.isDigit(next) { index += 1 }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            let span = Span(start, index)
            if Self.reservedWords.contains(word) { return Token(kind: .reserved(word), span: span) }
            return Token(kind: .identifier(word), span: span)
        }

        if Self.isDigit(byte) || (byte == UInt8(ascii: ".") && peek(1).map(Self.isDigit) == true) {
            return try number(start: start)
        }

        let two = peek(1).map { String(decoding: [byte, $0], as: UTF8.self) } ?? ""
        if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) {
            index += 2
            return Token(kind: .symbol(two), span: Span(start, index))
        }
        let single = String(decoding: [byte], as: UTF8.self)
        if "()[]{}.,:?!-+*/%<>".contains(single) {
            index += 1
            return Token(kind: .symbol(single), span: Span(start, index))
        }
        if byte == UInt8(ascii: "=") {
            throw SyntaxError(message: "unexpected '='; use '==' to compare", span: Span(start, start + 1))
        }
        if byte == UInt8(ascii: "&") || byte == UInt8(ascii: "|") {
            throw SyntaxError(
                message: "unexpected '\(single)'; use '\(single)\(single)'", span: Span(start, start + 1))
        }
        let shown = byte < 0x80 && byte >= 0x20 ? "'\(single)'" : "byte 0x\(String(byte, radix: 16))"
        throw SyntaxError(message: "unexpected character \(shown)", span: Span(start, start + 1))
    }

    mutating func number(start: Int) throws(SyntaxError) -> Token {
        if peek() == UInt8(ascii: "0"), peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X") {
            index += 2
            let digitsStart = index
            while let next = peek(), Self.isHexDigit(next) { index += 1 }
            guard index > digitsStart else {
                throw SyntaxError(message: "hexadecimal literal without digits", span: Span(start, index))
            }
            let text = String(decoding: bytes[digitsStart..<index], as: UTF8.self)
            if let suffix = peek(), suffix == UInt8(ascii: "u") || suffix == UInt8(ascii: "U") {
                index += 1
                return Token(kind: .unsupported("uint literal"), span: Span(start, index))
            }
            guard let value = UInt64(text, radix: 16) else {
                throw SyntaxError(message: "integer literal out of range", span: Span(start, index))
            }
            return Token(kind: .int(value), span: Span(start, index))
        }
        var isDouble = false
        while let next = peek(), Self.isDigit(next) { index += 1 }
        if peek() == UInt8(ascii: "."), peek(1).map(Self.isDigit) == true {
            isDouble = true
            index += 1
            while let next = peek(), Self.isDigit(next) { index += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            var look = 1
            if let sign = peek(1), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { look = 2 }
            if peek(look).map(Self.isDigit) == true {
                isDouble = true
                index += look
                while let next = peek(), Self.isDigit(next) { index += 1 }
            }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isDouble {
            guard let value = Double(text) else {
                throw SyntaxError(message: "malformed floating-point literal", span: Span(start, index))
            }
            return Token(kind: .double(value), span: Span(start, index))
        }
        if let suffix = peek(), suffix == UInt8(ascii: "u") || suffix == UInt8(ascii: "U") {
            index += 1
            return Token(kind: .unsupported("uint literal"), span: Span(start, index))
        }
        guard let value = UInt64(text) else {
            throw SyntaxError(message: "integer literal out of range", span: Span(start, index))
        }
        return Token(kind: .int(value), span: Span(start, index))
    }

    /// A string or bytes literal at the current position, or `nil` when there is none.
    mutating func stringLiteral() throws(SyntaxError) -> Token? {
        let start = index
        var raw = false
        var isBytes = false
        var cursor = index
        for _ in 0..<2 {
            guard cursor < bytes.count else { break }
            let byte = bytes[cursor]
            if (byte == UInt8(ascii: "r") || byte == UInt8(ascii: "R")) && !raw {
                raw = true
                cursor += 1
            } else if (byte == UInt8(ascii: "b") || byte == UInt8(ascii: "B")) && !isBytes {
                isBytes = true
                cursor += 1
            } else {
                break
            }
        }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "'") || bytes[cursor] == UInt8(ascii: "\"") else {
            return nil
        }
        let quote = bytes[cursor]
        let triple = cursor + 2 < bytes.count && bytes[cursor + 1] == quote && bytes[cursor + 2] == quote
        index = cursor + (triple ? 3 : 1)
        var output: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw SyntaxError(message: "unterminated string literal", span: Span(start, index))
            }
            if byte == quote {
                if !triple {
                    index += 1
                    break
                }
                if peek(1) == quote && peek(2) == quote {
                    index += 3
                    break
                }
                output.append(byte)
                index += 1
                continue
            }
            if !triple && (byte == 0x0A || byte == 0x0D) {
                throw SyntaxError(message: "newline in a single-quoted string literal", span: Span(start, index))
            }
            if byte == UInt8(ascii: "\\") && !raw {
                try escape(into: &output, isBytes: isBytes)
                continue
            }
            output.append(byte)
            index += 1
        }
        let span = Span(start, index)
        if isBytes { return Token(kind: .unsupported("bytes literal"), span: span) }
        guard let text = String(validating: output, as: UTF8.self) else {
            throw SyntaxError(message: "string literal is not valid UTF-8", span: span)
        }
        return Token(kind: .string(text), span: span)
    }

    mutating func escape(into output: inout [UInt8], isBytes: Bool) throws(SyntaxError) {
        let start = index
        index += 1
        guard let byte = peek() else {
            throw SyntaxError(message: "unterminated escape sequence", span: Span(start, index))
        }
        index += 1
        func append(_ scalar: UInt32) throws(SyntaxError) {
            guard let unicode = Unicode.Scalar(scalar) else {
                throw SyntaxError(message: "invalid Unicode code point in escape sequence", span: Span(start, index))
            }
            output.append(contentsOf: Array(String(Character(unicode)).utf8))
        }
        func hex(_ count: Int) throws(SyntaxError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let digit = peek(), Self.isHexDigit(digit) else {
                    throw SyntaxError(message: "malformed escape sequence", span: Span(start, index))
                }
                value = value * 16 + UInt32(Int(String(UnicodeScalar(digit)), radix: 16)!)
                index += 1
            }
            return value
        }
        switch byte {
        case UInt8(ascii: "a"): output.append(0x07)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "v"): output.append(0x0B)
        case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"), UInt8(ascii: "?"):
            output.append(byte)
        case UInt8(ascii: "x"), UInt8(ascii: "X"):
            let value = try hex(2)
            if isBytes { output.append(UInt8(value)) } else { try append(value) }
        case UInt8(ascii: "u"):
            let value = try hex(4)
            if (0xD800...0xDFFF).contains(value) {
                throw SyntaxError(message: "surrogate code point in \\u escape", span: Span(start, index))
            }
            try append(value)
        case UInt8(ascii: "U"):
            let value = try hex(8)
            if (0xD800...0xDFFF).contains(value) || value > 0x10FFFF {
                throw SyntaxError(message: "invalid code point in \\U escape", span: Span(start, index))
            }
            try append(value)
        case UInt8(ascii: "0")...UInt8(ascii: "3"):
            var value = UInt32(byte - UInt8(ascii: "0"))
            for _ in 0..<2 {
                guard let digit = peek(), digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else {
                    throw SyntaxError(message: "malformed octal escape", span: Span(start, index))
                }
                value = value * 8 + UInt32(digit - UInt8(ascii: "0"))
                index += 1
            }
            if isBytes { output.append(UInt8(value)) } else { try append(value) }
        default:
            throw SyntaxError(
                message: "unknown escape sequence '\\\(Character(Unicode.Scalar(byte)))'", span: Span(start, index))
        }
    }
}
