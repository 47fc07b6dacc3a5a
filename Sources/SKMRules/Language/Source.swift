/// Text with a name, for diagnostics that point at a line and column.
package struct Source: Sendable {
    package var name: String
    package var text: String
    /// Where `text` starts in the file it came from (1-based), so that an expression inside a YAML value is
    /// reported at its place in the file.
    package var line: Int
    package var column: Int
    /// The file's full text, to show the offending line; `text` when the expression is the whole file.
    package var fileText: String?
    /// The column where lines after the first start (a YAML block scalar's indentation).
    package var continuationColumn: Int

    package init(
        name: String = "<expression>", text: String, line: Int = 1, column: Int = 1, fileText: String? = nil,
        continuationColumn: Int = 1
    ) {
        self.name = name
        self.text = text
        self.line = line
        self.column = column
        self.fileText = fileText
        self.continuationColumn = continuationColumn
    }

    /// The file position of a UTF-8 offset into `text`.
    package func position(of offset: Int) -> (line: Int, column: Int) {
        var line = self.line
        var column = self.column
        var index = 0
        for scalar in text.unicodeScalars {
            if index >= offset { break }
            if scalar == "\n" {
                line += 1
                column = continuationColumn
            } else {
                column += 1
            }
            index += String(scalar).utf8.count
        }
        return (line, column)
    }
}

/// A byte range in a ``Source``.
package struct Span: Sendable, Hashable {
    package var start: Int
    package var end: Int

    package init(_ start: Int, _ end: Int) {
        self.start = start
        self.end = end
    }

    package static let none = Span(0, 0)
}
