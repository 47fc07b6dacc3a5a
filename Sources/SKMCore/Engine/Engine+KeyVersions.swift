import Crypto
import Foundation
import X509

/// One version of a key and its deletion lifecycle.
extension Engine {
    /// Schedules one version for deletion. The primary version cannot be deleted: rotate first.
    package func scheduleVersionDeletion(
        appkey: String, keyId: String, version: Int, actor: String
    ) async throws
        -> KeyVersion
    {
        try await changeVersionStatus(
            appkey: appkey, keyId: keyId, number: version, from: .inService, to: .pendingDeletion,
            action: .versionScheduleDeletion, actor: actor)
    }

    package func cancelVersionDeletion(
        appkey: String, keyId: String, version: Int, actor: String
    ) async throws
        -> KeyVersion
    {
        try await changeVersionStatus(
            appkey: appkey, keyId: keyId, number: version, from: .pendingDeletion, to: .inService,
            action: .versionCancelDeletion, actor: actor)
    }

    /// Deletes a version pending deletion at once, destroying its material.
    package func deleteVersion(appkey: String, keyId: String, version: Int, actor: String) async throws -> KeyVersion {
        try await changeVersionStatus(
            appkey: appkey, keyId: keyId, number: version, from: .pendingDeletion, to: .deleted,
            action: .versionDelete, actor: actor)
    }

    func changeVersionStatus(
        appkey: String, keyId: String, number: Int, from expected: EntryStatus, to target: EntryStatus,
        action: AuditAction, actor: String
    ) async throws -> KeyVersion {
        try await gated(appkey, actor: actor) { request in
            switch target {
            case .pendingDeletion: request.kind = .scheduleVersionDeletion
            case .deleted: request.kind = .deleteVersion
            default: request.kind = .cancelVersionDeletion
            }
            (request.keyId, request.version) = (keyId, number)
            request.keyStoreId = try await ownedKey(appkey: appkey, keyId: keyId).keyStoreId
        } _: {
            try await changeVersionStatusNow(
                appkey: appkey, keyId: keyId, number: number, from: expected, to: target, action: action, actor: actor)
        }
    }

    private func changeVersionStatusNow(
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
                    "version \(number) is \(version.status.displayName); \(Self.doing(action)) needs it \(expected.displayName)"
                )
            }
            if target == .pendingDeletion, versions.primary?.number == number {
                throw Rejection(
                    .versionNotPrimary,
                    "version \(number) is the primary version of key \(keyId); rotate the key before deleting it")
            }
            return try await transition(version, of: key, to: target, action: action, actor: actor)
        }
    }

    func transition(
        _ version: KeyVersion, of key: ManagedKey, to target: EntryStatus, action: AuditAction, actor: String
    ) async throws -> KeyVersion {
        let now = clock.now
        var (version, fields) = moved(version, to: target, actor: actor, at: now)
        var changes = ChangeSet([
            .update(.keyVersion(version)),
            event(
                action, actor: actor, appkey: key.appkey, target: .keyVersion, id: "\(key.id)/\(version.number)",
                keyStoreId: key.keyStoreId, keyId: key.id, keyVersion: version.number, changes: fields, at: now),
        ])
        if target == .deleted { changes.append(.deleteSealed(.keyMaterial(keyId: key.id, version: version.number))) }
        try await commitChange(changes)
        version.revision += 1
        return version
    }
}
