import Foundation

/// The UTF-8 byte order mark (U+FEFF) that some Windows tools write at the start of a text file: Notepad, and
/// PowerShell's `Out-File` and `Set-Content -Encoding UTF8`. It marks the encoding and is not part of the text.
/// Foundation's decoding of a file or data as UTF-8 drops it; what reads the bytes themselves must.
package enum ByteOrderMark {
    package static let utf8: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `data` without a byte order mark at its start.
    package static func dropped(from data: Data) -> Data {
        data.starts(with: utf8) ? Data(data.dropFirst(utf8.count)) : data
    }

    /// How many bytes of a byte order mark `bytes` starts with: 3, or 0.
    package static func length(at bytes: UnsafeBufferPointer<UInt8>) -> Int {
        bytes.starts(with: utf8) ? utf8.count : 0
    }
}

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
