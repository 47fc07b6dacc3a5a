import SKMPrimitives

/// Serialises ``JSONValue`` to compact or indented UTF-8, member order preserved.
package struct JSONWriter: Sendable {
    package var indented: Bool
    /// Escape `<`, `>` and `&` as `\u003c`…, so that the output can sit inside an HTML `<script>` element.
    package var escapesHTML: Bool

    package init(indented: Bool = false, escapesHTML: Bool = false) {
        self.indented = indented
        self.escapesHTML = escapesHTML
    }

    package func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    package func bytes(_ value: JSONValue) -> [UInt8] {
        var output = ByteWriter(capacity: 256)
        write(value, to: &output)
        return output.finish()
    }

    package func write(_ value: JSONValue, to output: inout ByteWriter) {
        write(value, depth: 0, to: &output)
    }

    private func newline(_ depth: Int, _ output: inout ByteWriter) {
        guard indented else { return }
        output.append(0x0A)
        for _ in 0..<depth * 2 { output.append(0x20) }
    }

    private func write(_ value: JSONValue, depth: Int, to output: inout ByteWriter) {
        switch value {
        case .null: output.append("null")
        case .bool(let flag): output.append(flag ? "true" : "false")
        case .int(let number): output.append(decimal: number)
        case .double(let number): output.append(utf8: Self.format(number))
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth + 1, &output)
                write(element, depth: depth + 1, to: &output)
            }
            if !elements.isEmpty { newline(depth, &output) }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (offset, member) in object.members.enumerated() {
                if offset > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth + 1, &output)
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                if indented { output.append(0x20) }
                write(member.value, depth: depth + 1, to: &output)
            }
            if !object.isEmpty { newline(depth, &output) }
            output.append(UInt8(ascii: "}"))
        }
    }

    package static func format(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number.rounded() == number && abs(number) < 1e15 {
            return String(Int(number)) + ".0"
        }
        return String(number)
    }

    package func writeString(_ text: String, to output: inout ByteWriter) {
        output.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            // Runs of bytes that need no escape are copied at once. The scan skips eight bytes at a time while none
            // of them needs one (an identifier, a time, Base64), and looks byte by byte only near one that does.
            var start = 0
            var index = 0
            while index < bytes.count {
                if index + 8 <= bytes.count,
                    !wordNeedsEscape(UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self))
                {
                    index += 8
                    continue
                }
                if needsEscape(bytes[index]) {
                    output.append(UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    appendEscaped(bytes[index], to: &output)
                    start = index + 1
                }
                index += 1
            }
            output.append(UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Whether any of the eight bytes in `word` needs an escape (``needsEscape(_:)`` of each, all at once): a byte
    /// under 0x20, or one equal to a byte that is escaped. Each test is exact for "any byte" (a borrow only ever
    /// starts at a byte that matches).
    @inline(__always)
    private func wordNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highs != 0 }
        @inline(__always) func has(_ byte: UInt8) -> Bool { hasZeroByte(word ^ (ones &* UInt64(byte))) }
        if (word &- ones &* 0x20) & ~word & highs != 0 { return true }
        if has(UInt8(ascii: "\"")) || has(UInt8(ascii: "\\")) || has(0x7F) { return true }
        return escapesHTML && (has(UInt8(ascii: "<")) || has(UInt8(ascii: ">")) || has(UInt8(ascii: "&")))
    }

    @inline(__always)
    private func needsEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0..<0x20, 0x7F: return true
        case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"): return escapesHTML
        default: return false
        }
    }

    private func appendEscaped(_ byte: UInt8, to output: inout ByteWriter) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            output.append(0x5C)
            output.append(byte)
        case 0x0A:
            output.append(0x5C)
            output.append(UInt8(ascii: "n"))
        case 0x0D:
            output.append(0x5C)
            output.append(UInt8(ascii: "r"))
        case 0x09:
            output.append(0x5C)
            output.append(UInt8(ascii: "t"))
        default:
            appendUnicodeEscape(UInt16(byte), to: &output)
        }
    }

    private func appendUnicodeEscape(_ unit: UInt16, to output: inout ByteWriter) {
        let hex: StaticString = "0123456789abcdef"
        output.append(0x5C)
        output.append(UInt8(ascii: "u"))
        for shift in [12, 8, 4, 0] as [UInt16] {
            output.append(hex.utf8Start[Int(unit >> shift & 0xF)])
        }
    }
}

extension JSONValue: CustomStringConvertible {
    package var description: String { JSONWriter().string(self) }
}
