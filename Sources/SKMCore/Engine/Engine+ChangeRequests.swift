import Foundation
import SKMPrimitives
import Synchronization

/// A change to a key store, a key or a key version that waits for an approver while the appkey's approval workflow
/// is on (SKM's console: the requests of the Key Store Management tab, decided in the Approval List).
///
/// Nothing changes until an approver accepts it; the key store, key or version shows the transient state
/// ``Kind/displayState`` in the meantime. A secret's value or an imported key's material waits sealed, as key
/// material is, and is destroyed when the request is decided.
package struct ChangeRequest: Sendable, Hashable, Codable {
    package enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case createKeyStore = "CREATE_KEY_STORE"
        case updateKeyStore = "UPDATE_KEY_STORE"
        case deleteKeyStore = "DELETE_KEY_STORE"
        case createKey = "CREATE_KEY"
        case importKey = "IMPORT_KEY"
        case scheduleKeyDeletion = "SCHEDULE_KEY_DELETION"
        case cancelKeyDeletion = "CANCEL_KEY_DELETION"
        case deleteKey = "DELETE_KEY"
        case scheduleVersionDeletion = "SCHEDULE_VERSION_DELETION"
        case cancelVersionDeletion = "CANCEL_VERSION_DELETION"
        case deleteVersion = "DELETE_VERSION"

        /// The transient state SKM's console shows while the request waits.
        package var displayState: String {
            switch self {
            case .createKeyStore, .createKey, .importKey: return "Scheduled to Create"
            case .updateKeyStore: return "Scheduled to Change"
            case .scheduleKeyDeletion, .scheduleVersionDeletion: return "Scheduled to Request Deletion"
            case .cancelKeyDeletion, .cancelVersionDeletion: return "Scheduled to Cancel Deletion"
            case .deleteKeyStore, .deleteKey, .deleteVersion: return "Scheduled to Delete"
            }
        }
    }

    /// The decision on a request, as the approval's answer and `skm approval list` name it.
    package enum Status: String, Sendable, Hashable, Codable {
        case pendingApproval = "PENDING_APPROVAL"
        case approved = "APPROVED"
        case rejected = "REJECTED"
        /// Approved, but the change could no longer be made.
        case failed = "FAILED"
    }

    /// Numbered per appkey, from 1.
    package var id: Int
    package var appkey: String
    package var kind: Kind
    /// The key store concerned: the one changed or deleted, or the one a key is created in.
    package var keyStoreId: Int?
    package var keyId: String?
    package var version: Int?
    /// The settings a key store's creation or change asks for.
    package var storeSettings: KeyStoreSettings?
    package var keyType: KeyType?
    /// The name of the key a creation or import asks for.
    package var name: String?
    package var description: String?
    package var autoRotationPeriod: Int?
    /// Whether a secret's value or an imported key's material waits with the request, sealed.
    package var sealedValue: Bool
    package var requestedBy: String
    package var requestedAt: Date

    /// What it asks for: "create symmetric key 'orders' in key store #3".
    package var summary: String {
        Self.describe(
            kind, keyType: keyType, name: name ?? storeSettings?.name, keyStoreId: keyStoreId, keyId: keyId,
            version: version)
    }

    package static func describe(
        _ kind: Kind, keyType: KeyType?, name: String?, keyStoreId: Int?, keyId: String?, version: Int?
    ) -> String {
        let store = keyStoreId.map { "key store #\($0)" } ?? "a key store"
        let key = keyId.map { "key \($0)" } ?? "a key"
        let named = name.map { " '\($0)'" } ?? ""
        let versionOf = "version \(version.map(String.init) ?? "?") of \(key)"
        switch kind {
        case .createKeyStore: return "create key store\(named)"
        case .updateKeyStore: return "change the settings of \(store)"
        case .deleteKeyStore: return "delete \(store)"
        case .createKey:
            let what: String
            switch keyType {
            case .secret: what = "secret"
            case .symmetric: what = "symmetric key"
            case .asymmetric: what = "asymmetric key"
            case nil: what = "key"
            }
            return "create \(what)\(named) in \(store)"
        case .importKey: return "import symmetric key\(named) into \(store)"
        case .scheduleKeyDeletion: return "schedule the deletion of \(key)"
        case .cancelKeyDeletion: return "cancel the deletion of \(key)"
        case .deleteKey: return "delete \(key) at once"
        case .scheduleVersionDeletion: return "schedule the deletion of \(versionOf)"
        case .cancelVersionDeletion: return "cancel the deletion of \(versionOf)"
        case .deleteVersion: return "delete \(versionOf) at once"
        }
    }

    var sealContext: SealContext { SealContext(label: "change/\(appkey)/\(id)") }
}

/// Thrown by a key-store, key or version change the approval workflow holds: the change was validated as if it were
/// made, and waits as ``request``. The API answers it with the request; the command line says it waits.
package struct ChangeAwaitsApproval: Error, Sendable {
    package var request: ChangeRequest
}

/// What a decided change request ended as: its status, and the key store, key or version its approval made.
package struct ChangeDecision: Sendable {
    package var request: ChangeRequest
    package var status: ChangeRequest.Status
    package var keyStore: KeyStore?
    package var key: ManagedKey?
    package var version: KeyVersion?
    /// Why an approved change could not be made.
    package var reason: String?
}

/// How a gated change runs: at once; to its commit only (validated for a request); or as an approval applies it,
/// with the decision's mutations in the same transaction.
enum ChangeMode: Sendable {
    case direct
    case validating
    case applying(AppliedDecision)
}

/// The mutations that decide a request, made again on every attempt (a concurrent decision makes them throw
/// "nothing waits"), and whether a commit took them.
final class AppliedDecision: Sendable {
    /// The request's number, which the events of the change it makes carry.
    let number: Int
    let mutations: @Sendable () async throws -> [ChangeSet.Mutation]
    let committed = Mutex(false)

    init(number: Int, _ mutations: @escaping @Sendable () async throws -> [ChangeSet.Mutation]) {
        self.number = number
        self.mutations = mutations
    }
}

/// The end of a validating run: the change would have been committed.
private struct ChangeValidated: Error {}

extension Engine {
    @TaskLocal static var changeMode: ChangeMode = .direct

    /// Each waiting request is a setting of its own, so that requests made at once never contend for one row.
    static func changeRequestPrefix(_ appkey: String) -> String { "change/\(appkey)/" }
    static func changeRequestName(_ appkey: String, _ id: Int) -> String { changeRequestPrefix(appkey) + String(id) }

    /// Whether a gated change is only being validated (nothing it does may last, not even a number it takes).
    static var isValidating: Bool {
        if case .validating = changeMode { return true }
        return false
    }

    /// Commits a gated change: as it is, not at all when it was only being validated, or with the decision of the
    /// approval that applies it.
    func commitChange(_ changes: ChangeSet) async throws {
        switch Self.changeMode {
        case .direct:
            try await storage.commit(changes)
        case .validating:
            throw ChangeValidated()
        case .applying(let decision):
            // The change's own events say which request it carries out.
            let carried = changes.mutations.map { mutation -> ChangeSet.Mutation in
                guard case .appendEvent(var event) = mutation else { return mutation }
                event.changes.append(.set(.changeRequest, String(decision.number)))
                return .appendEvent(event)
            }
            try await storage.commit(ChangeSet(carried + (try await decision.mutations())))
            decision.committed.withLock { $0 = true }
        }
    }

    /// Runs a key-store, key or version change, or, while the approval workflow of `appkey` is on, validates it as
    /// if it were made and makes it a request (``ChangeAwaitsApproval``). Refusals are the change's own either way.
    func gated<T>(
        _ appkey: String, actor: String, sealing value: Data? = nil,
        _ request: (inout ChangeRequest) async throws -> Void, _ body: () async throws -> T
    ) async throws -> T {
        guard case .direct = Self.changeMode, try await approvalRequired(appkey) else { return try await body() }
        do {
            // A change that would change nothing (the same settings again) is answered at once, as without the
            // workflow.
            return try await Self.$changeMode.withValue(.validating) { try await body() }
        } catch is ChangeValidated {}
        let now = clock.now
        var draft = ChangeRequest(
            id: 0, appkey: appkey, kind: .createKey, sealedValue: value != nil, requestedBy: actor, requestedAt: now)
        try await request(&draft)
        var request = draft
        request.id = try await storage.nextIdentifier(for: .changeRequests(of: appkey))
        var mutations: [ChangeSet.Mutation] = [
            .insertSetting(Self.changeRequestName(appkey, request.id), try JSONEncoder().encode(request)),
            changeEvent(.changeRequest, request, actor: actor, at: now),
        ]
        if let value {
            mutations.append(.putSealed(request.sealContext, try vault.seal(value, for: request.sealContext)))
        }
        try await retrying { try await storage.commit(ChangeSet(mutations)) }
        throw ChangeAwaitsApproval(request: request)
    }

    /// Change request `id` of `appkey` while it waits, with its stored form (what deciding it swaps out).
    func waitingChange(_ appkey: String, id: Int) async throws -> (Data, ChangeRequest)? {
        guard let data = try await storage.setting(Self.changeRequestName(appkey, id)) else { return nil }
        return (data, try Self.decodeChange(data, appkey: appkey))
    }

    static func decodeChange(_ data: Data, appkey: String) throws -> ChangeRequest {
        do {
            return try JSONDecoder().decode(ChangeRequest.self, from: data)
        } catch {
            throw CoreError(.storage, "a change request of appkey \(appkey) is damaged")
        }
    }

    /// The change requests of `appkey` that wait for approval, oldest first.
    package func pendingChanges(appkey: String) async throws -> [ChangeRequest] {
        try await storage.settings(prefix: Self.changeRequestPrefix(appkey)).values.map {
            try Self.decodeChange($0, appkey: appkey)
        }.sorted { $0.id < $1.id }
    }

    /// The audit event of a step of request `request`: on the key store, key or version it changes (the key store a
    /// key is created in; the appkey for a new key store), with the request's number and kind.
    func changeEvent(
        _ action: AuditAction, _ request: ChangeRequest, actor: String, at now: Date
    ) -> ChangeSet.Mutation {
        var changes: [AuditEvent.Change] = [
            .set(.changeRequest, String(request.id)), .set(.change, request.kind.rawValue),
        ]
        let target: AuditEvent.TargetKind
        let id: String
        switch request.kind {
        case .createKeyStore:
            (target, id) = (.appkey, request.appkey)
            changes.append(.set(.name, request.storeSettings?.name))
        case .updateKeyStore, .deleteKeyStore:
            (target, id) = (.keyStore, String(request.keyStoreId ?? 0))
        case .createKey, .importKey:
            (target, id) = (.keyStore, String(request.keyStoreId ?? 0))
            changes += [.set(.name, request.name), .set(.type, request.keyType?.rawValue)]
        case .scheduleKeyDeletion, .cancelKeyDeletion, .deleteKey:
            (target, id) = (.key, request.keyId ?? "")
        case .scheduleVersionDeletion, .cancelVersionDeletion, .deleteVersion:
            (target, id) = (.keyVersion, "\(request.keyId ?? "")/\(request.version ?? 0)")
        }
        return event(
            action, actor: actor, appkey: request.appkey, target: target, id: id, keyStoreId: request.keyStoreId,
            keyId: request.keyId, keyVersion: request.version, changes: changes, at: now)
    }

    /// Approves or rejects change request `id` of `appkey`. The actor must be an approver and not the requester.
    /// An approved change is made then, by the approver, in the transaction that decides it; one that can no longer
    /// be made (its key store was deleted meanwhile, a name was taken) is decided as failed, with the reason.
    package func decideChange(appkey: String, id: Int, approve: Bool, actor: String) async throws -> ChangeDecision {
        let settings = try await approvalSettings(appkey: appkey)
        guard settings.approvers.contains(actor) else {
            throw ApprovalError(.notApprover, "\(actor) is not an approver of appkey \(appkey)")
        }
        guard let (_, request) = try await waitingChange(appkey, id: id) else {
            throw ApprovalError(.nothingWaiting, "no change request #\(id) of appkey \(appkey) waits for approval")
        }
        try await checkNotOwn(request.requestedBy, at: request.requestedAt, actor: actor)
        let name = Self.changeRequestName(appkey, id)
        let decisionMutations: @Sendable (AuditAction) -> @Sendable () async throws -> [ChangeSet.Mutation] = {
            [self] action in
            {
                guard let (stored, _) = try await self.waitingChange(appkey, id: id) else {
                    throw ApprovalError(
                        .nothingWaiting, "change request #\(id) of appkey \(appkey) was decided meanwhile")
                }
                var mutations = try await self.approverStillApproves(appkey: appkey, actor: actor)
                mutations += [
                    .swapSetting(name, expected: stored, new: nil),
                    self.changeEvent(action, request, actor: actor, at: self.clock.now),
                ]
                if request.sealedValue { mutations.append(.deleteSealed(request.sealContext)) }
                return mutations
            }
        }
        var decision = ChangeDecision(request: request, status: approve ? .approved : .rejected)
        if approve {
            let applied = AppliedDecision(number: id, decisionMutations(.changeApprove))
            do {
                try await Self.$changeMode.withValue(.applying(applied)) {
                    try await apply(request, actor: actor, into: &decision)
                }
                if applied.committed.withLock({ $0 }) { return decision }
                // The change turned out to change nothing: the request is decided all the same.
            } catch let refusal as Rejection {
                decision = ChangeDecision(request: request, status: .failed, reason: refusal.reason)
                let failed = decisionMutations(.changeFail)
                try await retrying { try await storage.commit(ChangeSet(try await failed())) }
                return decision
            }
        }
        let mutations = decisionMutations(approve ? .changeApprove : .changeReject)
        try await retrying { try await storage.commit(ChangeSet(try await mutations())) }
        return decision
    }

    /// Makes the change a request asked for, as `actor` (the approver).
    private func apply(_ request: ChangeRequest, actor: String, into decision: inout ChangeDecision) async throws {
        let appkey = request.appkey
        let store = KeyStoreReference.id(request.keyStoreId ?? 0)
        let keyId = request.keyId ?? ""
        let version = request.version ?? 0
        func sealed() async throws -> Data {
            guard let data = try await storage.sealedItem(request.sealContext) else {
                // Destroyed by a decision that won the race.
                throw ApprovalError(.nothingWaiting, "change request #\(request.id) was decided meanwhile")
            }
            return try vault.open(data, for: request.sealContext)
        }
        switch request.kind {
        case .createKeyStore:
            guard let settings = request.storeSettings else {
                throw CoreError(.storage, "change request without settings")
            }
            decision.keyStore = try await createKeyStore(appkey: appkey, settings: settings, actor: actor)
        case .updateKeyStore:
            guard let settings = request.storeSettings else {
                throw CoreError(.storage, "change request without settings")
            }
            decision.keyStore = try await updateKeyStore(appkey: appkey, store: store, settings: settings, actor: actor)
        case .deleteKeyStore:
            decision.keyStore = try await deleteKeyStore(appkey: appkey, store: store, actor: actor)
        case .createKey:
            let type = request.keyType ?? .symmetric
            let value = type == .secret ? String(decoding: try await sealed(), as: UTF8.self) : nil
            decision.key = try await createKey(
                appkey: appkey, store: store, type: type, name: request.name ?? "",
                description: request.description ?? "", autoRotationPeriod: request.autoRotationPeriod ?? 0,
                secretValue: value, actor: actor)
        case .importKey:
            decision.key = try await importSymmetricKey(
                appkey: appkey, store: store, name: request.name ?? "", description: request.description ?? "",
                material: try await sealed(), actor: actor)
        case .scheduleKeyDeletion:
            decision.key = try await scheduleKeyDeletion(appkey: appkey, keyId: keyId, actor: actor)
        case .cancelKeyDeletion:
            decision.key = try await cancelKeyDeletion(appkey: appkey, keyId: keyId, actor: actor)
        case .deleteKey:
            decision.key = try await deleteKey(appkey: appkey, keyId: keyId, actor: actor)
        case .scheduleVersionDeletion:
            decision.version = try await scheduleVersionDeletion(
                appkey: appkey, keyId: keyId, version: version, actor: actor)
        case .cancelVersionDeletion:
            decision.version = try await cancelVersionDeletion(
                appkey: appkey, keyId: keyId, version: version, actor: actor)
        case .deleteVersion:
            decision.version = try await deleteVersion(appkey: appkey, keyId: keyId, version: version, actor: actor)
        }
    }

    /// Refuses `actor` deciding a request `requester` made: the same actor, or a User Access Key that replaced the
    /// requester's by rotation (once or more), is the requester.
    func checkNotOwn(_ requester: String, at requested: Date, actor: String) async throws {
        guard requester != actor else {
            throw ApprovalError(
                .ownRequest,
                "\(actor) requested this change on \(Timestamp.rfc3339(requested)); another approver must decide it")
        }
        if try await formerActors(of: actor).contains(requester) {
            throw ApprovalError(
                .ownRequest,
                "\(actor) replaced \(requester), which requested this change on \(Timestamp.rfc3339(requested)); "
                    + "another approver must decide it")
        }
    }

    /// The guard of a decision's commit: the actor is still an approver (a role taken away meanwhile makes the
    /// commit conflict, and the retry refuses it).
    func approverStillApproves(appkey: String, actor: String) async throws -> [ChangeSet.Mutation] {
        let (settings, guarded) = try await guardedApprovalSettings(appkey: appkey)
        guard settings.approvers.contains(actor) else {
            throw ApprovalError(.notApprover, "\(actor) is no longer an approver of appkey \(appkey)")
        }
        return [guarded]
    }

    /// The API's approve and reject of a change (`POST …/approvals/changes/{id}/approve|reject`), its refusals the
    /// catalogue's in the rule files' order, as for entries.
    func decideChangeOverAPI(
        appkey: String, id text: String, approve: Bool, actor: String
    ) async throws -> ChangeDecision {
        try await decisionOverAPI(
            appkey: appkey, id: text, field: "changeId", naming: "a change request's number", actor: actor
        ) { try await decideChange(appkey: appkey, id: $0, approve: approve, actor: actor) }
    }
}
