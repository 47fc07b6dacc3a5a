import COpenSSL
import Crypto
import Foundation
import X509

/// PKCS#12 files for issued client certificates, written by OpenSSL so that Java's `KeyStore`, Python's
/// `cryptography` and `openssl pkcs12` read them (AES-256-CBC with PBKDF2 and an HMAC-SHA-256 MAC: OpenSSL 3's
/// defaults).
package enum PKCS12 {
    /// Builds a PKCS#12 file holding `certificate`, its `privateKey` and the issuing `chain`, protected by
    /// `password`.
    package static func export(
        certificate: Certificate, privateKey: P256.Signing.PrivateKey, chain: [Certificate], password: String,
        friendlyName: String
    ) throws(CoreError) -> [UInt8] {
        // OpenSSL reads the password as a C string: one with a NUL would protect the file with what precedes it.
        guard !password.isEmpty, !password.utf8.contains(0) else {
            throw failure("a PKCS#12 password must be non-empty and hold no NUL")
        }
        guard let x509 = parseX509(certificate.derBytes) else { throw failure("cannot load the certificate") }
        defer { X509_free(x509) }
        let keyDER = [UInt8](privateKey.derRepresentation)
        let key: OpaquePointer? = keyDER.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &pointer, buffer.count)
        }
        guard let key else { throw failure("cannot load the private key") }
        defer { EVP_PKEY_free(key) }
        guard let stack = skm_x509_stack_new() else { throw failure("out of memory") }
        defer { skm_x509_stack_free(stack) }
        for member in chain {
            guard let parsed = parseX509(member.derBytes) else { throw failure("cannot load a chain certificate") }
            guard skm_x509_stack_push(stack, parsed) > 0 else {
                X509_free(parsed)
                throw failure("out of memory")
            }
        }
        guard let bundle = PKCS12_create(password, friendlyName, key, x509, stack, 0, 0, 0, 0, 0) else {
            throw failure("PKCS12_create failed")
        }
        defer { PKCS12_free(bundle) }
        let length = i2d_PKCS12(bundle, nil)
        guard length > 0 else { throw failure("cannot encode the PKCS#12 file") }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_PKCS12(bundle, &pointer)
        }
        guard written == length else { throw failure("cannot encode the PKCS#12 file") }
        return output
    }

    /// Reads the certificates (leaf first) out of a PKCS#12 file. A wrong password is an error.
    package static func certificates(in data: [UInt8], password: String) throws(CoreError) -> [Certificate] {
        let bundle: OpaquePointer? = data.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PKCS12(nil, &pointer, buffer.count)
        }
        guard let bundle else { throw CoreError(.certificate, "not a PKCS#12 file") }
        defer { PKCS12_free(bundle) }
        var key: OpaquePointer?
        var leaf: OpaquePointer?
        var others: OpaquePointer?
        guard PKCS12_parse(bundle, password, &key, &leaf, &others) == 1 else {
            ERR_clear_error()
            throw CoreError(.certificate, "cannot open the PKCS#12 file (wrong password?)")
        }
        defer {
            if let key { EVP_PKEY_free(key) }
            if let leaf { X509_free(leaf) }
            if let others { skm_x509_stack_free(others) }
        }
        guard let leaf, let der = derBytes(of: leaf) else { throw CoreError(.certificate, "no certificate inside") }
        do {
            return [try Certificate(derEncoded: der)]
        } catch {
            throw CoreError(.certificate, "the PKCS#12 certificate does not parse")
        }
    }

    private static func parseX509(_ der: [UInt8]) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &pointer, buffer.count)
        }
    }

    private static func derBytes(of x509: OpaquePointer) -> [UInt8]? {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { return nil }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_X509(x509, &pointer)
        }
        return written == length ? output : nil
    }

    private static func failure(_ reason: String) -> CoreError {
        ERR_clear_error()
        return CoreError(.crypto, "PKCS#12 export: \(reason)")
    }
}
