import Crypto
import Foundation
import SKMPrimitives

/// The key that wraps the system key. It comes from outside the database: `SKM_ROOT_KEY` or a key file.
package struct RootKey: Sendable {
    let key: SymmetricKey

    /// A new random root key.
    package static func generate() -> RootKey {
        RootKey(key: SymmetricKey(size: .bits256))
    }

    /// Parses 32 bytes written as Base64 (44 characters) or hexadecimal (64 digits); surrounding space is ignored.
    package init(encoded text: String) throws(CoreError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.utf8.count == 64, let bytes = [UInt8](hex: trimmed) {
            key = SymmetricKey(data: bytes)
            return
        }
        if let data = Data(base64Encoded: trimmed), data.count == 32 {
            key = SymmetricKey(data: data)
            return
        }
        throw CoreError(
            .invalidRootKey, "a root key must be 32 bytes written as Base64 (44 characters) or hex (64 digits)")
    }

    init(key: SymmetricKey) {
        self.key = key
    }

    /// Reads a key file written by ``write(to:)``.
    package init(contentsOf url: URL) throws(CoreError) {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw CoreError(.invalidRootKey, "cannot read root key file \(url.path): \(error.localizedDescription)")
        }
        do {
            try self.init(encoded: text)
        } catch {
            throw CoreError(.invalidRootKey, "root key file \(url.path): \(error.reason)")
        }
    }

    /// The Base64 form, for a key file or `SKM_ROOT_KEY`.
    package var base64: String {
        key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Writes the key to a new file readable by its owner only (mode 0600). Refuses to overwrite.
    package func write(to url: URL) throws(CoreError) {
        let path = url.path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw CoreError(.io, "cannot create root key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let line = Array((base64 + "\n").utf8)
        let written = line.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw CoreError(.io, "cannot write root key file \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(descriptor, 0o600)
    }
}

extension Array where Element == UInt8 {
    /// Decodes hexadecimal text of even length; `nil` when it is anything else.
    package init?(hex text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 2)
        var index = 0
        while index < bytes.count {
            guard let high = MACAddress.hexValue(bytes[index]), let low = MACAddress.hexValue(bytes[index + 1]) else {
                return nil
            }
            output.append(high << 4 | low)
            index += 2
        }
        self = output
    }
}
