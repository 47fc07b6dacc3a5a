extension String {
    /// The text's lines, each without its line ending: a line ends at a line feed, and a carriage return just before
    /// it belongs to the ending (a file written on Windows reads as one written on Unix). A text that ends with a line
    /// break has an empty last line, as `split(separator: "\n", omittingEmptySubsequences: false)` gives.
    ///
    /// `split(separator: "\n")` cannot do this: a carriage return and line feed together are one `Character`, which
    /// is not `"\n"`, so a Windows file would read as a single line.
    package var lines: [Substring] {
        var lines: [Substring] = []
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var index = start
        var previous: Unicode.Scalar?
        while index != scalars.endIndex {
            let scalar = scalars[index]
            if scalar == "\n" {
                let end = previous == "\r" ? scalars.index(before: index) : index
                lines.append(Substring(scalars[start..<end]))
                start = scalars.index(after: index)
            }
            previous = scalar
            index = scalars.index(after: index)
        }
        lines.append(Substring(scalars[start...]))
        return lines
    }

    /// The text's first line without its line ending (``lines``): the whole text when it has no line feed.
    package var firstLine: Substring {
        let scalars = unicodeScalars
        guard let feed = scalars.firstIndex(of: "\n") else { return self[...] }
        var end = feed
        if end > scalars.startIndex, scalars[scalars.index(before: end)] == "\r" { end = scalars.index(before: end) }
        return Substring(scalars[..<end])
    }

    /// The text without the line breaks at its end: every line feed and carriage return, scalar by scalar.
    package var trimmingTrailingLineBreaks: Substring {
        let scalars = unicodeScalars
        var end = scalars.endIndex
        while end > scalars.startIndex {
            let before = scalars.index(before: end)
            guard scalars[before] == "\n" || scalars[before] == "\r" else { break }
            end = before
        }
        return Substring(scalars[..<end])
    }
}
