/// Untrusted text made safe to show on a terminal or in a log line: control characters (C0, DEL, C1), line and
/// paragraph separators and bidirectional overrides become `\u{…}` escapes, so that a value cannot forge a line,
/// move the cursor or reorder what a reader sees.
public enum PrintableText {
    /// `text` with every such character escaped; `keepingLineBreaks` leaves `\n` and `\t` as they are (for messages
    /// of several lines the program writes itself).
    public static func escaped(_ text: String, keepingLineBreaks: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var output = ""
        output.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if needsEscape(scalar), !(keepingLineBreaks && (scalar == "\n" || scalar == "\t")) {
                output += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F, 0x80..<0xA0, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
