import Dispatch
import Foundation
import SKMCore
import SKMPrimitives

/// An installation to send requests into: built once, in memory.
package struct FuzzInstallation: @unchecked Sendable {
    package let engine: Engine
    package let client: ClientIdentity
    /// One request per operation, with credentials and path parameters that name what exists.
    package let calls: [APIRequest]
    package let accessKey: IssuedAccessKey

    package static func make() -> FuzzInstallation {
        wait {
            let storage = FrozenStorage()
            let engine = try! await Engine.initialize(
                storage: storage, rootKey: try! RootKey(encoded: String(repeating: "ab", count: 32)))
            let (appkey, access) = try! await engine.createAppkey(name: "fuzz", actor: "cli:fuzz")
            let store = try! await engine.createKeyStore(
                appkey: appkey.id,
                settings: KeyStoreSettings(
                    name: "fuzz", ip4AuthUse: true, macAuthUse: false, certificateAuthUse: false), actor: "cli:fuzz")
            _ = try! await engine.addAuthEntry(
                appkey: appkey.id, store: .id(store.id), kind: .ipv4, value: "127.0.0.0/8", actor: "cli:fuzz")
            let symmetric = try! await engine.createKey(
                appkey: appkey.id, store: .id(store.id), type: .symmetric, name: "aes", actor: "cli:fuzz")
            let asymmetric = try! await engine.createKey(
                appkey: appkey.id, store: .id(store.id), type: .asymmetric, name: "rsa", actor: "cli:fuzz")
            let secret = try! await engine.createKey(
                appkey: appkey.id, store: .id(store.id), type: .secret, name: "secret", secretValue: "s",
                actor: "cli:fuzz")
            let credentials = Credentials(userAccessKeyID: access.accessKey.id, userAccessKeySecret: access.secret)
            var calls: [APIRequest] = []
            for operation in APIOperation.allCases {
                let keyId: String
                switch operation.requiredKeyType {
                case .asymmetric?: keyId = asymmetric.id
                case .secret?: keyId = secret.id
                default: keyId = symmetric.id
                }
                for version in operation.availableVersions.sorted(by: { $0.rawValue < $1.rawValue }).suffix(1) {
                    calls.append(
                        APIRequest(
                            operation: operation, apiVersion: version, appkey: appkey.id, keyId: keyId,
                            keyStoreId: String(store.id), authKind: .ipv4, resourceName: access.accessKey.id,
                            credentials: credentials))
                }
            }
            storage.freeze()
            return FuzzInstallation(
                engine: engine, client: ClientIdentity(address: IPv4Address("127.0.0.1"), tls: true), calls: calls,
                accessKey: access)
        }
    }

    /// Runs `body` to completion from synchronous code (the fuzzer's thread is not part of the concurrency pool).
    package static func wait<T>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    final class Box<T>: @unchecked Sendable {
        var value: T?
    }
}

/// In-memory storage that refuses every commit once frozen.
package final class FrozenStorage: Storage, @unchecked Sendable {
    package let base = InMemoryStorage()

    package init() {}
    private var frozen = false

    package func freeze() { frozen = true }

    package struct Frozen: Error {}

    package func commit(_ changes: ChangeSet) async throws {
        if frozen { throw Frozen() }
        try await base.commit(changes)
    }

    package func setting(_ name: String) async throws -> Data? { await base.setting(name) }
    package func settings(prefix: String) async throws -> [String: Data] { await base.settings(prefix: prefix) }
    package func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] {
        await base.callCounts(appkey: appkey, from: from, through: through)
    }
    package func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int {
        await base.nextIdentifier(for: sequence)
    }
    package func appkey(id: String) async throws -> Appkey? { await base.appkey(id: id) }
    package func appkeys() async throws -> [Appkey] { await base.appkeys() }
    package func userAccessKey(id: String) async throws -> UserAccessKey? { await base.userAccessKey(id: id) }
    package func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        await base.userAccessKeys(appkey: appkey)
    }
    package func keyStore(id: Int) async throws -> KeyStore? { await base.keyStore(id: id) }
    package func keyStores(appkey: String) async throws -> [KeyStore] { await base.keyStores(appkey: appkey) }
    package func key(id: String) async throws -> ManagedKey? { await base.key(id: id) }
    package func keys(keyStoreId: Int) async throws -> [ManagedKey] { await base.keys(keyStoreId: keyStoreId) }
    package func versions(keyId: String) async throws -> [KeyVersion] { await base.versions(keyId: keyId) }
    package func authEntry(id: Int) async throws -> AuthEntry? { await base.authEntry(id: id) }
    package func authEntries(keyStoreId: Int) async throws -> [AuthEntry] {
        await base.authEntries(keyStoreId: keyStoreId)
    }
    package func sealedItem(_ context: SealContext) async throws -> Data? { await base.sealedItem(context) }
    package func keyContext(keyId: String) async throws -> KeyContext? { await base.keyContext(keyId: keyId) }
    package func events(after sequence: Int, limit: Int) async throws -> [AuditEvent] {
        await base.events(after: sequence, limit: limit)
    }
    package func dueWork(at now: Date) async throws -> DueWork { await base.dueWork(at: now) }
    package func exportState() async throws -> StoredState { await base.exportState() }
}
