import Foundation
import MultipartKit
import NIOCore
import SKMPrimitives

/// An upload refused, and why.
typealias UploadRefusal = CodedFailure<UploadRefusalCode>

enum UploadRefusalCode: String, ErrorCode {
    /// Not a form's `multipart/form-data`.
    case notMultipart
    /// Larger than the limit.
    case tooLarge
    /// More files or fields than the limits.
    case tooManyFiles
    /// A text field longer than 4 KB.
    case fieldTooLong
    /// Not well-formed, or not storable.
    case malformed
}

/// A `multipart/form-data` upload streamed to files: each file part is written, as it arrives, into a folder of its
/// own under the upload's folder, named by its file name with every character but letters, digits, `.`, `-` and
/// `_` replaced; text fields are kept in memory, up to 4 KB each. Nothing is buffered whole and no limit can be
/// passed: the upload stops at the first byte over ``Limits/bytes``.
struct MultipartUpload {
    struct Limits {
        var bytes: Int
        var files = 32
        var fields = 16
        var fieldBytes = 4096
    }

    struct File {
        /// The form field's name (`log`, `state`).
        var field: String
        /// The name as the browser gave it, untrusted.
        var name: String
        /// Where it was written.
        var url: URL
        var bytes: Int
    }

    private(set) var files: [File] = []
    private(set) var fields: [String: String] = [:]

    /// Reads `body` into files under `directory` (which exists).
    static func receive(
        contentType: String?, body: some AsyncSequence<ByteBuffer, any Error>, into directory: URL, limits: Limits
    ) async throws -> MultipartUpload {
        guard let contentType, let boundary = boundary(of: contentType) else {
            throw UploadRefusal(.notMultipart, "not multipart/form-data")
        }
        let state = ReceivingState(directory: directory, limits: limits)
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in state.header(name, value) }
        parser.onBody = { buffer in state.body(&buffer) }
        parser.onPartComplete = { state.complete() }
        var total = 0
        do {
            for try await chunk in body {
                total += chunk.readableBytes
                guard total <= limits.bytes else { throw UploadRefusal(.tooLarge, "larger than \(limits.bytes) bytes") }
                try parser.execute(chunk)
                if let refusal = state.refusal { throw refusal }
            }
        } catch let refusal as UploadRefusal {
            state.abandon()
            throw refusal
        } catch {
            state.abandon()
            throw UploadRefusal(.malformed, "the upload could not be read: \(error)")
        }
        if let refusal = state.refusal { throw refusal }
        guard state.finished else { throw UploadRefusal(.malformed, "the upload ended before its last part") }
        return MultipartUpload(files: state.files, fields: state.fields)
    }

    /// The `boundary` parameter of a `multipart/form-data` content type.
    static func boundary(of contentType: String) -> String? {
        let parts = parameters(contentType)
        guard parts.first?.value.lowercased() == "multipart/form-data" else { return nil }
        guard let boundary = parts.first(where: { $0.key == "boundary" })?.value, !boundary.isEmpty,
            boundary.count <= 70
        else { return nil }
        return boundary
    }

    /// `value; name="x"; filename="y"` as pairs: the first with an empty key, then each parameter by its lower-cased
    /// name, quotes removed and `\"` unescaped.
    static func parameters(_ header: String) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        var current = ""
        var quoted = false
        var escaped = false
        var segments: [String] = []
        for character in header {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ";" && !quoted {
                segments.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        segments.append(current)
        for (index, segment) in segments.enumerated() {
            let trimmed = segment.trimmingCharacters(in: .whitespaces)
            if index == 0 {
                pairs.append((key: "", value: trimmed))
            } else if let equals = trimmed.firstIndex(of: "=") {
                pairs.append(
                    (
                        key: trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased(),
                        value: String(trimmed[trimmed.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
                    ))
            }
        }
        return pairs
    }

    /// A file name fit for the file system and a report: letters, digits, `.`, `-` and `_`; never empty, never a
    /// dot file, at most 100 characters.
    static func safeName(_ name: String) -> String {
        let base = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var safe = String(
            base.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
                    ? Character(scalar) : "_"
            }.prefix(100))
        while safe.hasPrefix(".") { safe.removeFirst() }
        return safe.isEmpty ? "upload" : safe
    }
}

/// The parser's callbacks' state: one part at a time.
private final class ReceivingState {
    let directory: URL
    let limits: MultipartUpload.Limits
    var headers: [(String, String)] = []
    var handle: FileHandle?
    var file: MultipartUpload.File?
    var field: (name: String, bytes: [UInt8])?
    var files: [MultipartUpload.File] = []
    var fields: [String: String] = [:]
    var refusal: UploadRefusal?
    var started = false
    var fieldCount = 0
    var completed = 0
    /// Every part begun was completed, and there was one.
    var finished: Bool { completed > 0 && !started && headers.isEmpty }

    init(directory: URL, limits: MultipartUpload.Limits) {
        self.directory = directory
        self.limits = limits
    }

    func header(_ name: String, _ value: String) {
        headers.append((name.lowercased(), value))
    }

    /// Begins the part its headers describe.
    func begin() {
        guard !started, refusal == nil else { return }
        started = true
        let disposition = headers.first { $0.0 == "content-disposition" }?.1 ?? ""
        let parameters = MultipartUpload.parameters(disposition)
        let name = parameters.first { $0.key == "name" }?.value ?? ""
        if let filename = parameters.first(where: { $0.key == "filename" })?.value {
            guard files.count < limits.files else {
                refusal = UploadRefusal(.tooManyFiles, "more than \(limits.files) files")
                return
            }
            let folder = directory.appendingPathComponent(String(files.count + 1))
            let url = folder.appendingPathComponent(MultipartUpload.safeName(filename))
            do {
                try FileManager.default.createDirectory(
                    at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                guard
                    FileManager.default.createFile(
                        atPath: url.path, contents: nil,
                        attributes: [
                            .posixPermissions: 0o600
                        ])
                else { throw CocoaError(.fileWriteUnknown) }
                handle = try FileHandle(forWritingTo: url)
            } catch {
                refusal = UploadRefusal(.malformed, "cannot store the upload: \(error.localizedDescription)")
                return
            }
            file = MultipartUpload.File(field: name, name: filename, url: url, bytes: 0)
        } else {
            guard fieldCount < limits.fields else {
                refusal = UploadRefusal(.tooManyFiles, "more than \(limits.fields) form fields")
                return
            }
            fieldCount += 1
            field = (name, [])
        }
    }

    func body(_ buffer: inout ByteBuffer) {
        begin()
        guard refusal == nil else { return }
        if let handle, file != nil {
            let bytes = buffer.readableBytesView
            do {
                try handle.write(contentsOf: bytes)
            } catch {
                refusal = UploadRefusal(.malformed, "cannot store the upload: \(error.localizedDescription)")
            }
            file?.bytes += bytes.count
        } else if field != nil {
            field?.bytes.append(contentsOf: buffer.readableBytesView)
            if let field, field.bytes.count > limits.fieldBytes {
                refusal = UploadRefusal(.fieldTooLong, subject: field.name, "longer than \(limits.fieldBytes) bytes")
            }
        }
    }

    func complete() {
        begin()
        if let handle { try? handle.close() }
        handle = nil
        if let file, refusal == nil { files.append(file) }
        if let field, refusal == nil { fields[field.name] = String(decoding: field.bytes, as: UTF8.self) }
        file = nil
        field = nil
        headers = []
        started = false
        completed += 1
    }

    /// Closes what is open; the caller removes the folder.
    func abandon() {
        if let handle { try? handle.close() }
        handle = nil
    }
}
