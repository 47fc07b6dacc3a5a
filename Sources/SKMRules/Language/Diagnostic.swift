import SKMPrimitives

/// A problem found in a rule file or an expression: where, what, and the line with a caret under the place.
package struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    package var file: String
    package var line: Int
    package var column: Int
    package var severity: Severity
    package var message: String
    /// The text of the offending line, when known.
    package var sourceLine: String?

    package init(
        file: String, line: Int, column: Int, severity: Severity = .error, message: String, sourceLine: String? = nil
    ) {
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message
        self.sourceLine = sourceLine
    }

    /// A diagnostic at `span` of `source`.
    package init(_ message: String, at span: Span, in source: Source, severity: Severity = .error) {
        let (line, column) = source.position(of: span.start)
        let fileText = source.fileText ?? source.text
        let lines = fileText.lines
        let text = line - 1 < lines.count && line >= 1 ? String(lines[line - 1]) : nil
        self.init(
            file: source.name, line: line, column: column, severity: severity, message: message, sourceLine: text)
    }

    /// `file:line:col: error: message`, then the source line and a caret under the column.
    package var description: String {
        // The file's name, the message (which may quote the file) and the source line are shown, not written: a
        // control character in them cannot forge a line or drive the terminal.
        func shown(_ text: String) -> String { PrintableText.escaped(text, uppercase: true) }
        var text = "\(shown(file)):\(line):\(column): \(severity.rawValue): \(shown(message))"
        if let sourceLine {
            let visible = sourceLine.replacingTabs
            let prefix = String(String.UnicodeScalarView(sourceLine.unicodeScalars.prefix(max(0, column - 1))))
                .replacingTabs
            text += "\n" + shown(visible)
            text += "\n" + String(repeating: " ", count: shown(prefix).count) + "^"
        }
        return text
    }
}

extension String {
    fileprivate var replacingTabs: String {
        unicodeScalars.map { $0 == "\t" ? "    " : String($0) }.joined()
    }
}

/// Every diagnostic of a failed load, in file order.
package struct Diagnostics: Error, Sendable, CustomStringConvertible {
    package var items: [Diagnostic]

    package init(_ items: [Diagnostic]) {
        self.items = items
    }

    package var errors: [Diagnostic] { items.filter { $0.severity == .error } }

    package var description: String {
        items.map(\.description).joined(separator: "\n")
            + "\n\(errors.count) error\(errors.count == 1 ? "" : "s")"
    }
}

/// "did you mean" for a misspelt name: the closest candidate within a small edit distance.
func suggestion(for name: String, among candidates: some Sequence<String>) -> String? {
    var best: (String, Int)?
    for candidate in candidates {
        let distance = editDistance(name.lowercased(), candidate.lowercased())
        if distance <= max(1, min(name.count, candidate.count) / 3), distance < (best?.1 ?? .max) {
            best = (candidate, distance)
        }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
