import CAnalysisSupport
import Foundation

/// Reads a file, gzip-compressed or plain, or standard input (`-`), in large chunks and hands over its lines
/// without copying them.
struct LineReader {
    /// Lines longer than this are reported and skipped, so that a file without newlines cannot exhaust memory.
    static let maximumLineBytes = 8 << 20
    static let chunkBytes = 4 << 20

    let path: String
    private let file: gzFile
    /// The file's size in bytes (compressed, for a gzip file); `nil` for standard input and pipes.
    let size: Int?

    init(path: String) throws(InputError) {
        self.path = path
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
        gzbuffer(file, 1 << 20)
        var info = stat()
        size = path != "-" && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
    }

    /// How far into the file reading has come, in the same bytes as ``size``.
    var offset: Int { Int(gzoffset(file)) }

    func close() {
        gzclose(file)
    }

    /// How a read ended.
    enum Ending: Equatable {
        /// At the end of the file (of its last gzip stream).
        case complete
        /// In the middle of a gzip stream: the file was cut off after `lines` lines.
        case truncated(lines: Int)
    }

    /// Calls `body` with each line (without its newline) and its 1-based number; an overlong line is passed as
    /// `nil` so that the caller can report it. Returns how the file ended.
    @discardableResult
    func forEachLine(_ body: (UnsafeBufferPointer<UInt8>?, Int) -> Void) throws(InputError) -> Ending {
        var buffer = [UInt8](repeating: 0, count: Self.chunkBytes)
        var filled = 0
        var lineNumber = 0
        var skippingOverlong = false
        while true {
            if filled == buffer.count {
                // One line fills the whole buffer: grow up to the limit, then give up on that line.
                if skippingOverlong {
                    filled = 0
                } else if buffer.count < Self.maximumLineBytes {
                    buffer.append(contentsOf: repeatElement(0, count: buffer.count))
                } else {
                    lineNumber += 1
                    body(nil, lineNumber)
                    skippingOverlong = true
                    filled = 0
                }
            }
            let read = buffer.withUnsafeMutableBytes { raw in
                gzread(file, raw.baseAddress! + filled, UInt32(raw.count - filled))
            }
            if read < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw InputError(.unreadable, subject: path, "cannot read: \(message)")
            }
            let atEnd = read == 0
            filled += Int(read)
            let consumed = buffer.withUnsafeBufferPointer { all -> Int in
                var start = 0
                let base = all.baseAddress!
                while start < filled {
                    guard let newline = memchr(base + start, 0x0A, filled - start) else { break }
                    let end = UnsafePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - base
                    if skippingOverlong {
                        skippingOverlong = false
                    } else {
                        lineNumber += 1
                        body(UnsafeBufferPointer(rebasing: all[start..<end]), lineNumber)
                    }
                    start = end + 1
                }
                if atEnd && start < filled {
                    if !skippingOverlong {
                        lineNumber += 1
                        body(UnsafeBufferPointer(rebasing: all[start..<filled]), lineNumber)
                    }
                    return filled
                }
                return start
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
}
