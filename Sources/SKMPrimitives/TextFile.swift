import Foundation

/// The byte order mark (U+FEFF) that Windows tools write at the start of a text file, and the encoding it names.
/// Notepad and PowerShell's `Set-Content -Encoding UTF8` write UTF-8 after one; Windows PowerShell's `>` and
/// `Out-File` write UTF-16, little-endian, after one. It marks the encoding and is not part of the text.
/// Foundation's decoding of a file or data as UTF-8 drops a UTF-8 one; what reads the bytes themselves must.
package enum ByteOrderMark: Sendable, Equatable {
    case utf8
    case utf16LittleEndian
    case utf16BigEndian

    package static let utf8Bytes: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The mark `bytes` starts with, if any.
    package static func found(at bytes: some Collection<UInt8>) -> ByteOrderMark? {
        var iterator = bytes.makeIterator()
        switch (iterator.next(), iterator.next(), iterator.next()) {
        case (0xEF, 0xBB, 0xBF): return .utf8
        case (0xFF, 0xFE, _): return .utf16LittleEndian
        case (0xFE, 0xFF, _): return .utf16BigEndian
        default: return nil
        }
    }

    /// The text of `data` as UTF-8, without a mark: UTF-16 after its mark is transcoded (a code unit or surrogate
    /// that does not make a character becomes U+FFFD), and anything without a mark is taken as UTF-8, as it is.
    /// Without a mark, or after a UTF-8 one, it is `data` itself or a slice of it: a mapped file is not copied.
    package static func utf8Text(of data: Data) -> Data {
        switch found(at: data) {
        case nil: return data
        case .utf8: return data.dropFirst(3)
        case let mark?:
            var decoder = UTF16Decoder(bigEndian: mark == .utf16BigEndian)
            // Exact for ASCII, which logs and captures mostly are; other text grows it. Decoded a piece at a time,
            // so that no second copy of the whole text is made.
            var text = Data(capacity: data.count / 2)
            var piece: [UInt8] = []
            data.dropFirst(2).withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let bytes = raw.bindMemory(to: UInt8.self)
                var start = 0
                repeat {
                    let end = min(bytes.count, start + (1 << 16))
                    piece.removeAll(keepingCapacity: true)
                    decoder.decode(
                        UnsafeBufferPointer(rebasing: bytes[start..<end]), final: end == bytes.count, into: &piece)
                    text.append(contentsOf: piece)
                    start = end
                } while start < bytes.count
            }
            return text
        }
    }
}

/// Decodes UTF-16 bytes into UTF-8 a piece at a time, as they are read: a code unit or a surrogate pair split
/// between two pieces is completed by the next.
package struct UTF16Decoder: Sendable {
    let bigEndian: Bool
    /// The bytes of the last piece that did not make a whole character yet (at most three).
    private var held: [UInt8] = []

    package init(bigEndian: Bool) {
        self.bigEndian = bigEndian
    }

    /// Appends the UTF-8 of `bytes` (after those held from the last piece) to `output`. `final`: no piece follows,
    /// so an odd byte or a lone surrogate left at the end becomes U+FFFD.
    package mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, final: Bool, into output: inout [UInt8]) {
        var input = held
        input.append(contentsOf: bytes)
        held = []
        let count = input.count
        var index = 0
        func unit(at offset: Int) -> UInt32 {
            bigEndian
                ? UInt32(input[offset]) << 8 | UInt32(input[offset + 1])
                : UInt32(input[offset + 1]) << 8 | UInt32(input[offset])
        }
        while index + 1 < count {
            let first = unit(at: index)
            var scalar = first
            var width = 2
            if (0xD800...0xDBFF).contains(first) {
                guard index + 3 < count else { break }
                let second = unit(at: index + 2)
                if (0xDC00...0xDFFF).contains(second) {
                    scalar = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    width = 4
                } else {
                    scalar = 0xFFFD
                }
            } else if (0xDC00...0xDFFF).contains(first) {
                scalar = 0xFFFD
            }
            Self.append(scalar, to: &output)
            index += width
        }
        if index < count {
            if final {
                Self.append(0xFFFD, to: &output)
            } else {
                held = Array(input[index...])
            }
        }
    }

    private static func append(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}

extension String {
    /// The text's lines as a YAML reader counts them (libyaml's YAML 1.1), each without its line ending: a line
    /// ends at LF, CR LF, a CR alone, NEL (U+0085), or the line and paragraph separators (U+2028, U+2029). So the line
    /// a rule file's diagnostic names is the line it shows, however the file was saved. A text that ends with a line
    /// break has an empty last line, as `split(separator: "\n", omittingEmptySubsequences: false)` gives.
    ///
    /// `split(separator: "\n")` cannot do this: a carriage return and line feed together are one `Character`, which
    /// is not `"\n"`, so a Windows file would read as a single line.
    package var lines: [Substring] {
        var lines: [Substring] = []
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var index = start
        while index != scalars.endIndex {
            let scalar = scalars[index]
            var next = scalars.index(after: index)
            switch scalar {
            case "\r", "\n", "\u{85}", "\u{2028}", "\u{2029}":
                lines.append(Substring(scalars[start..<index]))
                if scalar == "\r", next != scalars.endIndex, scalars[next] == "\n" { next = scalars.index(after: next) }
                start = next
            default:
                break
            }
            index = next
        }
        lines.append(Substring(scalars[start...]))
        return lines
    }

    /// The text's first line without its line ending (LF or CR LF): the whole text when it has no line feed.
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
