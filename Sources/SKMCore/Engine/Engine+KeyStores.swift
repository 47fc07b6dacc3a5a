import Crypto
import Foundation
import X509

/// How an administrative call names a key store.
package enum KeyStoreReference: Sendable, Hashable, CustomStringConvertible {
    case id(Int)
    case name(String)

    package var description: String {
        switch self {
        case .id(let id): return "#\(id)"
        case .name(let name): return "'\(name)'"
        }
    }
}

/// The settings of a key store, as created or fully replaced.
package struct KeyStoreSettings: Sendable, Hashable, Codable {
    package var name: String
    package var description: String
    package var ip4AuthUse: Bool
    package var macAuthUse: Bool
    package var certificateAuthUse: Bool
    package var authMode: AuthMode

    package init(
        name: String, description: String = "", ip4AuthUse: Bool, macAuthUse: Bool, certificateAuthUse: Bool,
        authMode: AuthMode = .and
    ) {
        self.name = name
        self.description = description
        self.ip4AuthUse = ip4AuthUse
        self.macAuthUse = macAuthUse
        self.certificateAuthUse = certificateAuthUse
        self.authMode = authMode
    }

    /// The name and the factors: what the request's own form decides (step 4, before the state is read).
    func validate() throws(Rejection) {
        try Engine.validateName(name, field: "name")
        try validateFactors()
    }

    func validateFactors() throws(Rejection) {
        guard ip4AuthUse || macAuthUse || certificateAuthUse else {
            throw Rejection(
                .keyStoreFlagsValid, "at least one of ip4AuthUse, macAuthUse and certificateAuthUse must be \"Y\"",
                field: "ip4AuthUse")
        }
    }
}

/// Key stores: creation, settings, deletion.
extension Engine {
    package func createKeyStore(appkey: String, settings: KeyStoreSettings, actor: String) async throws -> KeyStore {
        try await gated(appkey, actor: actor) { request in
            (request.kind, request.storeSettings) = (.createKeyStore, settings)
        } _: {
            try await createKeyStoreNow(appkey: appkey, settings: settings, actor: actor)
        }
    }

    private func createKeyStoreNow(appkey: String, settings: KeyStoreSettings, actor: String) async throws -> KeyStore {
        try settings.validate()
        _ = try await existingAppkey(appkey)
        try await checkNameFree(settings.name, appkey: appkey, except: nil)
        try Self.validateDescription(settings.description)
        // A change only validated for the approval workflow takes no number.
        let id = Self.isValidating ? 0 : try await storage.nextIdentifier(for: .keyStore)
        let now = clock.now
        let store = KeyStore(
            id: id, appkey: appkey, name: settings.name, description: settings.description,
            ip4AuthUse: settings.ip4AuthUse, macAuthUse: settings.macAuthUse,
            certificateAuthUse: settings.certificateAuthUse, authMode: settings.authMode,
            created: Stamp(user: actor, at: now), lastChange: Stamp(user: actor, at: now))
        try await retrying(duplicate: .keyStoreNameFree) {
            try await commitChange(
                ChangeSet([
                    .insert(.keyStore(store)),
                    event(
                        .keyStoreCreate, actor: actor, appkey: appkey, target: .keyStore, id: String(id),
                        keyStoreId: id, changes: Self.storeFields(nil, store), at: now),
                ]))
        }
        return store
    }

    /// Replaces a key store's settings (SKM's PUT is a full replace).
    package func updateKeyStore(
        appkey: String, store reference: KeyStoreReference, settings: KeyStoreSettings, actor: String
    )
        async throws -> KeyStore
    {
        try await gated(appkey, actor: actor) { request in
            (request.kind, request.storeSettings) = (.updateKeyStore, settings)
            request.keyStoreId = try await liveStore(appkey: appkey, reference).id
        } _: {
            try await updateKeyStoreNow(appkey: appkey, store: reference, settings: settings, actor: actor)
        }
    }

    private func updateKeyStoreNow(
        appkey: String, store reference: KeyStoreReference, settings: KeyStoreSettings, actor: String
    ) async throws -> KeyStore {
        try settings.validate()
        return try await retrying(duplicate: .keyStoreNameFree) {
            let before = try await liveStore(appkey: appkey, reference)
            try await checkNameFree(settings.name, appkey: appkey, except: before.id)
            try Self.validateDescription(settings.description)
            var after = before
            after.name = settings.name
            after.description = settings.description
            after.ip4AuthUse = settings.ip4AuthUse
            after.macAuthUse = settings.macAuthUse
            after.certificateAuthUse = settings.certificateAuthUse
            after.authMode = settings.authMode
            let now = clock.now
            after.lastChange = Stamp(user: actor, at: now)
            let changes = Self.storeFields(before, after)
            guard !changes.isEmpty else { return before }
            try await commitChange(
                ChangeSet([
                    .update(.keyStore(after)),
                    event(
                        .keyStoreUpdate, actor: actor, appkey: appkey, target: .keyStore, id: String(before.id),
                        keyStoreId: before.id, changes: changes, at: now),
                ]))
            after.revision += 1
            return after
        }
    }

    /// Deletes (deactivates) a key store that holds no key in service or pending deletion.
    package func deleteKeyStore(
        appkey: String, store reference: KeyStoreReference, actor: String
    ) async throws
        -> KeyStore
    {
        try await gated(appkey, actor: actor) { request in
            request.kind = .deleteKeyStore
            request.keyStoreId = try await liveStore(appkey: appkey, reference).id
        } _: {
            try await deleteKeyStoreNow(appkey: appkey, store: reference, actor: actor)
        }
    }

    private func deleteKeyStoreNow(
        appkey: String, store reference: KeyStoreReference, actor: String
    ) async throws
        -> KeyStore
    {
        try await retrying {
            var store = try await liveStore(appkey: appkey, reference)
            let live = try await storage.keys(keyStoreId: store.id).filter { $0.status != .deleted }
            guard live.isEmpty else {
                throw Rejection(
                    .keyStoreEmpty,
                    "key store '\(store.name)' still holds \(live.count) key(s); delete them first")
            }
            let now = clock.now
            store.status = .deleted
            store.lastChange = Stamp(user: actor, at: now)
            // Its entries go with it, in the same transaction: an entry registered meanwhile makes it conflict.
            let entries = try await storage.authEntries(keyStoreId: store.id).filter { $0.status != .deleted }
            var changes = ChangeSet([
                .requireNoLiveKeys(keyStoreId: store.id),
                .requireLiveEntries(keyStoreId: store.id, ids: Set(entries.map(\.id))),
                .update(.keyStore(store)),
                event(
                    .keyStoreDelete, actor: actor, appkey: appkey, target: .keyStore, id: String(store.id),
                    keyStoreId: store.id, changes: [.change(.status, "ACTIVE", "DELETED")], at: now),
            ])
            for entry in entries {
                changes.mutations +=
                    transitionChanges(
                        entry, to: .deleted, action: .authDelete, actor: actor, at: now
                    ).1.mutations
            }
            try await commitChange(changes)
            store.revision += 1
            return store
        }
    }

    static func storeFields(_ before: KeyStore?, _ after: KeyStore) -> [AuditEvent.Change] {
        func yn(_ flag: Bool?) -> String? { flag.map { $0 ? "Y" : "N" } }
        let fields: [(AuditField, String?, String?)] = [
            (.name, before?.name, after.name),
            (.description, before?.description, after.description),
            (.ip4AuthUse, yn(before?.ip4AuthUse), yn(after.ip4AuthUse)),
            (.macAuthUse, yn(before?.macAuthUse), yn(after.macAuthUse)),
            (.certificateAuthUse, yn(before?.certificateAuthUse), yn(after.certificateAuthUse)),
            (.authMode, before?.authMode.rawValue, after.authMode.rawValue),
        ]
        return fields.filter { $0.1 != $0.2 }.map { AuditEvent.Change($0.0, before: $0.1, after: $0.2) }
    }

    /// An active key store of `appkey`, by id or name; Invalid Request (key-store-known) when there is none.
    package func liveKeyStore(appkey: String, _ reference: KeyStoreReference) async throws -> KeyStore {
        try await liveStore(appkey: appkey, reference)
    }

    /// An active key store of `appkey`; Invalid Request when there is none.
    func liveStore(appkey: String, _ reference: KeyStoreReference) async throws -> KeyStore {
        let store: KeyStore?
        switch reference {
        case .id(let id):
            store = try await storage.keyStore(id: id)
        case .name(let name):
            store = try await storage.keyStores(appkey: appkey).first { $0.name == name && $0.status == .active }
        }
        guard let store, store.appkey == appkey, store.status == .active else {
            throw Rejection(.keyStoreKnown, "no key store \(reference) in this appkey", field: "keyStoreName")
        }
        return store
    }

    /// Refuses a key-store name another live key store of the appkey has.
    func checkNameFree(_ name: String, appkey: String, except id: Int?) async throws {
        let taken = try await storage.keyStores(appkey: appkey).contains {
            $0.status == .active && $0.name == name && $0.id != id
        }
        if taken { throw Rejection(.keyStoreNameFree, "a key store named '\(name)' exists in this appkey") }
    }
}
