import Crypto
import Foundation
import X509

/// How an administrative call names a key store.
public enum KeyStoreReference: Sendable, Hashable, CustomStringConvertible {
    case id(Int)
    case name(String)

    public var description: String {
        switch self {
        case .id(let id): return "#\(id)"
        case .name(let name): return "'\(name)'"
        }
    }
}

/// The settings of a key store, as created or fully replaced.
public struct KeyStoreSettings: Sendable, Hashable {
    public var name: String
    public var description: String
    public var ip4AuthUse: Bool
    public var macAuthUse: Bool
    public var certificateAuthUse: Bool
    public var authMode: AuthMode

    public init(
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

/// A new User Access Key; the secret is shown once and never stored.
public struct IssuedAccessKey: Sendable {
    public var accessKey: UserAccessKey
    public var secret: String
}

/// What a run of the background jobs did.
public struct DueWorkReport: Sendable, Hashable {
    public var purgedKeys = 0
    public var purgedVersions = 0
    public var purgedEntries = 0
    public var rotatedKeys = 0
    public var failures: [String] = []

    public var total: Int { purgedKeys + purgedVersions + purgedEntries + rotatedKeys }
}

extension Engine {
    static let alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

    static func validateName(_ name: String, field: String) throws(Rejection) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Rejection.invalidField(.nameValid, field, "must not be empty")
        }
        guard name.count <= Limits.nameCharacters else {
            throw Rejection.invalidField(.nameValid, field, "is longer than \(Limits.nameCharacters) characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Rejection.invalidField(.nameValid, field, "must not contain control characters")
        }
    }

    static func validateDescription(_ text: String) throws(Rejection) {
        guard text.count <= Limits.descriptionCharacters else {
            throw Rejection.invalidField(
                .otherwiseMalformed, "description", "is longer than \(Limits.descriptionCharacters) characters")
        }
    }

    static func validateRotationPeriod(_ days: Int) throws(Rejection) {
        guard days == 0 || (Limits.minimumRotationPeriod...Limits.maximumRotationPeriod).contains(days) else {
            throw Rejection.invalidField(
                .rotationPeriodValid, "autoRotationPeriod",
                "is \(days); use 0 (off) or \(Limits.minimumRotationPeriod) to \(Limits.maximumRotationPeriod) days")
        }
    }

    // MARK: - Appkeys

    /// Creates an appkey and its first User Access Key.
    public func createAppkey(name: String, actor: String) async throws -> (appkey: Appkey, accessKey: IssuedAccessKey) {
        try Self.validateName(name, field: "name")
        let now = clock.now
        let appkey = Appkey(
            id: configuration.identifiers.randomString(length: 16, alphabet: Self.alphanumerics), name: name,
            created: Stamp(user: actor, at: now))
        let (accessKey, mutations) = newAccessKey(appkey: appkey.id, actor: actor, at: now)
        try await retrying {
            try await storage.commit(
                ChangeSet(
                    [
                        .insert(.appkey(appkey)),
                        event(
                            .appkeyCreate, actor: actor, appkey: appkey.id, target: .appkey, id: appkey.id,
                            changes: [.set("name", name)], at: now),
                    ] + mutations))
        }
        return (appkey, accessKey)
    }

    /// Adds a User Access Key to an appkey.
    public func createUserAccessKey(appkey: String, actor: String) async throws -> IssuedAccessKey {
        _ = try await existingAppkey(appkey)
        let (accessKey, mutations) = newAccessKey(appkey: appkey, actor: actor, at: clock.now)
        try await retrying { try await storage.commit(ChangeSet(mutations)) }
        return accessKey
    }

    /// The User Access Keys of an appkey, revoked ones included, oldest first.
    public func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        _ = try await existingAppkey(appkey)
        return try await storage.userAccessKeys(appkey: appkey).sorted {
            ($0.created.at, $0.id) < ($1.created.at, $1.id)
        }
    }

    /// Revokes a User Access Key of `appkey`: its secret and every token issued from it stop working at once.
    public func revokeUserAccessKey(appkey: String, id: String, actor: String) async throws -> UserAccessKey {
        _ = try await existingAppkey(appkey)
        return try await retrying {
            var key = try await revocableAccessKey(appkey: appkey, id: id)
            let now = clock.now
            key.status = .revoked
            try await storage.commit(
                ChangeSet([
                    .update(.userAccessKey(key)),
                    event(
                        .userAccessKeyRevoke, actor: actor, appkey: appkey, target: .userAccessKey, id: key.id,
                        changes: [.change("status", AccessKeyStatus.inService.rawValue, key.status.rawValue)],
                        at: now),
                ]))
            key.revision += 1
            return key
        }
    }

    /// Replaces a User Access Key of `appkey` with a new one, in one step: the new key is in service and the old one
    /// (with its tokens) revoked.
    public func rotateUserAccessKey(appkey: String, id: String, actor: String) async throws -> IssuedAccessKey {
        _ = try await existingAppkey(appkey)
        return try await retrying {
            var old = try await revocableAccessKey(appkey: appkey, id: id)
            let now = clock.now
            let (issued, mutations) = newAccessKey(appkey: appkey, actor: actor, at: now)
            old.status = .revoked
            try await storage.commit(
                ChangeSet(
                    mutations + [
                        .update(.userAccessKey(old)),
                        event(
                            .userAccessKeyRotate, actor: actor, appkey: appkey, target: .userAccessKey, id: old.id,
                            changes: [
                                .change("status", AccessKeyStatus.inService.rawValue, old.status.rawValue),
                                .set("replacedBy", issued.accessKey.id),
                            ], at: now),
                    ]))
            return issued
        }
    }

    /// A User Access Key of `appkey` in service: what revoking and rotating need.
    private func revocableAccessKey(appkey: String, id: String) async throws -> UserAccessKey {
        guard id.utf8.count <= 64, let key = try await storage.userAccessKey(id: id), key.appkey == appkey else {
            throw Rejection(.accessKeyKnown, "no User Access Key '\(id.prefix(64))' in this appkey")
        }
        guard key.status == .inService else {
            throw Rejection(.accessKeyRevocable, "User Access Key \(id) is already \(key.status.rawValue)")
        }
        return key
    }

    private func newAccessKey(appkey: String, actor: String, at now: Date) -> (IssuedAccessKey, [ChangeSet.Mutation]) {
        let secret = SystemIdentifierSource().randomString(length: 32, alphabet: Self.alphanumerics)
        let salt = Data(SystemIdentifierSource().randomBytes(count: 16))
        let key = UserAccessKey(
            id: configuration.identifiers.randomString(length: 20, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
            appkey: appkey, status: .inService, created: Stamp(user: actor, at: now),
            secretDigest: Self.digest(secret: secret, salt: salt), salt: salt)
        return (
            IssuedAccessKey(accessKey: key, secret: secret),
            [
                .insert(.userAccessKey(key)),
                event(
                    .userAccessKeyCreate, actor: actor, appkey: appkey, target: .userAccessKey, id: key.id,
                    changes: [.set("status", key.status.rawValue)], at: now),
            ]
        )
    }

    static func digest(secret: String, salt: Data) -> Data {
        Data(SHA256.hash(data: salt + Data(secret.utf8)))
    }

    func existingAppkey(_ id: String) async throws -> Appkey {
        guard Appkey.isWellFormed(id) else {
            throw Rejection(.appkeyWellFormed, "'\(id.prefix(32))' is not an appkey")
        }
        guard let appkey = try await storage.appkey(id: id) else {
            throw Rejection(.appkeyExists, "no appkey '\(id)'")
        }
        return appkey
    }

    // MARK: - Key stores

    public func createKeyStore(appkey: String, settings: KeyStoreSettings, actor: String) async throws -> KeyStore {
        try settings.validate()
        _ = try await existingAppkey(appkey)
        try await checkNameFree(settings.name, appkey: appkey, except: nil)
        try Self.validateDescription(settings.description)
        let id = try await storage.nextIdentifier(for: .keyStore)
        let now = clock.now
        let store = KeyStore(
            id: id, appkey: appkey, name: settings.name, description: settings.description,
            ip4AuthUse: settings.ip4AuthUse, macAuthUse: settings.macAuthUse,
            certificateAuthUse: settings.certificateAuthUse, authMode: settings.authMode,
            created: Stamp(user: actor, at: now), lastChange: Stamp(user: actor, at: now))
        try await retrying(duplicate: .keyStoreNameFree) {
            try await storage.commit(
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
    public func updateKeyStore(
        appkey: String, store reference: KeyStoreReference, settings: KeyStoreSettings, actor: String
    )
        async throws -> KeyStore
    {
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
            try await storage.commit(
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
    public func deleteKeyStore(
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
                    keyStoreId: store.id, changes: [.change("status", "ACTIVE", "DELETED")], at: now),
            ])
            for entry in entries {
                changes.mutations +=
                    transitionChanges(
                        entry, to: .deleted, action: .authDelete, actor: actor, at: now
                    ).1.mutations
            }
            try await storage.commit(changes)
            store.revision += 1
            return store
        }
    }

    static func storeFields(_ before: KeyStore?, _ after: KeyStore) -> [AuditEvent.Change] {
        func yn(_ flag: Bool?) -> String? { flag.map { $0 ? "Y" : "N" } }
        let fields: [(String, String?, String?)] = [
            ("name", before?.name, after.name),
            ("description", before?.description, after.description),
            ("ip4AuthUse", yn(before?.ip4AuthUse), yn(after.ip4AuthUse)),
            ("macAuthUse", yn(before?.macAuthUse), yn(after.macAuthUse)),
            ("certificateAuthUse", yn(before?.certificateAuthUse), yn(after.certificateAuthUse)),
            ("authMode", before?.authMode.rawValue, after.authMode.rawValue),
        ]
        return fields.filter { $0.1 != $0.2 }.map { AuditEvent.Change(field: $0.0, before: $0.1, after: $0.2) }
    }

    /// An active key store of `appkey`, by id or name; Invalid Request (key-store-known) when there is none.
    public func liveKeyStore(appkey: String, _ reference: KeyStoreReference) async throws -> KeyStore {
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
    private func checkNameFree(_ name: String, appkey: String, except id: Int?) async throws {
        let taken = try await storage.keyStores(appkey: appkey).contains {
            $0.status == .active && $0.name == name && $0.id != id
        }
        if taken { throw Rejection(.keyStoreNameFree, "a key store named '\(name)' exists in this appkey") }
    }

    // MARK: - Keys

    /// Creates a key. A secret takes its value; symmetric and asymmetric keys get fresh material as version 0.
    public func createKey(
        appkey: String, store reference: KeyStoreReference, type: KeyType, name: String, description: String = "",
        autoRotationPeriod: Int = 0, secretValue: String? = nil, actor: String
    ) async throws -> ManagedKey {
        if type == .secret {
            guard let secretValue else { throw Rejection.invalidField(.requiredMembers, "secretValue", "is required") }
            guard secretValue.utf8.count <= Limits.textBytes else {
                throw Rejection.invalidField(
                    .secretWithin32KB, "secretValue", "is over the limit of \(Limits.textBytes) bytes")
            }
        }
        try Self.validateName(name, field: "name")
        if type == .secret {
            guard autoRotationPeriod == 0 else {
                throw Rejection.invalidField(.otherwiseMalformed, "autoRotationPeriod", "must be 0 for a secret")
            }
        } else {
            try Self.validateRotationPeriod(autoRotationPeriod)
        }
        let store = try await liveStore(appkey: appkey, reference)
        try Self.validateDescription(description)
        let storeId = store.id
        let material: Data
        switch type {
        case .secret: material = Data((secretValue ?? "").utf8)
        case .symmetric: material = KeyMaterial.generateSymmetric()
        case .asymmetric: material = try KeyMaterial.generateAsymmetric()
        }
        let now = clock.now
        let stamp = Stamp(user: actor, at: now)
        let key = ManagedKey(
            id: configuration.identifiers.randomHex(bytes: 16), appkey: appkey, keyStoreId: store.id, name: name,
            description: description, type: type, status: .active, autoRotationPeriod: autoRotationPeriod,
            nextRotationAt: autoRotationPeriod > 0 ? now.addingTimeInterval(Double(autoRotationPeriod) * 86_400) : nil,
            deletionAt: nil, latestVersion: 0, created: stamp, lastChange: stamp)
        var changes = ChangeSet([
            .insert(.key(key)),
            .putSealed(
                .keyMaterial(keyId: key.id, version: 0),
                try vault.seal(material, for: .keyMaterial(keyId: key.id, version: 0))),
        ])
        if type.isVersioned {
            changes.append(
                .insert(
                    .keyVersion(
                        KeyVersion(keyId: key.id, number: 0, status: .inService, created: stamp, lastChange: stamp))))
        }
        changes.append(
            event(
                .keyCreate, actor: actor, appkey: appkey, target: .key, id: key.id, keyStoreId: store.id, keyId: key.id,
                keyVersion: type.isVersioned ? 0 : nil,
                changes: [
                    .set("name", name), .set("type", type.rawValue), .set("status", KeyStatus.active.rawValue),
                    .set("autoRotationPeriod", String(autoRotationPeriod)),
                ], at: now))
        try await retrying {
            // The store is read again on a retry: a deletion that won the race is then refused as key-store-known.
            let current = try await liveStore(appkey: appkey, .id(storeId))
            try await storage.commit(
                ChangeSet([.requireKeyStoreRevision(id: current.id, revision: current.revision)] + changes.mutations))
        }
        return key
    }

    /// A key of `appkey` that has not been deleted; Invalid Key ID otherwise.
    func ownedKey(appkey: String, keyId: String) async throws -> ManagedKey {
        guard ManagedKey.isWellFormedID(keyId) else {
            throw Rejection(.keyIDWellFormed, "'\(keyId.prefix(64))' is not a key id")
        }
        guard let key = try await storage.key(id: keyId) else { throw Rejection(.keyExists, "no key '\(keyId)'") }
        guard key.appkey == appkey else { throw Rejection(.keyOfThisAppkey, "key \(keyId) belongs to another appkey") }
        guard key.status != .deleted else { throw Rejection(.keyNotDeleted, "key \(keyId) was deleted") }
        guard try await storage.keyStore(id: key.keyStoreId)?.status != .deleted else {
            throw Rejection(.keyStoreNotDeleted, "the key store of key \(keyId) was deleted")
        }
        return key
    }

    /// Creates a new version of an In Service key; it becomes the primary version.
    public func rotateKey(appkey: String, keyId: String, actor: String) async throws -> KeyVersion {
        try await retrying {
            var key = try await ownedKey(appkey: appkey, keyId: keyId)
            guard key.type.isVersioned else { throw Rejection(.keyHasVersions, "a secret has no versions to rotate") }
            guard key.status == .active else {
                throw Rejection(
                    .rotationNeedsActiveKey, "key \(keyId) is \(key.status.rawValue); only ACTIVE keys rotate")
            }
            return try await rotate(&key, actor: actor, action: .keyRotate)
        }
    }

    private func rotate(_ key: inout ManagedKey, actor: String, action: AuditAction) async throws -> KeyVersion {
        let now = clock.now
        let stamp = Stamp(user: actor, at: now)
        let material = key.type == .symmetric ? KeyMaterial.generateSymmetric() : try KeyMaterial.generateAsymmetric()
        let previous = key.latestVersion
        key.latestVersion += 1
        key.lastChange = stamp
        if key.autoRotationPeriod > 0 {
            key.nextRotationAt = now.addingTimeInterval(Double(key.autoRotationPeriod) * 86_400)
        }
        let version = KeyVersion(
            keyId: key.id, number: key.latestVersion, status: .inService, created: stamp, lastChange: stamp)
        let context = SealContext.keyMaterial(keyId: key.id, version: version.number)
        try await storage.commit(
            ChangeSet([
                .update(.key(key)),
                .insert(.keyVersion(version)),
                .putSealed(context, try vault.seal(material, for: context)),
                event(
                    action, actor: actor, appkey: key.appkey, target: .keyVersion, id: "\(key.id)/\(version.number)",
                    keyStoreId: key.keyStoreId, keyId: key.id, keyVersion: version.number,
                    changes: [.change("latestVersion", String(previous), String(version.number))], at: now),
            ]))
        key.revision += 1
        return version
    }

    /// Schedules an In Service key for deletion after the deletion delay (7 days).
    public func scheduleKeyDeletion(appkey: String, keyId: String, actor: String) async throws -> ManagedKey {
        try await changeKeyStatus(
            appkey: appkey, keyId: keyId, from: .active, to: .pendingDeletion, action: .keyScheduleDeletion,
            actor: actor)
    }

    /// Returns a key pending deletion to service.
    public func cancelKeyDeletion(appkey: String, keyId: String, actor: String) async throws -> ManagedKey {
        try await changeKeyStatus(
            appkey: appkey, keyId: keyId, from: .pendingDeletion, to: .active, action: .keyCancelDeletion, actor: actor)
    }

    /// Deletes a key pending deletion at once; its material is destroyed and a tombstone remains.
    public func deleteKey(appkey: String, keyId: String, actor: String) async throws -> ManagedKey {
        try await changeKeyStatus(
            appkey: appkey, keyId: keyId, from: .pendingDeletion, to: .deleted, action: .keyDelete, actor: actor)
    }

    private func changeKeyStatus(
        appkey: String, keyId: String, from expected: KeyStatus, to target: KeyStatus, action: AuditAction,
        actor: String
    ) async throws -> ManagedKey {
        try await retrying {
            let key = try await ownedKey(appkey: appkey, keyId: keyId)
            guard key.status == expected else {
                let check: DecisionCheck
                switch target {
                case .pendingDeletion: check = .scheduledDeletionNeedsActiveKey
                case .active: check = .cancellationNeedsPendingKey
                case .deleted: check = .deletionNeedsPendingKey
                }
                throw Rejection(
                    check, "key \(keyId) is \(key.status.rawValue); \(action.rawValue) needs \(expected.rawValue)")
            }
            return try await transition(key, to: target, action: action, actor: actor)
        }
    }

    private func transition(
        _ key: ManagedKey, to target: KeyStatus, action: AuditAction, actor: String
    ) async throws
        -> ManagedKey
    {
        var key = key
        let now = clock.now
        let before = key.status
        let beforeDeletion = key.deletionAt
        key.status = target
        key.lastChange = Stamp(user: actor, at: now)
        switch target {
        case .pendingDeletion: key.deletionAt = now.addingTimeInterval(configuration.deletionDelay)
        case .active: key.deletionAt = nil
        case .deleted: key.deletionAt = now
        }
        var changes = ChangeSet([
            .update(.key(key)),
            event(
                action, actor: actor, appkey: key.appkey, target: .key, id: key.id, keyStoreId: key.keyStoreId,
                keyId: key.id,
                changes: [
                    .change("status", before.rawValue, target.rawValue),
                    .change("deletionAt", beforeDeletion.map(Timestamp.rfc3339), key.deletionAt.map(Timestamp.rfc3339)),
                ], at: now),
        ])
        if target == .deleted { changes.append(.deleteSealedItems(prefix: "key/\(key.id)/")) }
        try await storage.commit(changes)
        key.revision += 1
        return key
    }

    /// Replaces a secret's value.
    public func updateSecret(appkey: String, keyId: String, value: String, actor: String) async throws -> ManagedKey {
        guard value.utf8.count <= Limits.textBytes else {
            throw Rejection.invalidField(
                .secretWithin32KB, "secretValue", "is over the limit of \(Limits.textBytes) bytes")
        }
        return try await retrying {
            var key = try await ownedKey(appkey: appkey, keyId: keyId)
            guard key.type == .secret else { throw Rejection(.keyTypeFits, "key \(keyId) is not a secret") }
            guard key.status == .active else {
                throw Rejection(.keyInServiceForUse, "key \(keyId) is \(key.status.rawValue)")
            }
            let now = clock.now
            key.lastChange = Stamp(user: actor, at: now)
            let context = SealContext.keyMaterial(keyId: keyId, version: 0)
            try await storage.commit(
                ChangeSet([
                    .update(.key(key)),
                    .putSealed(context, try vault.seal(Data(value.utf8), for: context)),
                    event(
                        .secretUpdate, actor: actor, appkey: appkey, target: .key, id: keyId,
                        keyStoreId: key.keyStoreId,
                        keyId: keyId, changes: [], at: now),
                ]))
            key.revision += 1
            return key
        }
    }

    // MARK: - Key versions

    /// Schedules one version for deletion. The primary version cannot be deleted: rotate first.
    public func scheduleVersionDeletion(
        appkey: String, keyId: String, version: Int, actor: String
    ) async throws
        -> KeyVersion
    {
        try await changeVersionStatus(
            appkey: appkey, keyId: keyId, number: version, from: .inService, to: .pendingDeletion,
            action: .versionScheduleDeletion, actor: actor)
    }

    public func cancelVersionDeletion(
        appkey: String, keyId: String, version: Int, actor: String
    ) async throws
        -> KeyVersion
    {
        try await changeVersionStatus(
            appkey: appkey, keyId: keyId, number: version, from: .pendingDeletion, to: .inService,
            action: .versionCancelDeletion, actor: actor)
    }

    /// Deletes a version pending deletion at once, destroying its material.
    public func deleteVersion(appkey: String, keyId: String, version: Int, actor: String) async throws -> KeyVersion {
        try await changeVersionStatus(
            appkey: appkey, keyId: keyId, number: version, from: .pendingDeletion, to: .deleted,
            action: .versionDelete, actor: actor)
    }

    private func changeVersionStatus(
        appkey: String, keyId: String, number: Int, from expected: EntryStatus, to target: EntryStatus,
        action: AuditAction, actor: String
    ) async throws -> KeyVersion {
        try await retrying {
            let key = try await ownedKey(appkey: appkey, keyId: keyId)
            guard key.type.isVersioned else { throw Rejection(.keyHasVersions, "a secret has no versions") }
            let versions = try await storage.versions(keyId: keyId)
            guard let version = versions.first(where: { $0.number == number }), version.status != .deleted else {
                throw Rejection(
                    number > key.latestVersion ? .versionNotNewerThanKey : .versionExists,
                    "key \(keyId) has no version \(number)")
            }
            guard version.status == expected else {
                throw Rejection(
                    .versionStatusFits,
                    "version \(number) is \(version.status.rawValue); \(action.rawValue) needs \(expected.rawValue)")
            }
            if target == .pendingDeletion, versions.primary?.number == number {
                throw Rejection(
                    .versionNotPrimary,
                    "version \(number) is the primary version of key \(keyId); rotate the key before deleting it")
            }
            return try await transition(version, of: key, to: target, action: action, actor: actor)
        }
    }

    private func transition(
        _ version: KeyVersion, of key: ManagedKey, to target: EntryStatus, action: AuditAction, actor: String
    ) async throws -> KeyVersion {
        var version = version
        let now = clock.now
        let before = version.status
        let beforeDeletion = version.deletionAt
        version.status = target
        version.lastChange = Stamp(user: actor, at: now)
        switch target {
        case .pendingDeletion: version.deletionAt = now.addingTimeInterval(configuration.deletionDelay)
        case .inService: version.deletionAt = nil
        case .deleted: version.deletionAt = now
        }
        var changes = ChangeSet([
            .update(.keyVersion(version)),
            event(
                action, actor: actor, appkey: key.appkey, target: .keyVersion, id: "\(key.id)/\(version.number)",
                keyStoreId: key.keyStoreId, keyId: key.id, keyVersion: version.number,
                changes: [
                    .change("status", before.rawValue, target.rawValue),
                    .change(
                        "deletionAt", beforeDeletion.map(Timestamp.rfc3339), version.deletionAt.map(Timestamp.rfc3339)),
                ], at: now),
        ])
        if target == .deleted { changes.append(.deleteSealed(.keyMaterial(keyId: key.id, version: version.number))) }
        try await storage.commit(changes)
        version.revision += 1
        return version
    }

    // MARK: - Client authentication entries

    /// Registers an IPv4 address or CIDR, or a MAC address.
    public func addAuthEntry(
        appkey: String, store reference: KeyStoreReference, kind: AuthKind, value: String, description: String = "",
        actor: String
    ) async throws -> AuthEntry {
        let canonical = try Self.canonicalAuthValue(kind: kind, value)
        let store = try await liveStore(appkey: appkey, reference)
        try await checkEntryFree(kind, canonical, in: store)
        try Self.validateDescription(description)
        let id = try await storage.nextIdentifier(for: .authEntry)
        let now = clock.now
        let entry = AuthEntry(
            id: id, appkey: appkey, keyStoreId: store.id, kind: kind, value: canonical, description: description,
            status: .inService, created: Stamp(user: actor, at: now), lastChange: Stamp(user: actor, at: now))
        try await retrying(duplicate: .authValueFree) {
            let current = try await liveStore(appkey: appkey, .id(entry.keyStoreId))
            try await storage.commit(
                ChangeSet([
                    .requireKeyStoreRevision(id: current.id, revision: current.revision),
                    .insert(.authEntry(entry)),
                    event(
                        .authAdd, actor: actor, appkey: appkey, target: .authEntry, id: String(id),
                        keyStoreId: store.id,
                        changes: [.set("kind", kind.rawValue), .set("value", canonical), .set("status", "IN_SERVICE")],
                        at: now),
                ]))
        }
        return entry
    }

    static func canonicalAuthValue(kind: AuthKind, _ value: String) throws(Rejection) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .ipv4:
            switch IPv4Network.parse(trimmed) {
            case .success(let network): return network.description
            case .failure(let failure):
                throw Rejection.invalidField(.authValueWellFormed, "value", "'\(trimmed.prefix(64))': \(failure)")
            }
        case .mac:
            guard let mac = MACAddress(trimmed) else {
                throw Rejection.invalidField(
                    .authValueWellFormed, "value",
                    "'\(trimmed.prefix(64))' is not a MAC address (expected aa:bb:cc:dd:ee:ff)")
            }
            return mac.description
        case .certificate:
            try validateName(trimmed, field: "name")
            return trimmed
        }
    }

    /// Issues a client certificate from the installation's CA and registers it in a key store.
    public func issueCertificate(
        appkey: String, store reference: KeyStoreReference, name: String, password: String, lifetimeDays: Int,
        description: String = "", actor: String
    ) async throws -> AuthEntry {
        try Self.validateName(name, field: "name")
        try Self.validateCertificatePassword(password)
        guard Limits.certificateLifetimeDays.contains(lifetimeDays) else {
            throw Rejection.invalidField(
                .certificateParametersValid, "lifeTime",
                "is \(lifetimeDays) days, outside \(Limits.certificateLifetimeDays.lowerBound)…\(Limits.certificateLifetimeDays.upperBound)"
            )
        }
        let store = try await liveStore(appkey: appkey, reference)
        try await checkEntryFree(.certificate, name, in: store)
        try Self.validateDescription(description)
        let id = try await storage.nextIdentifier(for: .authEntry)
        let now = clock.now
        let issued = try authority.issueClientCertificate(
            commonName: name, organizationalUnit: store.name, now: now, lifetimeDays: lifetimeDays)
        let summary = issued.certificate.issuedSummary
        let entry = AuthEntry(
            id: id, appkey: appkey, keyStoreId: store.id, kind: .certificate, value: name, description: description,
            status: .inService, certificate: summary, created: Stamp(user: actor, at: now),
            lastChange: Stamp(user: actor, at: now))
        try await retrying(duplicate: .authValueFree) {
            let current = try await liveStore(appkey: appkey, .id(entry.keyStoreId))
            try await storage.commit(
                ChangeSet([
                    .requireKeyStoreRevision(id: current.id, revision: current.revision),
                    .insert(.authEntry(entry)),
                    .putSealed(
                        .certificateKey(entryId: id),
                        try vault.seal(issued.privateKey.rawRepresentation, for: .certificateKey(entryId: id))),
                    .putSealed(
                        .certificatePassword(entryId: id),
                        try vault.seal(Data(password.utf8), for: .certificatePassword(entryId: id))),
                    event(
                        .authAdd, actor: actor, appkey: appkey, target: .authEntry, id: String(id),
                        keyStoreId: store.id,
                        changes: [
                            .set("kind", AuthKind.certificate.rawValue), .set("value", name),
                            .set("status", "IN_SERVICE"),
                            .set("sha256", summary.sha256), .set("notAfter", Timestamp.rfc3339(summary.notAfter)),
                        ], at: now),
                ]))
        }
        return entry
    }

    /// The live (not deleted) entry of `kind` with `value` in a key store.
    func liveEntry(
        appkey: String, store reference: KeyStoreReference, kind: AuthKind, value: String
    ) async throws
        -> AuthEntry
    {
        let store = try await liveStore(appkey: appkey, reference)
        let canonical = (try? Self.canonicalAuthValue(kind: kind, value)) ?? value
        guard
            let entry = try await storage.authEntries(keyStoreId: store.id).first(where: {
                $0.kind == kind && $0.value == canonical && $0.status != .deleted
            })
        else {
            throw Rejection(
                .entryExists, "no \(kind.displayName) entry '\(canonical.prefix(64))' in key store '\(store.name)'",
                field: kind == .certificate ? "name" : "value")
        }
        return entry
    }

    /// Refuses a value a live entry of the key store already has.
    private func checkEntryFree(_ kind: AuthKind, _ value: String, in store: KeyStore) async throws {
        let taken = try await storage.authEntries(keyStoreId: store.id).contains {
            $0.kind == kind && $0.value == value && $0.status != .deleted
        }
        if taken {
            throw Rejection(.authValueFree, "\(kind.displayName) '\(value)' is already registered in '\(store.name)'")
        }
    }

    public func scheduleAuthDeletion(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, actor: String
    ) async throws -> AuthEntry {
        try await changeEntryStatus(
            appkey: appkey, store: store, kind: kind, value: value, from: .inService, to: .pendingDeletion,
            action: .authScheduleDeletion, actor: actor)
    }

    public func cancelAuthDeletion(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, actor: String
    ) async throws -> AuthEntry {
        try await changeEntryStatus(
            appkey: appkey, store: store, kind: kind, value: value, from: .pendingDeletion, to: .inService,
            action: .authCancelDeletion, actor: actor)
    }

    /// Deletes an entry pending deletion at once; a tombstone remains.
    public func deleteAuthEntry(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, actor: String
    ) async throws -> AuthEntry {
        try await changeEntryStatus(
            appkey: appkey, store: store, kind: kind, value: value, from: .pendingDeletion, to: .deleted,
            action: .authDelete, actor: actor)
    }

    private func changeEntryStatus(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, from expected: EntryStatus,
        to target: EntryStatus, action: AuditAction, actor: String
    ) async throws -> AuthEntry {
        try await retrying {
            let entry = try await liveEntry(appkey: appkey, store: store, kind: kind, value: value)
            guard entry.status == expected else {
                throw Rejection(
                    .entryStatusFits,
                    "\(kind.displayName) entry '\(entry.value)' is \(entry.status.rawValue); \(action.rawValue) needs \(expected.rawValue)"
                )
            }
            return try await transition(entry, to: target, action: action, actor: actor)
        }
    }

    private func transition(
        _ entry: AuthEntry, to target: EntryStatus, action: AuditAction, actor: String
    )
        async throws -> AuthEntry
    {
        var (entry, changes) = transitionChanges(entry, to: target, action: action, actor: actor, at: clock.now)
        try await storage.commit(changes)
        entry.revision += 1
        return entry
    }

    /// The entry moved to `target`, and the changes that record it (a certificate's sealed key and password go with
    /// a deletion).
    func transitionChanges(
        _ entry: AuthEntry, to target: EntryStatus, action: AuditAction, actor: String, at now: Date
    ) -> (AuthEntry, ChangeSet) {
        var entry = entry
        let before = entry.status
        let beforeDeletion = entry.deletionAt
        entry.status = target
        entry.lastChange = Stamp(user: actor, at: now)
        switch target {
        case .pendingDeletion: entry.deletionAt = now.addingTimeInterval(configuration.deletionDelay)
        case .inService: entry.deletionAt = nil
        case .deleted: entry.deletionAt = now
        }
        var changes = ChangeSet([
            .update(.authEntry(entry)),
            event(
                action, actor: actor, appkey: entry.appkey, target: .authEntry, id: String(entry.id),
                keyStoreId: entry.keyStoreId,
                changes: [
                    .change("status", before.rawValue, target.rawValue),
                    .change(
                        "deletionAt", beforeDeletion.map(Timestamp.rfc3339), entry.deletionAt.map(Timestamp.rfc3339)),
                ], at: now),
        ])
        if target == .deleted {
            changes.append(.deleteSealed(.certificateKey(entryId: entry.id)))
            changes.append(.deleteSealed(.certificatePassword(entryId: entry.id)))
        }
        return (entry, changes)
    }

    /// A PKCS#12 file with an issued certificate, its key and the CA certificate, protected by `password`, or by
    /// the password chosen when the certificate was issued when `password` is `nil`.
    public func exportCertificate(
        appkey: String, store: KeyStoreReference, name: String, password: String? = nil
    )
        async throws -> [UInt8]
    {
        let entry = try await liveEntry(appkey: appkey, store: store, kind: .certificate, value: name)
        guard entry.status == .inService, let summary = entry.certificate else {
            throw Rejection(.entryStatusFits, "certificate '\(name)' is \(entry.status.rawValue)", field: "name")
        }
        guard let sealedKey = try await storage.sealedItem(.certificateKey(entryId: entry.id)) else {
            throw CoreError(.storage, "the private key of certificate '\(name)' is missing")
        }
        let chosen: String
        if let password {
            try Self.validateCertificatePassword(password)
            chosen = password
        } else {
            guard let sealed = try await storage.sealedItem(.certificatePassword(entryId: entry.id)) else {
                throw CoreError(.storage, "the password of certificate '\(name)' is missing")
            }
            chosen = String(
                decoding: try vault.open(sealed, for: .certificatePassword(entryId: entry.id)), as: UTF8.self)
        }
        let key = try P256.Signing.PrivateKey(
            rawRepresentation: try vault.open(sealedKey, for: .certificateKey(entryId: entry.id)))
        let certificate = try Certificate.parseChain(Data(summary.pem.utf8))[0]
        return try PKCS12.export(
            certificate: certificate, privateKey: key, chain: [authority.certificate], password: chosen,
            friendlyName: name)
    }

    /// A PKCS#12 password: 1 to 1024 bytes, no control character. PKCS#12 passwords are C strings, so a NUL would
    /// cut the password short (even to nothing); other control characters cannot be typed reliably where the
    /// certificate is opened.
    static func validateCertificatePassword(_ password: String) throws(Rejection) {
        guard !password.isEmpty, password.utf8.count <= Limits.passwordBytes else {
            throw Rejection.invalidField(
                .certificateParametersValid, "password", "must be 1 to \(Limits.passwordBytes) bytes")
        }
        guard !password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Rejection.invalidField(
                .certificateParametersValid, "password", "contains a control character; use printable characters")
        }
    }

    /// The password chosen when a certificate was issued (SKM shows it in certificate details).
    func certificatePassword(entryId: Int) async throws -> String? {
        guard let sealed = try await storage.sealedItem(.certificatePassword(entryId: entryId)) else { return nil }
        return String(decoding: try vault.open(sealed, for: .certificatePassword(entryId: entryId)), as: UTF8.self)
    }

    // MARK: - Background work

    /// Carries out what fell due at the clock's current time: deletions whose 7 days passed, and automatic
    /// rotations. One failure does not stop the rest; it is reported.
    public func runDueWork() async -> DueWorkReport {
        var report = DueWorkReport()
        let work: DueWork
        do {
            work = try await storage.dueWork(at: clock.now)
        } catch is CancellationError {
            return report
        } catch {
            report.failures.append("cannot read due work: \(error)")
            return report
        }
        for key in work.keysToPurge {
            do {
                _ = try await retrying {
                    guard let current = try await storage.key(id: key.id), current.status == .pendingDeletion,
                        (current.deletionAt ?? .distantFuture) <= clock.now
                    else { return key }
                    return try await transition(current, to: .deleted, action: .keyPurge, actor: "system:purge")
                }
                report.purgedKeys += 1
            } catch {
                report.failures.append("purge key \(key.id): \(error)")
            }
        }
        for version in work.versionsToPurge {
            do {
                _ = try await retrying {
                    guard let key = try await storage.key(id: version.keyId),
                        let current = try await storage.versions(keyId: version.keyId).first(where: {
                            $0.number == version.number
                        }),
                        current.status == .pendingDeletion, (current.deletionAt ?? .distantFuture) <= clock.now
                    else { return version }
                    return try await transition(
                        current, of: key, to: .deleted, action: .versionPurge, actor: "system:purge")
                }
                report.purgedVersions += 1
            } catch {
                report.failures.append("purge version \(version.number) of key \(version.keyId): \(error)")
            }
        }
        for entry in work.entriesToPurge {
            do {
                _ = try await retrying {
                    guard let current = try await storage.authEntry(id: entry.id), current.status == .pendingDeletion,
                        (current.deletionAt ?? .distantFuture) <= clock.now
                    else { return entry }
                    return try await transition(current, to: .deleted, action: .authPurge, actor: "system:purge")
                }
                report.purgedEntries += 1
            } catch {
                report.failures.append("purge auth entry \(entry.id): \(error)")
            }
        }
        for key in work.keysToRotate {
            do {
                try await retrying {
                    guard var current = try await storage.key(id: key.id), current.status == .active,
                        current.autoRotationPeriod > 0, (current.nextRotationAt ?? .distantFuture) <= clock.now
                    else { return }
                    _ = try await rotate(&current, actor: "system:rotation", action: .keyRotate)
                }
                report.rotatedKeys += 1
            } catch {
                report.failures.append("rotate key \(key.id): \(error)")
            }
        }
        return report
    }
}
