import Crypto
import Foundation
import X509

/// The Secure Key Manager engine: every SKM operation as a call, independent of HTTP.
///
/// ``execute(_:from:)`` answers an API request from a client with a result or exactly one catalogue error,
/// following the decision procedure of DESIGN §6. The administrative calls (`createKeyStore`, `rotateKey`, …) are
/// what the console and the CLI use; management API calls reach them after their credential check.
///
/// A class of constants: every request of the server reads the same engine without copying what it holds.
package final class Engine: Sendable {
    package struct Configuration: Sendable {
        package var clock: EngineClock
        package var identifiers: any IdentifierSource
        /// How long a scheduled deletion waits before it takes effect.
        package var deletionDelay: TimeInterval
        /// How long a bearer token lives.
        package var tokenLifetime: TimeInterval
        /// Whether the v1.0 reads (key stores, keys, auth entries) need a User Access Key or token as later versions
        /// do. Off by default: the v1.0 API guide serves them on the appkey alone.
        package var v1_0ReadsNeedCredentials: Bool

        package init(
            clock: EngineClock = .system, identifiers: any IdentifierSource = SystemIdentifierSource(),
            deletionDelay: TimeInterval = 7 * 86_400, tokenLifetime: TimeInterval = 86_400,
            v1_0ReadsNeedCredentials: Bool = false
        ) {
            self.clock = clock
            self.identifiers = identifiers
            self.deletionDelay = deletionDelay
            self.tokenLifetime = tokenLifetime
            self.v1_0ReadsNeedCredentials = v1_0ReadsNeedCredentials
        }
    }

    package let storage: any Storage
    /// `storage` when it is the server's cache, read synchronously on the data-call path (``CachingStorage/cachedAppkey(id:)``).
    let cache: CachingStorage?
    package let configuration: Configuration
    let vault: KeyVault
    package let authority: CertificateAuthority
    let authenticator: ClientAuthenticator
    let usage = UsageLog()

    var clock: EngineClock { configuration.clock }

    static let systemKeySetting = "system_key"
    static let authorityCertificateSetting = "ca_certificate"

    private init(storage: any Storage, configuration: Configuration, vault: KeyVault, authority: CertificateAuthority) {
        self.storage = storage
        cache = storage as? CachingStorage
        self.configuration = configuration
        self.vault = vault
        self.authority = authority
        self.authenticator = ClientAuthenticator(authority: authority)
    }

    /// Sets up a new installation in empty `storage`: a system key wrapped by `rootKey` and a CA.
    package static func initialize(
        storage: any Storage, rootKey: RootKey, configuration: Configuration = Configuration(),
        authorityName: String = "SKM Client CA"
    ) async throws -> Engine {
        if try await storage.setting(systemKeySetting) != nil {
            throw CoreError(.alreadyInitialized, "this database is already initialised")
        }
        let (vault, wrapped) = try KeyVault.create(wrappingWith: rootKey)
        let authority = try CertificateAuthority.create(commonName: authorityName, now: configuration.clock.now)
        let sealedKey = try vault.seal(authority.privateKey.rawRepresentation, for: .authorityKey)
        // Two initialisations at once (two nodes, two operators): the system key is inserted, never replaced, so the
        // second one fails as a whole instead of sealing what the first one's keys depend on under another key.
        do {
            try await storage.commit(
                ChangeSet([
                    .insertSetting(systemKeySetting, wrapped),
                    .putSetting(authorityCertificateSetting, Data(authority.certificate.pemString.utf8)),
                    .putSealed(.authorityKey, sealedKey),
                ]))
        } catch let error as StorageError where error.code == .duplicate {
            throw CoreError(.alreadyInitialized, "this database is already initialised")
        }
        return Engine(storage: storage, configuration: configuration, vault: vault, authority: authority)
    }

    /// Opens an initialised installation. Fails with a clear reason when `rootKey` is not the one it was set up
    /// with, or when the database was never initialised.
    package static func open(
        storage: any Storage, rootKey: RootKey, configuration: Configuration = Configuration()
    ) async throws -> Engine {
        guard let wrapped = try await storage.setting(systemKeySetting) else {
            throw CoreError(.notInitialized, "this database has not been initialised (run `skm init`)")
        }
        let vault = try KeyVault(unwrapping: wrapped, with: rootKey)
        guard let pem = try await storage.setting(authorityCertificateSetting),
            let sealedKey = try await storage.sealedItem(.authorityKey)
        else {
            throw CoreError(.notInitialized, "this database has no certificate authority")
        }
        do {
            let certificate = try Certificate(pemEncoded: String(decoding: pem, as: UTF8.self))
            let key = try P256.Signing.PrivateKey(rawRepresentation: try vault.open(sealedKey, for: .authorityKey))
            return Engine(
                storage: storage, configuration: configuration, vault: vault,
                authority: CertificateAuthority(certificate: certificate, privateKey: key))
        } catch let error as CoreError {
            throw error
        } catch {
            throw CoreError(.certificate, "the stored CA certificate or key does not load")
        }
    }

    /// Runs `body` again when storage reports a concurrent change to a row it read, up to a few times. A unique
    /// constraint storage enforces (a name or value taken meanwhile) is refused as `duplicate`.
    func retrying<T>(duplicate: DecisionCheck = .otherwiseMalformed, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as StorageError where error.code == .conflict && attempt < 12 {
                attempt += 1
                // Racers that retried at once would meet again: each waits a random while, longer each time.
                try await Task.sleep(for: .microseconds(Int.random(in: 0...(250 << min(attempt, 8)))))
            } catch let error as StorageError where error.code == .duplicate {
                throw Rejection(duplicate, error.reason)
            } catch let error as StorageError where error.code == .actorRevoked {
                throw Rejection(.accessKeyInService, error.reason)
            }
        }
    }

    func event(
        _ action: AuditAction, actor: String, appkey: String, target: AuditEvent.TargetKind, id: String,
        keyStoreId: Int? = nil, keyId: String? = nil, keyVersion: Int? = nil, changes: [AuditEvent.Change],
        at time: Date
    ) -> ChangeSet.Mutation {
        .appendEvent(
            AuditEvent(
                time: time, actor: actor, action: action, appkey: appkey, targetKind: target, targetId: id,
                keyStoreId: keyStoreId, keyId: keyId, keyVersion: keyVersion, changes: changes))
    }
}

extension AuditEvent.Change {
    static func set(_ field: AuditField, _ value: String?) -> AuditEvent.Change {
        AuditEvent.Change(field, before: nil, after: value)
    }

    static func change(_ field: AuditField, _ before: String?, _ after: String?) -> AuditEvent.Change {
        AuditEvent.Change(field, before: before, after: after)
    }
}
