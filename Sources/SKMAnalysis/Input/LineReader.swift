import CAnalysisSupport
import Foundation
import SKMPrimitives

/// Reads a file, gzip-compressed or plain, or standard input (`-`), in large chunks and hands over its lines
/// without copying them.
package struct LineReader {
    /// Lines longer than this are reported and skipped, so that a file without newlines cannot exhaust memory.
    package static let maximumLineBytes = 8 << 20
    package static let chunkBytes = 1 << 20

    let path: String
    /// How much is read at a time: the size of a block of lines.
    let chunkBytes: Int
    private let file: gzFile
    /// The file's size in bytes (compressed, for a gzip file); `nil` for standard input and pipes.
    let size: Int?
    /// The most the file may hold once decompressed, or `nil` for no limit.
    let maximumBytes: Int?

    /// With `maximumExpansion`, a file that decompresses to more than that many times its own size (and 256 MB)
    /// is refused when it gets there: a gzip bomb, not a log.
    package init(path: String, chunkBytes: Int = Self.chunkBytes, maximumExpansion: Int? = nil) throws(InputError) {
        self.path = path
        self.chunkBytes = max(1, chunkBytes)
        let opened: gzFile?
        if path == "-" {
            opened = gzdopen(dup(STDIN_FILENO), "rb")
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw InputError(.missing, subject: path, "no such file")
            }
            guard !isDirectory.boolValue else { throw InputError(.unreadable, subject: path, "is a directory") }
            opened = gzopen(path, "rb")
        }
        guard let opened else {
            throw InputError(.unreadable, subject: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        file = opened
        // Reads of at least twice zlib's buffer go straight into the caller's: a plain file's bytes are then
        // copied once, from the kernel, instead of twice.
        gzbuffer(file, UInt32(max(8 << 10, min(256 << 10, self.chunkBytes / 4))))
        var info = stat()
        let size = path != "-" && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        self.size = size
        maximumBytes = maximumExpansion.map { max((size ?? 0) * $0, 256 << 20) }
    }

    /// How far into the file reading has come, in the same bytes as ``size``.
    var offset: Int { Int(gzoffset(file)) }

    package func close() {
        gzclose(file)
    }

    /// How a read ended.
    package enum Ending: Equatable {
        /// At the end of the file (of its last gzip stream).
        case complete
        /// In the middle of a gzip stream: the file was cut off after `lines` lines.
        case truncated(lines: Int)
    }

    /// What ``forEachBlock(_:)`` hands over.
    enum Block {
        /// Whole lines, each ended by a newline but perhaps the file's last; `first` is the first one's number.
        case lines(UnsafeBufferPointer<UInt8>, first: Int)
        /// A line longer than ``maximumLineBytes``, skipped: its number.
        case overlong(Int)
    }

    /// Calls `body` with each line (without its newline) and its 1-based number; an overlong line is passed as
    /// `nil` so that the caller can report it. Returns how the file ended.
    @discardableResult
    package func forEachLine(_ body: (UnsafeBufferPointer<UInt8>?, Int) -> Void) throws(InputError) -> Ending {
        try forEachBlock { block in
            switch block {
            case .overlong(let number): body(nil, number)
            case .lines(let lines, let first): Self.split(lines, first: first, body)
            }
        }
    }

    /// Calls `body` with each line of `lines` (a block of whole lines: each ends with a newline, but perhaps the
    /// last) and its number, counting from `first`.
    static func split(
        _ lines: UnsafeBufferPointer<UInt8>, first: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) -> Void
    ) {
        guard let base = lines.baseAddress else { return }
        var start = 0
        var number = first
        while start < lines.count {
            let end: Int
            if let newline = memchr(base + start, 0x0A, lines.count - start) {
                end = UnsafePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - base
            } else {
                end = lines.count
            }
            body(UnsafeBufferPointer(rebasing: lines[start..<end]), number)
            number += 1
            start = end + 1
        }
    }

    /// Calls `body` with the file's lines a buffer at a time (blocks of whole lines, in order) and each overlong
    /// line's number. The block's bytes are valid only during the call. Returns how the file ended.
    @discardableResult
    func forEachBlock(_ body: (Block) -> Void) throws(InputError) -> Ending {
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        var filled = 0
        var lineNumber = 0
        var skippingOverlong = false
        var total = 0
        var source = Source()
        while true {
            if filled == buffer.count {
                // One line fills the whole buffer: grow up to the limit, then give up on that line.
                if skippingOverlong {
                    filled = 0
                } else if buffer.count <= Self.maximumLineBytes {
                    // Up to a line of the maximum length and its newline.
                    let grown = min(buffer.count * 2, Self.maximumLineBytes + 1)
                    buffer.append(contentsOf: repeatElement(0, count: grown - buffer.count))
                } else {
                    lineNumber += 1
                    body(.overlong(lineNumber))
                    skippingOverlong = true
                    filled = 0
                }
            }
            let read = try buffer.withUnsafeMutableBytes { raw in
                Result { () throws(InputError) in
                    try source.read(from: self, into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
            }.get()
            let atEnd = read == 0
            filled += Int(read)
            total += Int(read)
            if let maximumBytes, total > maximumBytes {
                throw InputError(
                    .tooLarge, subject: path,
                    "decompresses to more than \(maximumBytes >> 20) MB, over \(maximumBytes / max(size ?? 1, 1)) times "
                        + "its size: not read further")
            }
            let consumed = buffer.withUnsafeBufferPointer { all -> Int in
                let base = all.baseAddress!
                var start = 0
                // The rest of an overlong line, up to its newline, is skipped.
                if skippingOverlong {
                    guard let newline = memchr(base, 0x0A, filled) else { return atEnd ? filled : 0 }
                    skippingOverlong = false
                    start = UnsafePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - base + 1
                }
                // Whole lines end at the last newline; at the end of the file, the rest is the last line.
                var end = start
                var count = 0
                while end < filled, let newline = memchr(base + end, 0x0A, filled - end) {
                    end = UnsafePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - base + 1
                    count += 1
                }
                if atEnd && end < filled {
                    end = filled
                    count += 1
                }
                guard count > 0 else { return start }
                body(.lines(UnsafeBufferPointer(rebasing: all[start..<end]), first: lineNumber + 1))
                lineNumber += count
                return end
            }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    memmove(base, base + consumed, filled - consumed)
                }
                filled -= consumed
            }
            if atEnd { break }
        }
        // zlib returns what it could inflate and then end of file; Z_BUF_ERROR says the stream stopped mid-way.
        var code: Int32 = 0
        _ = gzerror(file, &code)
        return code == Z_BUF_ERROR ? .truncated(lines: lineNumber) : .complete
    }

    /// Reads up to `count` bytes of the file, as zlib gives them (decompressed), into `destination`: how many it
    /// read, 0 at the end.
    fileprivate func readRaw(into destination: UnsafeMutableRawPointer, count: Int) throws(InputError) -> Int {
        let read = gzread(file, destination, UInt32(count))
        if read < 0 {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
            throw InputError(.unreadable, subject: path, "cannot read: \(message)")
        }
        return Int(read)
    }

    /// The file's text as UTF-8, whatever a byte order mark at its start says it is (``ByteOrderMark``): the mark
    /// is left out, and UTF-16 (as Windows PowerShell writes a redirected output) is transcoded as it is read. Text
    /// without a mark is read as it is, straight into the caller's buffer.
    private struct Source {
        private enum State {
            /// Nothing read yet.
            case start
            case utf8
            case utf16(UTF16Decoder)
        }

        private var state = State.start
        /// Text decoded but not handed over yet, from `pendingStart` on.
        private var pending: [UInt8] = []
        private var pendingStart = 0

        /// Fills as much of `destination` as it can: how many bytes it wrote, 0 only at the end of the file.
        mutating func read(
            from reader: LineReader, into destination: UnsafeMutableRawBufferPointer
        ) throws(InputError) -> Int {
            guard let base = destination.baseAddress, destination.count > 0 else { return 0 }
            while true {
                if pendingStart < pending.count {
                    let count = min(destination.count, pending.count - pendingStart)
                    pending.withUnsafeBytes { base.copyMemory(from: $0.baseAddress! + pendingStart, byteCount: count) }
                    pendingStart += count
                    if pendingStart == pending.count {
                        pending.removeAll(keepingCapacity: true)
                        pendingStart = 0
                    }
                    return count
                }
                switch state {
                case .utf8:
                    return try reader.readRaw(into: base, count: destination.count)
                case .start:
                    // The mark's three bytes may come in more than one read from a pipe.
                    let head = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 4096)
                    defer { head.deallocate() }
                    var count = 0
                    while count < 3 {
                        let read = try reader.readRaw(into: head.baseAddress! + count, count: head.count - count)
                        if read == 0 { break }
                        count += read
                    }
                    let bytes = UnsafeBufferPointer(rebasing: head[..<count])
                    let mark = ByteOrderMark.found(at: bytes)
                    if mark == .utf16LittleEndian || mark == .utf16BigEndian {
                        var decoder = UTF16Decoder(bigEndian: mark == .utf16BigEndian)
                        decoder.decode(UnsafeBufferPointer(rebasing: bytes[2...]), final: false, into: &pending)
                        state = .utf16(decoder)
                    } else {
                        pending = Array(bytes[(mark == .utf8 ? 3 : 0)...])
                        state = .utf8
                    }
                    if count == 0 { return 0 }
                case .utf16(var decoder):
                    let raw = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(4, destination.count))
                    defer { raw.deallocate() }
                    let read = try reader.readRaw(into: raw.baseAddress!, count: raw.count)
                    decoder.decode(UnsafeBufferPointer(rebasing: raw[..<read]), final: read == 0, into: &pending)
                    state = .utf16(decoder)
                    if read == 0 && pending.isEmpty { return 0 }
                }
            }
        }
    }
}
