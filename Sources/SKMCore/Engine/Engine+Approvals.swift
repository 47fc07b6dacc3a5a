import Foundation
import SKMPrimitives

/// The approval workflow of an appkey: whether changes to client authentication wait for an approver, and who
/// approves. Everyone else who may change the appkey is a member.
package struct ApprovalSettings: Sendable, Hashable, Codable {
    package var required: Bool
    /// The actors (`cli:jkim`, `uak:<id>`) who may approve or reject a request, never their own.
    package var approvers: [String]

    package init(required: Bool = false, approvers: [String] = []) {
        self.required = required
        self.approvers = approvers
    }
}

/// A failure of the approval workflow's own commands (who may approve what); the API's refusals are ``Rejection``s.
package typealias ApprovalError = CodedFailure<ApprovalErrorCode>

package enum ApprovalErrorCode: String, ErrorCode, CaseIterable {
    /// The actor is not an approver of the appkey.
    case notApprover
    /// The actor made the request: no one approves their own.
    case ownRequest
    /// Nothing waits for approval there.
    case nothingWaiting
    /// Turning the workflow on with no approver would leave every request waiting for ever.
    case noApprover
    /// The actor named is not one: `cli:` with a user name, or `uak:` with a User Access Key of the appkey.
    case unknownActor
}

/// The approval workflow (SKM's console: an appkey setting, the roles approver and member, requests that wait).
///
/// While it is on, registering an IPv4 address, a MAC address or a certificate makes an entry Scheduled to
/// Register (`PENDING_APPROVAL`), and cancelling an entry's deletion makes it Scheduled to Cancel Deletion
/// (`CANCELLATION_PENDING_APPROVAL`); neither is used for client authentication until an approver, who is not the
/// requester, approves it. A rejected registration is deleted; a rejected cancellation leaves the deletion as it
/// was scheduled. Every step is an audit event.
extension Engine {
    static func approvalSettingName(_ appkey: String) -> String { "approval/\(appkey)" }

    package func approvalSettings(appkey: String) async throws -> ApprovalSettings {
        try await guardedApprovalSettings(appkey: appkey).settings
    }

    /// The approval settings, and the mutation that makes a commit conflict if they change before it: what a step
    /// that relies on who approves commits with.
    func guardedApprovalSettings(appkey: String) async throws -> (settings: ApprovalSettings, guard: ChangeSet.Mutation)
    {
        let name = Self.approvalSettingName(appkey)
        let stored = try await storage.setting(name)
        let guarded = ChangeSet.Mutation.swapSetting(name, expected: stored, new: stored)
        guard let stored else { return (ApprovalSettings(), guarded) }
        do {
            return (try JSONDecoder().decode(ApprovalSettings.self, from: stored), guarded)
        } catch {
            throw CoreError(.storage, "the approval settings of appkey \(appkey) are damaged")
        }
    }

    /// Turns the workflow on or off. On needs an approver (given here, or already named).
    package func setApprovalRequired(
        appkey: String, _ required: Bool, approvers added: [String] = [], actor: String
    ) async throws -> ApprovalSettings {
        _ = try await existingAppkey(appkey)
        var settings = try await approvalSettings(appkey: appkey)
        try Self.mayChange(settings, actor: actor)
        var mutations: [ChangeSet.Mutation] = []
        let now = clock.now
        for approver in added where !settings.approvers.contains(approver) {
            try await validateApprover(approver, appkey: appkey)
            settings.approvers.append(approver)
            mutations.append(
                event(
                    .approverGrant, actor: actor, appkey: appkey, target: .appkey, id: appkey,
                    changes: [.set(.member, approver)], at: now))
        }
        if required && settings.approvers.isEmpty {
            throw ApprovalError(
                .noApprover, "name an approver first (--approver ACTOR): with none, every request would wait for ever")
        }
        if settings.required != required {
            settings.required = required
            mutations.append(
                event(
                    required ? .approvalEnable : .approvalDisable, actor: actor, appkey: appkey, target: .appkey,
                    id: appkey, changes: [], at: now))
        }
        guard !mutations.isEmpty else { return settings }
        try await storage.commit(
            ChangeSet([.putSetting(Self.approvalSettingName(appkey), try JSONEncoder().encode(settings))] + mutations))
        return settings
    }

    /// Makes `member` an approver, or (with `approver` false) a member only.
    package func setApprover(
        appkey: String, member: String, approver: Bool, actor: String
    ) async throws -> ApprovalSettings {
        _ = try await existingAppkey(appkey)
        var settings = try await approvalSettings(appkey: appkey)
        try Self.mayChange(settings, actor: actor)
        guard settings.approvers.contains(member) != approver else { return settings }
        if approver {
            try await validateApprover(member, appkey: appkey)
            settings.approvers.append(member)
        } else {
            settings.approvers.removeAll { $0 == member }
            if settings.required && settings.approvers.isEmpty {
                throw ApprovalError(
                    .noApprover, "\(member) is the last approver; name another, or turn the workflow off first")
            }
        }
        try await storage.commit(
            ChangeSet([
                .putSetting(Self.approvalSettingName(appkey), try JSONEncoder().encode(settings)),
                event(
                    approver ? .approverGrant : .approverRevoke, actor: actor, appkey: appkey, target: .appkey,
                    id: appkey, changes: [approver ? .set(.member, member) : .change(.member, member, nil)],
                    at: clock.now),
            ]))
        return settings
    }

    /// An approver is `cli:USER` (a user name of 1 to 64 letters, digits, `.`, `_`, `-` or `@`) or `uak:ID`, a User Access
    /// Key of the appkey: a typo must not name an approver no one is.
    func validateApprover(_ actor: String, appkey: String) async throws {
        if actor.hasPrefix("cli:") {
            guard Self.isUserName(actor.dropFirst(4)) else {
                throw ApprovalError(.unknownActor, "'\(actor.prefix(80))' is not an actor: cli:USER takes a user name")
            }
            return
        }
        if actor.hasPrefix("uak:") {
            let id = String(actor.dropFirst(4))
            guard let key = try await storage.userAccessKey(id: id), key.appkey == appkey, key.status == .inService
            else {
                throw ApprovalError(
                    .unknownActor, "'\(actor.prefix(80))' names no User Access Key of appkey \(appkey) in service")
            }
            return
        }
        throw ApprovalError(
            .unknownActor, "'\(actor.prefix(80))' is not an actor: name cli:USER or uak:ID (a User Access Key's id)")
    }

    /// A user name the command line may act as (`cli:NAME`): 1 to 64 ASCII letters, digits, `.`, `_`, `-` or `@`.
    package static func isUserName(_ name: Substring) -> Bool {
        (1...64).contains(name.count)
            && name.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-@".unicodeScalars.contains($0))
            })
    }

    /// What revoking User Access Key `id` does to the approval settings: it stops being an approver, or, when it is
    /// rotated by itself or an approver, its `successor` takes its role. A revoked key must not stay listed as an
    /// approver, and a rotation must not take the role away.
    func approverChanges(
        appkey: String, leaving id: String, successor: String?, actor: String, at now: Date
    ) async throws -> [ChangeSet.Mutation] {
        var settings = try await approvalSettings(appkey: appkey)
        let leaving = "uak:\(id)"
        guard let index = settings.approvers.firstIndex(of: leaving) else { return [] }
        var mutations: [ChangeSet.Mutation] = []
        // The role passes on only when the key rotates itself or an approver rotates it: a member who rotated an
        // approver's key would otherwise hold an approver's secret.
        if let successor, actor == leaving || settings.approvers.contains(actor) {
            settings.approvers[index] = "uak:\(successor)"
            mutations.append(
                event(
                    .approverGrant, actor: actor, appkey: appkey, target: .appkey, id: appkey,
                    changes: [.set(.member, "uak:\(successor)")], at: now))
        } else {
            settings.approvers.remove(at: index)
        }
        mutations.append(
            event(
                .approverRevoke, actor: actor, appkey: appkey, target: .appkey, id: appkey,
                changes: [.change(.member, leaving, nil)], at: now))
        return [.putSetting(Self.approvalSettingName(appkey), try JSONEncoder().encode(settings))] + mutations
    }

    /// While the workflow is on, only an approver changes it (turns it off, names or removes approvers): a member who
    /// could would approve their own requests through a puppet. While it is off, or when no approver is left, whoever
    /// manages the appkey sets it up.
    static func mayChange(_ settings: ApprovalSettings, actor: String) throws {
        // With no approver left (the last one's User Access Key was revoked), whoever manages the appkey names one.
        guard settings.required, !settings.approvers.isEmpty, !settings.approvers.contains(actor) else { return }
        throw ApprovalError(
            .notApprover,
            "\(actor) is not an approver: while the approval workflow is on, only an approver changes it")
    }

    /// The setting that records which User Access Key a rotation replaced with `id`.
    static func predecessorSettingName(_ id: String) -> String { "access-key/predecessor/\(id)" }

    /// The actors `actor` replaced: for a User Access Key, the keys its rotation replaced, and theirs, newest first.
    /// Whoever holds the new key made what the old one requested.
    func formerActors(of actor: String) async throws -> [String] {
        guard actor.hasPrefix("uak:") else { return [] }
        var former: [String] = []
        var current = String(actor.dropFirst(4))
        while former.count < 1000, let data = try await storage.setting(Self.predecessorSettingName(current)) {
            current = String(decoding: data, as: UTF8.self)
            former.append("uak:\(current)")
        }
        return former
    }

    /// Whether changes to `appkey`'s client authentication wait for an approver.
    func approvalRequired(_ appkey: String) async throws -> Bool {
        try await approvalSettings(appkey: appkey).required
    }

    /// The entries of `appkey` whose registration or cancelled deletion waits for approval, oldest request first.
    package func pendingApprovals(appkey: String) async throws -> [AuthEntry] {
        var waiting: [AuthEntry] = []
        for store in try await storage.keyStores(appkey: appkey) {
            waiting += try await storage.authEntries(keyStoreId: store.id).filter { $0.status.awaitsApproval }
        }
        return waiting.sorted { ($0.lastChange.at, $0.id) < ($1.lastChange.at, $1.id) }
    }

    /// Approves or rejects the request waiting on entry `id`. The actor must be an approver and not the requester
    /// (the actor of the change that made the entry wait).
    package func decide(appkey: String, entryId id: Int, approve: Bool, actor: String) async throws -> AuthEntry {
        let settings = try await approvalSettings(appkey: appkey)
        guard settings.approvers.contains(actor) else {
            throw ApprovalError(.notApprover, "\(actor) is not an approver of appkey \(appkey)")
        }
        return try await retrying {
            guard let entry = try await storage.authEntry(id: id), entry.appkey == appkey, entry.status.awaitsApproval
            else {
                throw ApprovalError(
                    .nothingWaiting, "no request of appkey \(appkey) waits for approval on entry #\(id)")
            }
            try await checkNotOwn(entry.lastChange.user, at: entry.lastChange.at, actor: actor)
            let action: AuditAction = approve ? .authApprove : .authReject
            let now = clock.now
            var (moved, changes): (AuthEntry, ChangeSet)
            switch (entry.status, approve) {
            case (_, true):
                (moved, changes) = transitionChanges(entry, to: .inService, action: action, actor: actor, at: now)
            case (.cancellationPendingApproval, false):
                // The deletion stands as it was scheduled (and is purged at once if its time has passed).
                (moved, changes) = heldTransition(entry, to: .pendingDeletion, action: action, actor: actor, at: now)
            default:
                (moved, changes) = transitionChanges(entry, to: .deleted, action: action, actor: actor, at: now)
            }
            try await storage.commit(
                ChangeSet(try await approverStillApproves(appkey: appkey, actor: actor) + changes.mutations))
            moved.revision += 1
            return moved
        }
    }

    /// The API's approve and reject (`POST …/approvals/{entryId}/approve|reject`): ``decide(appkey:entryId:approve:actor:)``
    /// with its refusals as the catalogue's. The order is the rule files': the caller is an approver, a request of the
    /// appkey waits on the entry, the caller did not make it.
    func decideOverAPI(appkey: String, entry text: String, approve: Bool, actor: String) async throws -> AuthEntry {
        try await decisionOverAPI(appkey: appkey, id: text, field: "entryId", naming: "an entry id", actor: actor) {
            try await decide(appkey: appkey, entryId: $0, approve: approve, actor: actor)
        }
    }

    /// An approval or rejection over the API (an entry's or a change request's), in the rule files' order: the caller
    /// is an approver, the path's id is a number, then `decision` with its refusals as the catalogue's.
    func decisionOverAPI<T>(
        appkey: String, id text: String, field: String, naming what: String, actor: String,
        _ decision: (Int) async throws -> T
    ) async throws -> T {
        let settings = try await approvalSettings(appkey: appkey)
        guard settings.approvers.contains(actor) else {
            throw Rejection(.approverRole, "\(actor) is not an approver of appkey \(appkey)")
        }
        guard let id = RequestFields.wholeNumber(text, maximumDigits: 18), id > 0 else {
            throw Rejection(.approvalWaiting, "'\(text.prefix(32))' is not \(what)", field: field)
        }
        do {
            return try await decision(id)
        } catch let error as ApprovalError {
            switch error.code {
            case .notApprover: throw Rejection(.approverRole, error.reason)
            case .ownRequest: throw Rejection(.notOwnRequest, error.reason)
            case .nothingWaiting, .noApprover, .unknownActor: throw Rejection(.approvalWaiting, error.reason)
            }
        }
    }

    /// A status change that keeps the entry's deletion time: a cancellation waiting for approval, and its rejection.
    func heldTransition(
        _ entry: AuthEntry, to target: EntryStatus, action: AuditAction, actor: String, at now: Date
    ) -> (AuthEntry, ChangeSet) {
        var moved = entry
        moved.status = target
        moved.lastChange = Stamp(user: actor, at: now)
        return (
            moved,
            ChangeSet([
                .update(.authEntry(moved)),
                event(
                    action, actor: actor, appkey: entry.appkey, target: .authEntry, id: String(entry.id),
                    keyStoreId: entry.keyStoreId, changes: [.change(.status, entry.status.rawValue, target.rawValue)],
                    at: now),
            ])
        )
    }
}
