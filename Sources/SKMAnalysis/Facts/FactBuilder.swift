import Foundation
import SKMCore
import SKMPrimitives
import SKMRules
import SKMWire

/// Builds the facts rules read (``SKMFacts/schema``) for one captured request: what the capture recorded, and the
/// key manager's state as it was at the request's time.
///
/// Facts are observations, never verdicts. Which entity a request is about follows the engine: a data call's key
/// store is its key's, a management call's is the one its path or body names. What the inputs could not observe
/// is unknown, with what would settle it.
///
/// A state read through the API (`skm snapshot fetch`) is the live state of one appkey when it was fetched, without
/// history: deleted keys, entries and key stores, other appkeys and their User Access Keys, key versions and
/// certificate fingerprints are not in it, and a status changed after the request is not the one the request met.
/// All of that is unknown here, never taken for a fact.
package struct FactBuilder: Sendable {
    package let timeline: StateTimeline
    /// How many audit events `events` holds at most (the newest before the request).
    package var eventLimit = 50

    /// The state was read through the API: what it does not list is unknown, not absent.
    let fromAPI: Bool

    package init(timeline: StateTimeline) {
        self.timeline = timeline
        fromAPI = timeline.snapshot.source.kind == "api"
    }

    static let fromExport =
        "analyse with a snapshot from skm snapshot export, which holds the deleted entities and the audit log"

    /// The appkeys whose entities ``facts(for:applying:reads:)`` reads for `record`: its own, and the owners of the
    /// key, key store and User Access Keys it names.
    package func appkeys(readFor record: RequestRecord) -> [String] {
        var owners: [String] = []
        func add(_ appkey: String?) {
            if let appkey, !owners.contains(appkey) { owners.append(appkey) }
        }
        add(record.appkey)
        add(record.keyId.flatMap(timeline.owner(ofKey:)))
        add(record.keyId.flatMap(timeline.store(ofKey:)).flatMap(timeline.owner(ofStore:)))
        add(record.keyStoreId.flatMap(Int.init).flatMap(timeline.owner(ofStore:)))
        add(record.token?.accessKeyId.flatMap(timeline.owner(ofAccessKey:)))
        add(record.userAccessKeyId.flatMap(timeline.owner(ofAccessKey:)))
        add(record.resourceName.flatMap(timeline.owner(ofAccessKey:)))
        return owners
    }

    /// The parts of the state ``facts(for:applying:reads:)`` reads for `captured`, but for the audit history (a
    /// deferred fact of the whole appkey); `nil` when it reads the whole of the appkeys (a key store found by name
    /// among the appkey's, a certificate looked for in every key store's entries).
    package func scopes(readFor captured: CapturedRequest) -> [StateTimeline.Scope]? {
        let record = captured.record
        if record.keyStoreId == nil, record.keyStoreName != nil { return nil }
        // The workflow's settings are the appkey's, and the entry an approval names may be in any of its key stores.
        if let operation = record.operation, Self.approvalOperations.contains(operation) { return nil }
        if !fromAPI, captured.certificateKnown, record.client.cert.present, record.client.cert.sha256 != nil,
            record.appkey != nil
        {
            return nil
        }
        var scopes: [StateTimeline.Scope] = []
        if let appkey = record.appkey { scopes.append(.appkeyStores(appkey)) }
        if let keyId = record.keyId {
            scopes.append(.key(keyId))
            if let store = timeline.store(ofKey: keyId) { scopes.append(.store(store)) }
            // A simulated fix may call with the key's owner's appkey.
            if let owner = timeline.owner(ofKey: keyId), owner != record.appkey {
                scopes.append(.appkeyStores(owner))
            }
        }
        if let id = record.keyStoreId.flatMap(Int.init) { scopes.append(.store(id)) }
        for id in [record.token?.accessKeyId, record.userAccessKeyId, record.resourceName].compactMap({ $0 }) {
            scopes.append(.accessKey(id))
        }
        return scopes
    }

    /// The facts for `captured`, with `change` applied to the state (and the request) first when one is given.
    /// `reads`, when given, hears whether a rule read a per-request fact.
    package func facts(
        for captured: CapturedRequest, applying change: StateChange? = nil, reads: ReadLog? = nil
    ) -> Activation {
        var captured = captured
        switch change {
        case .useAppkey(let appkey)?: captured.record.appkey = appkey
        case .useKeyVersion(let version)?:
            captured.record.query["keyVersion"] = String(version)
            captured.record.requestedKeyVersion = version
        default: break
        }
        let record = captured.record
        let time = record.time
        let operation = record.operation.flatMap(APIOperation.init(rawValue:))

        // The key, its store, the version the request is about.
        let key = record.keyId.flatMap { timeline.key($0, at: time) }.map { apply(change, to: $0) }
        let storeAtTime = store(for: record, key: key?.entity, time: time)
        let versions = key.map { timeline.versions(ofKey: $0.entity.id, at: time).map { apply(change, to: $0) } } ?? []
        let primary = versions.filter { $0.entity.status == .inService }.max { $0.entity.number < $1.entity.number }

        var values: [String: Value] = [:]
        values["request"] = .object(request(captured, operation: operation))
        values["certificate"] = certificate(captured, time: time, change: change)
        values["appkey"] = appkey(record.appkey, time: time)
        let presented = record.token.flatMap { $0.authentic ? $0.accessKeyId : nil } ?? record.userAccessKeyId
        values["accessKey"] = accessKey(presented, time: time)
        if operation == .revokeAccessKey || operation == .rotateAccessKey {
            values["namedAccessKey"] = accessKey(record.resourceName ?? "", variable: "namedAccessKey", time: time)
        } else {
            values["namedAccessKey"] = .object(ObjectValue(type: SKMFacts.accessKey, values: ["exists": .bool(false)]))
        }
        values["store"] = store(storeAtTime, reference: record, time: time, change: change)
        let keyStore = key.flatMap { timeline.store($0.entity.keyStoreId, at: time) }
        values["key"] = self.key(key, store: keyStore, id: record.keyId, primary: primary?.entity.number, time: time)
        if let settle = captured.gaps[.requestBody], [.decrypt, .verify, .verifyStandard].contains(operation) {
            // The version such a request names is in its body, which the capture does not hold.
            values["version"] = .unknown(Unknown(path: "request.body.keyVersion", settle: settle))
        } else if fromAPI {
            values["version"] = .unknown(
                Unknown(
                    path: "version",
                    settle: "key versions are not readable through the API: " + Self.fromExport))
        } else {
            values["version"] = .object(
                version(
                    number: versionNumber(record, operation: operation, primary: primary?.entity.number),
                    versions: versions))
        }
        if operation == .approveChange || operation == .rejectChange {
            values["change"] = changeRequest(record, time: time)
        } else {
            values["change"] = .object(ObjectValue(type: SKMFacts.change, values: ["exists": .bool(false)]))
        }
        if operation == .approveRequest || operation == .rejectRequest {
            values["entry"] = approvalEntry(record, time: time, change: change)
        } else {
            values["entry"] = entry(
                record, operation: operation, store: storeAtTime?.entity, time: time, change: change)
        }
        values["ca"] = authority()
        // The audit history is the costliest fact and few rules read it: it is made on the first read.
        let history = self
        let appkey = record.appkey
        var activation = Activation(
            schema: SKMFacts.schema, values: values,
            deferred: [
                // Read by the approval workflow's checks only.
                "approval": { history.approval(appkey, time: time) },
                "events": {
                    .list(
                        (appkey.map { history.timeline.events(ofAppkey: $0, upTo: time, limit: history.eventLimit) }
                            ?? []).map { .object(history.event($0)) })
                },
            ])
        activation.reads = reads
        return activation
    }

    // MARK: - State

    private func appkey(_ id: String?, time: Date) -> Value {
        guard let id, let appkey = timeline.appkey(id, at: time) else {
            if fromAPI, let id, !timeline.holds(appkey: id) {
                return .unknown(
                    Unknown(
                        path: "appkey.exists",
                        settle:
                            "the state was fetched for another appkey: fetch it with a User Access Key of this one, or "
                            + Self.fromExport))
            }
            return .object(ObjectValue(type: SKMFacts.appkey, values: ["exists": .bool(false)]))
        }
        let names = timeline.stores(ofAppkey: id, at: time).filter { $0.status == .active }.map(\.name)
        return .object(
            ObjectValue(
                type: SKMFacts.appkey,
                values: [
                    "exists": .bool(true), "id": .string(appkey.id), "name": .string(appkey.name),
                    "created": .timestamp(Self.time(appkey.created.at)), "storeNames": .list(names.map(Value.string)),
                ]))
    }

    /// Whether the key manager asked this request for a User Access Key or token: management and token calls do,
    /// except the v1.0 reads, which the API guide serves on the appkey alone and the server's request log says of.
    func credentialsRequired(_ record: RequestRecord, operation: APIOperation?) -> Value {
        guard let operation, operation.category == .management || operation.category == .token else {
            return .bool(false)
        }
        guard record.apiVersion == APIVersion.v1_0.rawValue, operation.isSettingsRead else { return .bool(true) }
        if let recorded = record.credentialsRequired { return .bool(recorded) }
        return .unknown(
            Unknown(
                path: "request.credentialsRequired",
                settle:
                    "v1.0 reads need credentials only when the server is started with --v1-0-reads-need-credentials: "
                    + "analyse the server's request log, which records it"))
    }

    /// A User Access Key as it was at `time`: the one a request presented (its id, or the one its bearer token was
    /// issued to), or the one its path names.
    private func accessKey(_ id: String?, variable: String = "accessKey", time: Date) -> Value {
        guard let id, let found = timeline.accessKey(id, at: time) else {
            if fromAPI, let id, !timeline.holds(accessKey: id) {
                return .unknown(
                    Unknown(
                        path: "\(variable).exists",
                        settle: "the API shows no User Access Key but the one that fetched the state: "
                            + Self.fromExport))
            }
            return .object(ObjectValue(type: SKMFacts.accessKey, values: ["exists": .bool(false)]))
        }
        var fields: [String: Value] = [
            "exists": .bool(true), "id": .string(found.entity.id), "appkey": .string(found.entity.appkey),
            "status": .string(found.entity.status.rawValue),
        ]
        if let statusEvent = found.statusEvent { fields["statusEvent"] = .object(event(statusEvent)) }
        fields["replaced"] =
            fromAPI
            ? .unknown(
                Unknown(
                    path: "\(variable).replaced",
                    settle: "the API does not say which keys a rotation replaced: " + Self.fromExport))
            : .list(timeline.keysReplaced(by: found.entity.id).map { .string("uak:\($0)") })
        return .object(ObjectValue(type: SKMFacts.accessKey, values: fields))
    }

    /// The key store a request is about, as the engine finds it.
    private func store(
        for record: RequestRecord, key: ManagedKey?, time: Date
    ) -> StateTimeline.AtTime<KeyStore>? {
        if let text = record.keyStoreId {
            guard let id = Int(text) else { return nil }
            return timeline.store(id, at: time)
        }
        if let name = record.keyStoreName, let appkey = record.appkey {
            let named = timeline.stores(ofAppkey: appkey, at: time).filter { $0.name == name }
            guard let chosen = named.first(where: { $0.status == .active }) ?? named.last else { return nil }
            return timeline.store(chosen.id, at: time)
        }
        if let key { return timeline.store(key.keyStoreId, at: time) }
        return nil
    }

    /// Whether a state read through the API may show a newer status than the one at `time`.
    private func changedSince(_ stamp: Stamp, _ time: Date) -> Bool {
        fromAPI && stamp.at >= time
    }

    private func unknownSince(_ path: String) -> Value {
        .unknown(
            Unknown(
                path: path,
                settle: "it changed after the request and the API shows only its state now: " + Self.fromExport))
    }

    private func store(
        _ found: StateTimeline.AtTime<KeyStore>?, reference record: RequestRecord, time: Date, change: StateChange?
    ) -> Value {
        guard let store = found?.entity else {
            let named = record.keyStoreId != nil || record.keyStoreName != nil
            if fromAPI, named || (record.keyId.map { !timeline.holds(key: $0) } ?? false) {
                return .unknown(
                    Unknown(
                        path: "store.exists",
                        settle: "the API lists only the live key stores of one appkey: " + Self.fromExport))
            }
            return .object(ObjectValue(type: SKMFacts.store, values: ["exists": .bool(false)]))
        }
        let entries = timeline.entries(ofStore: store.id, at: time).map { apply(change, to: $0) }
        func list(_ kind: AuthKind) -> Value {
            var items: [Value] = entries.filter { $0.entity.kind == kind }.map { entryValue($0, time: time) }
            switch (change, kind) {
            case (.registerAddress(let id, let value)?, .ipv4) where id == store.id,
                (.registerMAC(let id, let value)?, .mac) where id == store.id:
                items.append(.object(simulatedEntry(kind: kind, value: value)))
            case (.registerCertificate(let id, let sha256)?, .certificate) where id == store.id:
                var entry = simulatedEntry(kind: kind, value: "(the presented certificate)")
                entry = ObjectValue(
                    type: SKMFacts.entry,
                    fields: SKMFacts.entry.fields.indices.map { index in
                        SKMFacts.entry.fields[index].name == "sha256" ? .string(sha256) : entry.fields[index]
                    })
                items.append(.object(entry))
            default:
                break
            }
            if fromAPI {
                // Entries deleted before the state was fetched are not listed: the list is not all there was. What
                // is missing is known to be deleted (the API lists every other status, waiting ones included), and
                // nothing else about it is.
                let missing = Unknown(
                    path: "store.\(kind == .ipv4 ? "ipv4s" : kind == .mac ? "macs" : "certificates")",
                    settle: "entries deleted before the state was fetched are not listed by the API: " + Self.fromExport
                )
                items.append(
                    .object(
                        ObjectValue(
                            type: SKMFacts.entry,
                            values: [
                                "exists": .bool(true), "kind": .string(kind.rawValue),
                                "status": .string(EntryStatus.deleted.rawValue), "id": .unknown(missing),
                                "value": .unknown(missing), "sha256": .unknown(missing), "created": .unknown(missing),
                                "deletionAt": .unknown(missing), "statusEvent": .unknown(missing),
                            ])))
            }
            return .list(items)
        }
        let settingsChanged = changedSince(store.lastChange, time)
        func setting(_ name: String, _ value: Value) -> Value {
            settingsChanged ? unknownSince("store.\(name)") : value
        }
        let live: Value =
            fromAPI
            ? .unknown(
                Unknown(path: "store.liveKeys", settle: "the API does not show deleted keys: " + Self.fromExport))
            : .int(Int64(timeline.keys(inStore: store.id, at: time).filter { $0.status != .deleted }.count))
        return .object(
            ObjectValue(
                type: SKMFacts.store,
                values: [
                    "exists": .bool(true), "id": .int(Int64(store.id)), "name": setting("name", .string(store.name)),
                    "appkey": .string(store.appkey), "status": .string(store.status.rawValue),
                    "ip4AuthUse": setting("ip4AuthUse", .bool(store.ip4AuthUse)),
                    "macAuthUse": setting("macAuthUse", .bool(store.macAuthUse)),
                    "certificateAuthUse": setting("certificateAuthUse", .bool(store.certificateAuthUse)),
                    "authMode": setting("authMode", .string(store.authMode.rawValue)),
                    "ipv4s": list(.ipv4), "macs": list(.mac), "certificates": list(.certificate), "liveKeys": live,
                ]))
    }

    /// The entry a simulated registration adds. It has no creation time: the request's own would make the facts
    /// of two requests in the same situation differ.
    private func simulatedEntry(kind: AuthKind, value: String) -> ObjectValue {
        ObjectValue(
            type: SKMFacts.entry,
            values: [
                "exists": .bool(true), "id": .int(-1), "kind": .string(kind.rawValue), "value": .string(value),
                "status": .string(EntryStatus.inService.rawValue),
            ])
    }

    private func key(
        _ found: StateTimeline.AtTime<ManagedKey>?, store: StateTimeline.AtTime<KeyStore>?, id: String?,
        primary: Int?, time: Date
    ) -> Value {
        guard let found else {
            if fromAPI, let id, !timeline.holds(key: id) {
                return .unknown(
                    Unknown(
                        path: "key.exists",
                        settle:
                            "the API lists only the live keys of one appkey, so a deleted key or another appkey's key is not in this state: "
                            + Self.fromExport))
            }
            return .object(ObjectValue(type: SKMFacts.key, values: ["exists": .bool(false)]))
        }
        let key = found.entity
        let statusChanged = changedSince(key.lastChange, time)
        var fields: [String: Value] = [
            "exists": .bool(true), "id": .string(key.id), "appkey": .string(key.appkey),
            "keyStoreId": .int(Int64(key.keyStoreId)), "name": .string(key.name), "type": .string(key.type.rawValue),
            "status": statusChanged ? unknownSince("key.status") : .string(key.status.rawValue),
            "latestVersion": .int(Int64(key.latestVersion)),
            "autoRotationPeriod": .int(Int64(key.autoRotationPeriod)),
            "created": .timestamp(Self.time(key.created.at)),
            "imported":
                fromAPI
                ? .unknown(
                    Unknown(
                        path: "key.imported",
                        settle: "the API does not say whether a key was imported: " + Self.fromExport))
                : .bool(key.imported),
        ]
        if let store = store?.entity {
            fields["storeName"] = .string(store.name)
            fields["storeStatus"] =
                changedSince(store.lastChange, time) ? unknownSince("key.storeStatus") : .string(store.status.rawValue)
        }
        if let primary { fields["primaryVersion"] = .int(Int64(primary)) }
        if statusChanged {
            fields["deletionAt"] = unknownSince("key.deletionAt")
        } else if let deletion = key.deletionAt {
            fields["deletionAt"] = .timestamp(Self.time(deletion))
        }
        if let statusEvent = found.statusEvent { fields["statusEvent"] = .object(event(statusEvent)) }
        if let (number, request) = timeline.waitingCancellation(ofKey: key.id, at: time) {
            fields["waitingCancellation"] = .object(changeValue(number, request: request, decision: nil))
        }
        return .object(ObjectValue(type: SKMFacts.key, values: fields))
    }

    /// The version number a request is about, as the engine picks it.
    private func versionNumber(_ record: RequestRecord, operation: APIOperation?, primary: Int?) -> Int? {
        switch operation {
        case .decrypt?, .verify?:
            return record.inputs.first { $0.field == "ciphertext" || $0.field == "signature" }?.embeddedVersion
        case .verifyStandard?:
            return record.requestedKeyVersion
        case .getSymmetricKey?:
            if record.apiVersion == APIVersion.v1_0.rawValue { return primary }
            return record.query["keyVersion"].flatMap(Int.init) ?? primary
        case .getPrivateKey?, .getPublicKey?:
            return record.query["keyVersion"].flatMap(Int.init) ?? primary
        default:
            return primary
        }
    }

    private func version(number: Int?, versions: [StateTimeline.AtTime<KeyVersion>]) -> ObjectValue {
        guard let number else { return ObjectValue(type: SKMFacts.version, values: ["exists": .bool(false)]) }
        guard let found = versions.first(where: { $0.entity.number == number }) else {
            return ObjectValue(type: SKMFacts.version, values: ["exists": .bool(false), "number": .int(Int64(number))])
        }
        let version = found.entity
        var fields: [String: Value] = [
            "exists": .bool(true), "number": .int(Int64(version.number)), "status": .string(version.status.rawValue),
            "created": .timestamp(Self.time(version.created.at)),
        ]
        if let deletion = version.deletionAt { fields["deletionAt"] = .timestamp(Self.time(deletion)) }
        if let statusEvent = found.statusEvent { fields["statusEvent"] = .object(event(statusEvent)) }
        return ObjectValue(type: SKMFacts.version, values: fields)
    }

    static let approvalOperations: Set<String> = [
        APIOperation.listApprovals.rawValue, APIOperation.approveRequest.rawValue, APIOperation.rejectRequest.rawValue,
        APIOperation.approveChange.rawValue, APIOperation.rejectChange.rawValue,
    ]

    /// The approval workflow of the appkey before the request, from the audit log; unknown without it.
    private func approval(_ appkey: String?, time: Date) -> Value {
        guard !fromAPI else {
            return .unknown(
                Unknown(
                    path: "approval",
                    settle: "the approval workflow is not readable through the API: " + Self.fromExport))
        }
        let settings = appkey.map { timeline.approval(ofAppkey: $0, at: time) } ?? ApprovalSettings()
        return .object(
            ObjectValue(
                type: SKMFacts.approval,
                values: [
                    "required": .bool(settings.required),
                    "approvers": .list(settings.approvers.map(Value.string)),
                ]))
    }

    /// The change request an approval or rejection names by its number (the path's), as it stood before the request.
    private func changeRequest(_ record: RequestRecord, time: Date) -> Value {
        if fromAPI {
            return .unknown(
                Unknown(
                    path: "change.exists",
                    settle: "change requests are not readable through the API: " + Self.fromExport))
        }
        guard let appkey = record.appkey, let text = record.resourceName,
            let number = RequestFields.wholeNumber(text, maximumDigits: 18), number > 0,
            let (request, decision) = timeline.changeRequest(number, ofAppkey: appkey, at: time)
        else {
            return .object(ObjectValue(type: SKMFacts.change, values: ["exists": .bool(false)]))
        }
        return .object(changeValue(number, request: request, decision: decision))
    }

    private func changeValue(_ number: Int, request: AuditEvent, decision: AuditEvent?) -> ObjectValue {
        let status: ChangeRequest.Status
        switch decision?.action {
        case .changeApprove?: status = .approved
        case .changeReject?: status = .rejected
        case .changeFail?: status = .failed
        default: status = .pendingApproval
        }
        return ObjectValue(
            type: SKMFacts.change,
            values: [
                "exists": .bool(true), "id": .int(Int64(number)), "kind": .string(request.after(.change) ?? ""),
                "summary": .string(request.requestedChange ?? "an unknown change"),
                "status": .string(status.rawValue), "requestedBy": .string(request.actor),
                "requested": .timestamp(Self.time(request.time)), "statusEvent": .object(event(decision ?? request)),
            ])
    }

    /// The entry an approval or rejection names by its id (the path's), when it is one of the appkey's.
    private func approvalEntry(_ record: RequestRecord, time: Date, change: StateChange?) -> Value {
        let absent = Value.object(ObjectValue(type: SKMFacts.entry, values: ["exists": .bool(false)]))
        guard let text = record.resourceName, let id = RequestFields.wholeNumber(text, maximumDigits: 18), id > 0,
            let found = timeline.entry(id, at: time), found.entity.appkey == record.appkey
        else {
            if fromAPI {
                return .unknown(
                    Unknown(path: "entry.exists", settle: "the API does not list every entry: " + Self.fromExport))
            }
            return absent
        }
        return entryValue(apply(change, to: found), time: time)
    }

    /// The registered entry an auth-entry request names: in its key store, of its kind, with its value.
    private func entry(
        _ record: RequestRecord, operation: APIOperation?, store: KeyStore?, time: Date, change: StateChange?
    ) -> Value {
        let absent = Value.object(ObjectValue(type: SKMFacts.entry, values: ["exists": .bool(false)]))
        guard let store, let kindText = record.authKind, let kind = AuthKind(rawValue: kindText) else { return absent }
        let raw =
            operation == .downloadCertificate
            ? record.resourceName : kind == .certificate ? record.body?.values["name"] : record.body?.values["value"]
        guard let raw else { return absent }
        let value: String
        switch kind {
        case .ipv4: value = IPv4Network(raw).map(\.description) ?? raw
        case .mac: value = MACAddress(raw)?.description ?? raw
        case .certificate: value = raw
        }
        let candidates = timeline.entries(ofStore: store.id, at: time).filter {
            $0.entity.kind == kind && $0.entity.value == value
        }.map { apply(change, to: $0) }
        guard let found = candidates.first(where: { $0.entity.status != .deleted }) ?? candidates.last else {
            if fromAPI {
                return .unknown(
                    Unknown(
                        path: "entry.exists",
                        settle: "the API does not list deleted entries: " + Self.fromExport))
            }
            return absent
        }
        return entryValue(found, time: time)
    }

    private func entryValue(_ found: StateTimeline.AtTime<AuthEntry>, time: Date) -> Value {
        let entry = found.entity
        let statusChanged = changedSince(entry.lastChange, time)
        var fields: [String: Value] = [
            "exists": .bool(true), "id": .int(Int64(entry.id)), "kind": .string(entry.kind.rawValue),
            "value": .string(entry.value),
            "status": statusChanged ? unknownSince("entry.status") : .string(entry.status.rawValue),
            "created": .timestamp(Self.time(entry.created.at)),
        ]
        if statusChanged {
            fields["deletionAt"] = unknownSince("entry.deletionAt")
        } else if let deletion = entry.deletionAt {
            fields["deletionAt"] = .timestamp(Self.time(deletion))
        }
        if let certificate = entry.certificate {
            fields["sha256"] = .string(certificate.sha256)
            fields["notAfter"] = .timestamp(Self.time(certificate.notAfter))
        } else if entry.kind == .certificate, fromAPI {
            fields["sha256"] = .unknown(
                Unknown(
                    path: "store.certificates.sha256",
                    settle: "certificate fingerprints are not readable through the API: " + Self.fromExport))
        }
        // The recorded last use is the latest ever; it says when the entry was last used before the request only
        // when it is earlier than the request.
        if let used = entry.lastAccessAt, used < time { fields["lastUsedBefore"] = .timestamp(Self.time(used)) }
        if let statusEvent = found.statusEvent { fields["statusEvent"] = .object(event(statusEvent)) }
        return .object(ObjectValue(type: SKMFacts.entry, values: fields))
    }

    // MARK: - Applying a change

    /// `found` as the simulated change leaves it: a cancelled deletion returns it to service.
    private func apply<Item: DeletionLifecycle>(
        _ change: StateChange?, to found: StateTimeline.AtTime<Item>
    ) -> StateTimeline.AtTime<Item> {
        let cancels: Bool
        switch (change, found.entity) {
        case (.cancelEntryDeletion(let id)?, let entry as AuthEntry): cancels = entry.id == id
        case (.cancelKeyDeletion(let id)?, let key as ManagedKey): cancels = key.id == id
        case (.cancelVersionDeletion(let key, let number)?, let version as KeyVersion):
            cancels = version.keyId == key && version.number == number
        default: cancels = false
        }
        guard cancels, found.entity.status == Item.pendingDeletion else { return found }
        var changed = found
        changed.entity.status = Item.inService
        changed.entity.deletionAt = nil
        changed.entity.lastChange = Stamp(user: "simulation", at: .distantPast)
        return changed
    }

    func event(_ event: AuditEvent) -> ObjectValue {
        var fields: [String: Value] = [
            "sequence": .int(Int64(event.sequence)), "time": .timestamp(Self.time(event.time)),
            "actor": .string(event.actor), "action": .string(event.action.rawValue),
            "targetKind": .string(event.targetKind.rawValue), "targetId": .string(event.targetId),
            "summary": .string(event.summary),
        ]
        if let value = event.keyId { fields["keyId"] = .string(value) }
        if let value = event.keyVersion { fields["keyVersion"] = .int(Int64(value)) }
        if let value = event.keyStoreId { fields["keyStoreId"] = .int(Int64(value)) }
        return ObjectValue(type: SKMFacts.event, values: fields)
    }

    private func authority() -> Value {
        guard let authority = timeline.snapshot.certificateAuthority else {
            return .unknown(
                Unknown(
                    path: "ca",
                    settle:
                        "the state does not hold the key manager's CA certificate: analyse with a snapshot from skm snapshot export"
                ))
        }
        return .object(
            ObjectValue(
                type: SKMFacts.authority,
                values: ["subject": .string(authority.subject), "sha256": .string(authority.sha256)]))
    }

    // MARK: - Values

    static func time(_ date: Date) -> CELTime {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        return CELTime(seconds: seconds, nanos: Int32((milliseconds - seconds * 1000) * 1_000_000))
    }

    static func stringMap(_ values: [String: String]) -> MapValue {
        (try? MapValue(values.sorted { $0.key < $1.key }.map { (Value.string($0.key), Value.string($0.value)) }))
            ?? MapValue()
    }
}
