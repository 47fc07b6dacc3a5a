import Crypto
import Foundation
import _CryptoExtras

/// The cryptographic operations on one key version's material: RSA through swift-crypto, AES-256-GCM through the
/// version's ``AESGCMKey``.
///
/// Failures name the operation only: no key byte, nonce or plaintext reaches an error.
enum KeyMaterial {
    static func generateSymmetric() -> Data {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
    }

    /// A new RSA-2048 key, as PKCS#8 DER.
    static func generateAsymmetric() throws(CoreError) -> Data {
        do {
            return try _RSA.Signing.PrivateKey(keySize: .bits2048).pkcs8DERRepresentation
        } catch {
            throw CoreError(.crypto, "RSA key generation failed")
        }
    }

    /// The Base64-ready blob of `plaintext` under a key version, bound to `keyId` (the associated data).
    static func encrypt(_ plaintext: String, with key: AESGCMKey, keyId: String, version: Int) throws(CoreError) -> Data
    {
        guard let blob = key.sealedBlob(plaintext, version: UInt32(version), authenticating: keyId) else {
            throw CoreError(.crypto, "encryption failed")
        }
        return blob
    }

    static func privateKey(_ material: Data) throws(CoreError) -> _RSA.Signing.PrivateKey {
        do {
            return try _RSA.Signing.PrivateKey(derRepresentation: material)
        } catch {
            throw CoreError(.crypto, "stored RSA key does not parse")
        }
    }

    enum SignaturePadding: String, Sendable, CaseIterable {
        case pss = "RSASSA-PSS"
        case pkcs1v15 = "RSASSA-PKCS1-v1_5"

        var padding: _RSA.Signing.Padding {
            switch self {
            case .pss: return .PSS
            case .pkcs1v15: return .insecurePKCS1v1_5
            }
        }
    }

    static func sign(
        _ message: some DataProtocol, material: Data, padding: SignaturePadding
    ) throws(CoreError)
        -> Data
    {
        let key = try privateKey(material)
        do {
            return try key.signature(for: SHA256.hash(data: message), padding: padding.padding).rawRepresentation
        } catch {
            throw CoreError(.crypto, "signing failed")
        }
    }

    static func verify(
        _ signature: Data, for message: some DataProtocol, material: Data, padding: SignaturePadding
    )
        throws(CoreError) -> Bool
    {
        let key = try privateKey(material).publicKey
        return key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: message),
            padding: padding.padding)
    }

    /// The SubjectPublicKeyInfo DER of an RSA key's public half.
    static func publicKeyDER(_ material: Data) throws(CoreError) -> Data {
        try privateKey(material).publicKey.derRepresentation
    }

    /// PKCS#8 DER of the private key.
    static func privateKeyDER(_ material: Data) throws(CoreError) -> Data {
        try privateKey(material).pkcs8DERRepresentation
    }
}
