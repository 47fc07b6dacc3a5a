/// Untrusted text made safe to show on a terminal, in a log line or on a page: control characters (C0, DEL, C1),
/// line and paragraph separators, bidirectional controls, and characters that show as nothing or as a plain space
/// (zero-width characters, the byte-order mark, the soft hyphen, non-breaking and other Unicode spaces) become
/// `\u{…}` escapes, so that a value cannot forge a line, move the cursor, reorder what a reader sees, or hide.
///
/// The one definition for every output: operator logs, terminal reports, HTML.
package enum PrintableText {
    /// `text` with every such character escaped; `keepingLineBreaks` leaves `\n` and `\t` as they are (for messages
    /// of several lines the program writes itself); `uppercase` writes the hexadecimal digits in upper case.
    package static func escaped(_ text: String, keepingLineBreaks: Bool = false, uppercase: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var output = ""
        output.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if needsEscape(scalar), !(keepingLineBreaks && (scalar == "\n" || scalar == "\t")) {
                output += "\\u{\(String(scalar.value, radix: 16, uppercase: uppercase))}"
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    package static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        // Controls, and the line and paragraph separators.
        case 0..<0x20, 0x7F, 0x80..<0xA0, 0x2028, 0x2029: return true
        // Bidirectional controls.
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        // What shows as nothing or as a plain space: zero-width characters, word joiner and invisible operators,
        // the byte-order mark, the soft hyphen, and the Unicode spaces other than the ASCII one.
        case 0x200B...0x200D, 0x2060...0x2064, 0xFEFF, 0x00AD: return true
        case 0x00A0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }
}
