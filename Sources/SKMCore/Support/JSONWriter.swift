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
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, to: &output)
        return output
    }

    package func write(_ value: JSONValue, to output: inout [UInt8]) {
        write(value, depth: 0, to: &output)
    }

    private func newline(_ depth: Int, _ output: inout [UInt8]) {
        guard indented else { return }
        output.append(0x0A)
        output.append(contentsOf: repeatElement(0x20, count: depth * 2))
    }

    private func write(_ value: JSONValue, depth: Int, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number): output.append(contentsOf: Self.format(number).utf8)
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

    package func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F: appendUnicodeEscape(UInt16(byte), to: &output)
            case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"):
                if escapesHTML { appendUnicodeEscape(UInt16(byte), to: &output) } else { output.append(byte) }
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private func appendUnicodeEscape(_ unit: UInt16, to output: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        output.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        output.append(hex[Int(unit >> 12 & 0xF)])
        output.append(hex[Int(unit >> 8 & 0xF)])
        output.append(hex[Int(unit >> 4 & 0xF)])
        output.append(hex[Int(unit & 0xF)])
    }
}

extension JSONValue: CustomStringConvertible {
    package var description: String { JSONWriter().string(self) }
}
