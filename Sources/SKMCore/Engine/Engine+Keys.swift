import Crypto
import Foundation
import X509

/// Keys: creation, rotation, secrets, and their deletion lifecycle.
extension Engine {
    /// Creates a key. A secret takes its value; symmetric and asymmetric keys get fresh material as version 0.
    package func createKey(
        appkey: String, store reference: KeyStoreReference, type: KeyType, name: String, description: String = "",
        autoRotationPeriod: Int = 0, secretValue: String? = nil, actor: String
    ) async throws -> ManagedKey {
        try await gated(appkey, actor: actor, sealing: secretValue.map { Data($0.utf8) }) { request in
            request.kind = .createKey
            request.keyStoreId = try await liveStore(appkey: appkey, reference).id
            (request.keyType, request.name, request.description) = (type, name, description)
            request.autoRotationPeriod = autoRotationPeriod
        } _: {
            try await insertKey(
                appkey: appkey, store: reference, type: type, name: name, description: description,
                autoRotationPeriod: autoRotationPeriod, secretValue: secretValue, importedMaterial: nil, actor: actor)
        }
    }

    /// Imports an AES-256 key: a symmetric key whose version 0 is the 32 bytes given, sealed as any other key's.
    /// It never rotates (its only material is the one given), so its automatic rotation is off.
    package func importSymmetricKey(
        appkey: String, store reference: KeyStoreReference, name: String, description: String = "", material: Data,
        actor: String
    ) async throws -> ManagedKey {
        guard material.count == ImportedKeyMaterial.keyBytes else {
            throw Rejection.invalidField(
                .importedMaterialValid, "symmetricKey",
                "holds \(material.count) bytes; an AES-256 key is \(ImportedKeyMaterial.keyBytes) bytes")
        }
        return try await gated(appkey, actor: actor, sealing: material) { request in
            request.kind = .importKey
            request.keyStoreId = try await liveStore(appkey: appkey, reference).id
            (request.keyType, request.name, request.description) = (.symmetric, name, description)
        } _: {
            try await insertKey(
                appkey: appkey, store: reference, type: .symmetric, name: name, description: description,
                autoRotationPeriod: 0, secretValue: nil, importedMaterial: material, actor: actor)
        }
    }

    private func insertKey(
        appkey: String, store reference: KeyStoreReference, type: KeyType, name: String, description: String,
        autoRotationPeriod: Int, secretValue: String?, importedMaterial: Data?, actor: String
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
        case .symmetric: material = importedMaterial ?? KeyMaterial.generateSymmetric()
        case .asymmetric: material = try KeyMaterial.generateAsymmetric()
        }
        let now = clock.now
        let stamp = Stamp(user: actor, at: now)
        let key = ManagedKey(
            id: configuration.identifiers.randomHex(bytes: 16), appkey: appkey, keyStoreId: store.id, name: name,
            description: description, type: type, status: .active, autoRotationPeriod: autoRotationPeriod,
            nextRotationAt: autoRotationPeriod > 0 ? now.addingTimeInterval(Double(autoRotationPeriod) * 86_400) : nil,
            deletionAt: nil, latestVersion: 0, created: stamp, lastChange: stamp, imported: importedMaterial != nil)
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
                key.imported ? .keyImport : .keyCreate, actor: actor, appkey: appkey, target: .key, id: key.id,
                keyStoreId: store.id, keyId: key.id,
                keyVersion: type.isVersioned ? 0 : nil,
                changes: [
                    .set(.name, name), .set(.type, type.rawValue), .set(.status, KeyStatus.active.rawValue),
                    .set(.autoRotationPeriod, String(autoRotationPeriod)),
                ], at: now))
        try await retrying {
            // The store is read again on a retry: a deletion that won the race is then refused as key-store-known.
            let current = try await liveStore(appkey: appkey, .id(storeId))
            try await commitChange(
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
    package func rotateKey(appkey: String, keyId: String, actor: String) async throws -> KeyVersion {
        try await retrying {
            var key = try await ownedKey(appkey: appkey, keyId: keyId)
            guard key.type.isVersioned else { throw Rejection(.keyHasVersions, "a secret has no versions to rotate") }
            guard !key.imported else {
                throw Rejection(
                    .rotationNotForImportedKey,
                    "key \(keyId) was imported; an imported key's only material is the one given")
            }
            guard key.status == .active else {
                throw Rejection(
                    .rotationNeedsActiveKey, "key \(keyId) is \(key.status.rawValue); only ACTIVE keys rotate")
            }
            return try await rotate(&key, actor: actor, action: .keyRotate)
        }
    }

    func rotate(_ key: inout ManagedKey, actor: String, action: AuditAction) async throws -> KeyVersion {
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
                    changes: [.change(.latestVersion, String(previous), String(version.number))], at: now),
            ]))
        key.revision += 1
        return version
    }

    /// Schedules an In Service key for deletion after the deletion delay (7 days).
    package func scheduleKeyDeletion(appkey: String, keyId: String, actor: String) async throws -> ManagedKey {
        try await changeKeyStatus(
            appkey: appkey, keyId: keyId, from: .active, to: .pendingDeletion, action: .keyScheduleDeletion,
            actor: actor)
    }

    /// Returns a key pending deletion to service.
    package func cancelKeyDeletion(appkey: String, keyId: String, actor: String) async throws -> ManagedKey {
        try await changeKeyStatus(
            appkey: appkey, keyId: keyId, from: .pendingDeletion, to: .active, action: .keyCancelDeletion, actor: actor)
    }

    /// Deletes a key pending deletion at once; its material is destroyed and a tombstone remains.
    package func deleteKey(appkey: String, keyId: String, actor: String) async throws -> ManagedKey {
        try await changeKeyStatus(
            appkey: appkey, keyId: keyId, from: .pendingDeletion, to: .deleted, action: .keyDelete, actor: actor)
    }

    func changeKeyStatus(
        appkey: String, keyId: String, from expected: KeyStatus, to target: KeyStatus, action: AuditAction,
        actor: String
    ) async throws -> ManagedKey {
        try await gated(appkey, actor: actor) { request in
            switch target {
            case .pendingDeletion: request.kind = .scheduleKeyDeletion
            case .active: request.kind = .cancelKeyDeletion
            case .deleted: request.kind = .deleteKey
            }
            request.keyId = keyId
            request.keyStoreId = try await ownedKey(appkey: appkey, keyId: keyId).keyStoreId
        } _: {
            try await changeKeyStatusNow(
                appkey: appkey, keyId: keyId, from: expected, to: target, action: action, actor: actor)
        }
    }

    private func changeKeyStatusNow(
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
                    check,
                    "key \(keyId) is \(key.status.displayName); \(Self.doing(action)) needs it \(expected.displayName)")
            }
            return try await transition(key, to: target, action: action, actor: actor)
        }
    }

    func transition(
        _ key: ManagedKey, to target: KeyStatus, action: AuditAction, actor: String
    ) async throws -> ManagedKey {
        let now = clock.now
        var (key, fields) = moved(key, to: target, actor: actor, at: now)
        var changes = ChangeSet([
            .update(.key(key)),
            event(
                action, actor: actor, appkey: key.appkey, target: .key, id: key.id, keyStoreId: key.keyStoreId,
                keyId: key.id, changes: fields, at: now),
        ])
        if target == .deleted { changes.append(.deleteSealedItems(prefix: "key/\(key.id)/")) }
        try await commitChange(changes)
        key.revision += 1
        return key
    }

    /// Replaces a secret's value.
    package func updateSecret(appkey: String, keyId: String, value: String, actor: String) async throws -> ManagedKey {
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
}
