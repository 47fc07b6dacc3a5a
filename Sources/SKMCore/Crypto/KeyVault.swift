import Crypto
import Foundation

/// Seals key material, secrets and the CA key under the system key; the system key itself is wrapped by the root
/// key. Every sealed item is bound to its place (``SealContext``) so that sealed bytes cannot be moved to another
/// key or version.
package struct KeyVault: Sendable {
    private let systemKey: SymmetricKey
    private static let systemKeyContext = Data("skm/system-key/v1".utf8)
    private static let formatVersion: UInt8 = 1

    /// Creates a new system key and returns it wrapped under `rootKey`, to be stored.
    package static func create(wrappingWith rootKey: RootKey) throws(CoreError) -> (vault: KeyVault, wrapped: Data) {
        let systemKey = SymmetricKey(size: .bits256)
        do {
            let box = try systemKey.withUnsafeBytes {
                try AES.GCM.seal(Data($0), using: rootKey.key, authenticating: systemKeyContext)
            }
            guard let combined = box.combined else { throw CoreError(.crypto, "cannot wrap the system key") }
            return (KeyVault(systemKey: systemKey), Data([formatVersion]) + combined)
        } catch let error as CoreError {
            throw error
        } catch {
            throw CoreError(.crypto, "cannot wrap the system key")
        }
    }

    /// Unwraps a stored system key. Fails when `rootKey` is not the key it was wrapped with.
    package init(unwrapping wrapped: Data, with rootKey: RootKey) throws(CoreError) {
        guard wrapped.first == Self.formatVersion else {
            throw CoreError(.invalidRootKey, "the stored system key has an unknown format")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped.dropFirst())
            let bytes = try AES.GCM.open(box, using: rootKey.key, authenticating: Self.systemKeyContext)
            guard bytes.count == 32 else { throw CoreError(.invalidRootKey, "the stored system key is malformed") }
            systemKey = SymmetricKey(data: bytes)
        } catch let error as CoreError {
            throw error
        } catch {
            throw CoreError(
                .invalidRootKey, "the root key does not open this database's system key (wrong root key?)")
        }
    }

    init(systemKey: SymmetricKey) {
        self.systemKey = systemKey
    }

    /// Seals `plaintext` for `context`.
    package func seal(_ plaintext: some DataProtocol, for context: SealContext) throws(CoreError) -> Data {
        do {
            let box = try AES.GCM.seal(plaintext, using: systemKey, authenticating: Data(context.label.utf8))
            guard let combined = box.combined else { throw CoreError(.crypto, "sealing failed") }
            return Data([Self.formatVersion]) + combined
        } catch let error as CoreError {
            throw error
        } catch {
            throw CoreError(.crypto, "sealing failed")
        }
    }

    /// Opens what ``seal(_:for:)`` sealed for the same `context`.
    package func open(_ sealed: Data, for context: SealContext) throws(CoreError) -> Data {
        guard sealed.first == Self.formatVersion else {
            throw CoreError(.crypto, "sealed item for \(context.label) has an unknown format")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return try AES.GCM.open(box, using: systemKey, authenticating: Data(context.label.utf8))
        } catch {
            throw CoreError(.crypto, "sealed item for \(context.label) does not open (damaged or misplaced)")
        }
    }

    /// A key derived from the system key for one purpose (bearer-token MACs, …).
    package func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: systemKey, info: Data("skm/derived/\(purpose)".utf8), outputByteCount: 32)
    }
}

/// Where a sealed item belongs. Sealing binds the item to this label.
package struct SealContext: Sendable, Hashable {
    package var label: String

    package init(label: String) {
        self.label = label
    }

    /// The material of one key version (AES key bytes, RSA private key, or a secret's value).
    package static func keyMaterial(keyId: String, version: Int) -> SealContext {
        SealContext(label: "key/\(keyId)/\(version)")
    }

    /// The private key of an issued client certificate.
    package static func certificateKey(entryId: Int) -> SealContext {
        SealContext(label: "auth/\(entryId)/private-key")
    }

    /// The PKCS#12 password chosen when a certificate was issued.
    package static func certificatePassword(entryId: Int) -> SealContext {
        SealContext(label: "auth/\(entryId)/password")
    }

    /// The installation's CA private key.
    package static let authorityKey = SealContext(label: "ca/private-key")

    /// The server's TLS private key, when the installation issued one.
    package static let serverKey = SealContext(label: "server/private-key")
}
