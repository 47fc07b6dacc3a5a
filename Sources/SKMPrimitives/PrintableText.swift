/// Untrusted text made safe to show on a terminal, in a log line or on a page: control characters (C0, DEL, C1),
/// line and paragraph separators, bidirectional controls, and characters that show as nothing or as a plain space
/// (zero-width characters, the byte-order mark, the soft hyphen, non-breaking and other Unicode spaces) become
/// `\u{…}` escapes, so that a value cannot forge a line, move the cursor, reorder what a reader sees, or hide. A
/// backslash that begins the text `\u{` is doubled, so that text cannot pass for an escape.
///
/// The one definition for every output: operator logs, terminal reports, HTML.
package enum PrintableText {
    /// `text` with every such character escaped; `keepingLineBreaks` leaves `\n` and `\t` as they are (for messages
    /// of several lines the program writes itself); `uppercase` writes the hexadecimal digits in upper case.
    package static func escaped(_ text: String, keepingLineBreaks: Bool = false, uppercase: Bool = false) -> String {
        // Printable ASCII without a backslash, the common case, is shown as it is.
        if text.utf8AllSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) { return text }
        let scalars = Array(text.unicodeScalars)
        guard scalars.indices.contains(where: { needsEscape(scalars[$0]) || startsLiteralEscape(scalars, at: $0) })
        else { return text }
        var output = ""
        output.reserveCapacity(text.utf8.count + 16)
        for (index, scalar) in scalars.enumerated() {
            if needsEscape(scalar), !(keepingLineBreaks && (scalar == "\n" || scalar == "\t")) {
                output += "\\u{\(String(scalar.value, radix: 16, uppercase: uppercase))}"
            } else if startsLiteralEscape(scalars, at: index) {
                // Text that reads like an escape is marked, so that it cannot pass for an escaped character.
                output += "\\\\"
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// Whether a backslash at `index` begins the text `\u{`, which would read like one of the escapes above.
    static func startsLiteralEscape(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        scalars[index] == "\\" && index + 2 < scalars.count && scalars[index + 1] == "u" && scalars[index + 2] == "{"
    }

    package static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        // Printable ASCII, the common case.
        case 0x20..<0x7F: return false
        // Controls, and the line and paragraph separators.
        case 0..<0x20, 0x7F, 0x80..<0xA0, 0x2028, 0x2029: return true
        // Bidirectional controls.
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        // Blank-looking letters and symbols that are neither format characters nor default-ignorable: the Hangul
        // fillers and the blank Braille pattern.
        case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800: return true
        default:
            // What shows as nothing or as a plain space: format characters (zero-width characters, the byte-order
            // mark, the soft hyphen, invisible operators, tag characters, prepended number signs), every
            // default-ignorable code point (variation selectors, fillers), and the Unicode spaces other than ASCII's.
            let properties = scalar.properties
            return properties.generalCategory == .format || properties.isDefaultIgnorableCodePoint
                || properties.generalCategory == .spaceSeparator
        }
    }
}
