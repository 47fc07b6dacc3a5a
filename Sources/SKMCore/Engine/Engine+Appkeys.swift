import Crypto
import Foundation
import X509

/// A new User Access Key; the secret is shown once and never stored.
package struct IssuedAccessKey: Sendable {
    package var accessKey: UserAccessKey
    package var secret: String
}

/// Appkeys and their User Access Keys.
extension Engine {
    /// Creates an appkey and its first User Access Key.
    package func createAppkey(name: String, actor: String) async throws -> (appkey: Appkey, accessKey: IssuedAccessKey)
    {
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
                            changes: [.set(.name, name)], at: now),
                    ] + mutations))
        }
        return (appkey, accessKey)
    }

    /// Adds a User Access Key to an appkey.
    package func createUserAccessKey(appkey: String, actor: String) async throws -> IssuedAccessKey {
        _ = try await existingAppkey(appkey)
        let (accessKey, mutations) = newAccessKey(appkey: appkey, actor: actor, at: clock.now)
        try await retrying { try await storage.commit(ChangeSet(mutations)) }
        return accessKey
    }

    /// The User Access Keys of an appkey, revoked ones included, oldest first.
    package func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        _ = try await existingAppkey(appkey)
        return try await storage.userAccessKeys(appkey: appkey).sorted {
            ($0.created.at, $0.id) < ($1.created.at, $1.id)
        }
    }

    /// Revokes a User Access Key of `appkey`: its secret and every token issued from it stop working at once.
    package func revokeUserAccessKey(appkey: String, id: String, actor: String) async throws -> UserAccessKey {
        _ = try await existingAppkey(appkey)
        return try await retrying {
            var key = try await revocableAccessKey(appkey: appkey, id: id)
            let guarded = try await protectedApproverKey(appkey: appkey, id: id, actor: actor)
            let now = clock.now
            key.status = .revoked
            try await storage.commit(
                ChangeSet(
                    guarded + [
                        .update(.userAccessKey(key)),
                        event(
                            .userAccessKeyRevoke, actor: actor, appkey: appkey, target: .userAccessKey, id: key.id,
                            changes: [.change(.status, AccessKeyStatus.inService.rawValue, key.status.rawValue)],
                            at: now),
                    ]
                        + (try await approverChanges(
                            appkey: appkey, leaving: key.id, successor: nil, actor: actor, at: now))
                ))
            key.revision += 1
            return key
        }
    }

    /// Replaces a User Access Key of `appkey` with a new one, in one step: the new key is in service and the old one
    /// (with its tokens) revoked.
    package func rotateUserAccessKey(appkey: String, id: String, actor: String) async throws -> IssuedAccessKey {
        _ = try await existingAppkey(appkey)
        return try await retrying {
            var old = try await revocableAccessKey(appkey: appkey, id: id)
            let guarded = try await protectedApproverKey(appkey: appkey, id: id, actor: actor)
            let now = clock.now
            let (issued, mutations) = newAccessKey(appkey: appkey, actor: actor, at: now)
            old.status = .revoked
            let roles = try await approverChanges(
                appkey: appkey, leaving: old.id, successor: issued.accessKey.id, actor: actor, at: now)
            try await storage.commit(
                ChangeSet(
                    guarded + mutations + roles + [
                        .insertSetting(
                            Self.predecessorSettingName(issued.accessKey.id), Data(old.id.utf8)),
                        .update(.userAccessKey(old)),
                        event(
                            .userAccessKeyRotate, actor: actor, appkey: appkey, target: .userAccessKey, id: old.id,
                            changes: [
                                .change(.status, AccessKeyStatus.inService.rawValue, old.status.rawValue),
                                .set(.replacedBy, issued.accessKey.id),
                            ], at: now),
                    ]))
            return issued
        }
    }

    /// An approver's User Access Key is revoked or rotated only by itself or another approver: a member who could
    /// would take the approvers' keys away (and, by rotating one, get a key of theirs). Returns the guard of the
    /// commit: the approval settings as they were checked.
    func protectedApproverKey(appkey: String, id: String, actor: String) async throws -> [ChangeSet.Mutation] {
        let (settings, guarded) = try await guardedApprovalSettings(appkey: appkey)
        let named = "uak:\(id)"
        if settings.approvers.contains(named), actor != named, !settings.approvers.contains(actor) {
            throw Rejection(
                .approverKeyProtected,
                "\(named) is an approver of appkey \(appkey); only itself or another approver revokes or rotates it")
        }
        return [guarded]
    }

    /// A User Access Key of `appkey` in service: what revoking and rotating need.
    func revocableAccessKey(appkey: String, id: String) async throws -> UserAccessKey {
        guard id.utf8.count <= 64, let key = try await storage.userAccessKey(id: id), key.appkey == appkey else {
            throw Rejection(.accessKeyKnown, "no User Access Key '\(id.prefix(64))' in this appkey")
        }
        guard key.status == .inService else {
            throw Rejection(.accessKeyRevocable, "User Access Key \(id) is already \(key.status.rawValue)")
        }
        return key
    }

    func newAccessKey(appkey: String, actor: String, at now: Date) -> (IssuedAccessKey, [ChangeSet.Mutation]) {
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
                    changes: [.set(.status, key.status.rawValue)], at: now),
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
        // From the cache's memory when it holds the answer: awaiting the storage costs every data call an executor
        // hop, though the cache answers without waiting.
        let found: Appkey?
        if let cached = cache?.cachedAppkey(id: id) { found = cached } else { found = try await storage.appkey(id: id) }
        guard let appkey = found else { throw Rejection(.appkeyExists, "no appkey '\(id)'") }
        return appkey
    }
}
