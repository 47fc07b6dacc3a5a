import Foundation
import SKMCore
import SKMRules

/// Builds the facts rules read (``SKMFacts/schema``) for one captured request: what the capture recorded, and the
/// key manager's state as it was at the request's time.
///
/// Facts are observations, never verdicts. Which entity a request is about follows the engine: a data call's key
/// store is its key's, a management call's is the one its path or body names. What the capture could not observe
/// is unknown, with the option that would settle it.
public struct FactBuilder: Sendable {
    public let timeline: StateTimeline
    /// How many audit events `events` holds at most (the newest before the request).
    public var eventLimit = 50

    /// The state was read through the API (`skm snapshot fetch`): versions and certificate fingerprints are unknown.
    private let fromAPI: Bool

    public init(timeline: StateTimeline) {
        self.timeline = timeline
        fromAPI = timeline.snapshot.source.kind == "api"
    }

    /// The facts for `captured`.
    public func facts(for captured: CapturedRequest) -> Activation {
        let record = captured.record
        let time = record.time
        let operation = record.operation.flatMap(SKMCore.Operation.init(rawValue:))

        // The key, its store, the version the request is about.
        let key = record.keyId.flatMap { timeline.key($0, at: time) }
        let storeAtTime = store(for: record, key: key?.entity, time: time)
        let versions = key.map { timeline.versions(ofKey: $0.entity.id, at: time) } ?? []
        let primary = versions.filter { $0.entity.status == .inService }.max { $0.entity.number < $1.entity.number }

        var values: [String: Value] = [:]
        values["request"] = .object(request(captured, operation: operation))
        values["certificate"] = certificate(captured, time: time)
        values["appkey"] = .object(appkey(record.appkey, time: time))
        values["accessKey"] = .object(accessKey(record.userAccessKeyId, time: time))
        values["store"] = .object(self.store(storeAtTime, time: time))
        let keyStoreName = key.flatMap { timeline.store($0.entity.keyStoreId, at: time)?.entity.name }
        values["key"] = .object(self.key(key, storeName: keyStoreName, primary: primary?.entity.number))
        if fromAPI {
            values["version"] = .unknown(
                Unknown(
                    path: "version",
                    settle:
                        "key versions are not readable through the API: analyse with a snapshot from skm snapshot export"
                ))
        } else {
            values["version"] = .object(
                version(
                    number: versionNumber(record, operation: operation, primary: primary?.entity.number),
                    versions: versions))
        }
        values["entry"] = .object(entry(record, store: storeAtTime?.entity, time: time))
        values["events"] = .list(
            (record.appkey.map { timeline.events(ofAppkey: $0, upTo: time, limit: eventLimit) } ?? []).map {
                .object(event($0))
            })
        values["ca"] = .object(authority())
        return Activation(schema: SKMFacts.schema, values: values)
    }

    // MARK: - The request

    private func request(_ captured: CapturedRequest, operation: SKMCore.Operation?) -> ObjectValue {
        let record = captured.record
        var fields: [String: Value] = [:]
        fields["time"] = .timestamp(Self.time(record.time))
        fields["id"] = .string(record.requestId)
        fields["method"] = .string(record.method)
        fields["path"] = .string(record.path)
        let segments = APIRoute.segments(of: record.path)
        if segments.count >= 2, segments[0] == "keymanager" { fields["pathVersion"] = .string(segments[1]) }
        if let version = record.apiVersion { fields["apiVersion"] = .string(version) }
        if let operation {
            fields["operation"] = .string(operation.rawValue)
            fields["category"] = .string(operation.category.rawValue)
            fields["routeExists"] = .bool(true)
            let available = operation.availableVersions.map(\.rawValue).sorted()
            fields["availableVersions"] = .list(available.map(Value.string))
            fields["availableInVersion"] = .bool(record.apiVersion.map(available.contains) ?? false)
            if let type = operation.requiredKeyType { fields["requiredKeyType"] = .string(type.rawValue) }
        } else {
            fields["category"] = .string("unknown")
            fields["routeExists"] = .bool(false)
            fields["availableInVersion"] = .bool(false)
            fields["availableVersions"] = .list([])
        }
        if let appkey = record.appkey {
            fields["appkey"] = .string(appkey)
            fields["appkeyWellFormed"] = .bool(Appkey.isWellFormed(appkey))
        } else {
            fields["appkeyWellFormed"] = .bool(false)
        }
        if let keyId = record.keyId {
            fields["keyId"] = .string(keyId)
            fields["keyIdWellFormed"] = .bool(ManagedKey.isWellFormedID(keyId))
        }
        if let value = record.keyStoreId { fields["keyStoreId"] = .string(value) }
        if let value = record.keyStoreName { fields["keyStoreName"] = .string(value) }
        if let value = record.authKind { fields["authKind"] = .string(value) }
        if let value = record.requestedKeyVersion { fields["requestedKeyVersion"] = .int(Int64(value)) }
        fields["query"] = .map(Self.stringMap(record.query))
        fields["authScheme"] = .string(record.authScheme ?? "none")
        if let value = record.userAccessKeyId { fields["userAccessKeyId"] = .string(value) }
        fields["client"] = .object(client(captured))
        let inputs = record.inputs.map { input($0) }
        fields["inputs"] = .list(inputs.map(Value.object))
        if let index = record.inputs.firstIndex(where: { $0.field == "ciphertext" || $0.field == "signature" }) {
            fields["input"] = .object(inputs[index])
        }
        if let index = record.inputs.firstIndex(where: { $0.field == "plaintext" }) {
            fields["plaintext"] = .object(inputs[index])
        }
        if let body = record.body {
            fields["body"] = .object(
                ObjectValue(
                    type: SKMFacts.body,
                    values: [
                        "bytes": .int(Int64(body.bytes)), "json": .bool(body.json),
                        "fields": .list(body.fields.map(Value.string)), "values": .map(Self.stringMap(body.values)),
                    ]))
        }
        if let value = record.headerBytes { fields["headerBytes"] = .int(Int64(value)) }
        var response: [String: Value] = [
            "httpStatus": .int(Int64(record.response.httpStatus)),
            "resultCode": .int(Int64(record.response.resultCode)),
            "resultMessage": .string(record.response.resultMessage),
            "isSuccessful": .bool(record.response.isSuccessful),
        ]
        if let version = record.response.keyVersion { response["keyVersion"] = .int(Int64(version)) }
        fields["response"] = .object(ObjectValue(type: SKMFacts.response, values: response))
        fields["error"] = .string(
            record.response.isSuccessful
                ? "SUCCESS" : APIError(resultCode: record.response.resultCode)?.identifier ?? "UNKNOWN")
        return ObjectValue(type: SKMFacts.request, values: fields)
    }

    private func client(_ captured: CapturedRequest) -> ObjectValue {
        let client = captured.record.client
        var fields: [String: Value] = ["tls": .bool(client.tls)]
        if captured.clientAddressKnown {
            if let ip = client.ip { fields["ip"] = .string(ip) }
            if let peer = client.peer { fields["peer"] = .string(peer) }
        } else {
            let settle = "give the address the server saw with --client-ip"
            fields["ip"] = .unknown(Unknown(path: "request.client.ip", settle: settle))
            fields["peer"] = .unknown(Unknown(path: "request.client.peer", settle: settle))
        }
        if let value = client.forwardedFor { fields["forwardedFor"] = .string(value) }
        if let header = client.macHeader {
            fields["macHeader"] = .string(header)
            if let mac = MACAddress(header) { fields["mac"] = .string(mac.description) }
        }
        return ObjectValue(type: SKMFacts.client, values: fields)
    }

    private func input(_ input: RequestRecord.Input) -> ObjectValue {
        var fields: [String: Value] = ["field": .string(input.field), "bytes": .int(Int64(input.bytes))]
        if let value = input.base64Valid { fields["base64Valid"] = .bool(value) }
        if let value = input.decodedBytes { fields["decodedBytes"] = .int(Int64(value)) }
        if let value = input.embeddedVersion { fields["embeddedVersion"] = .int(Int64(value)) }
        if let value = input.innerBase64 { fields["innerBase64"] = .bool(value) }
        return ObjectValue(type: SKMFacts.input, values: fields)
    }

    private func certificate(_ captured: CapturedRequest, time: Date) -> Value {
        guard captured.certificateKnown else {
            return .unknown(
                Unknown(path: "certificate", settle: "give the client's certificate with --client-cert"))
        }
        let observed = captured.record.client.cert
        var fields: [String: Value] = ["present": .bool(observed.present)]
        guard observed.present else { return .object(ObjectValue(type: SKMFacts.certificate, values: fields)) }
        if let value = observed.subject { fields["subject"] = .string(value) }
        if let value = observed.issuer { fields["issuer"] = .string(value) }
        if let value = observed.serial { fields["serial"] = .string(value) }
        if let value = observed.sha256 { fields["sha256"] = .string(value) }
        if let value = observed.notBefore { fields["notBefore"] = .timestamp(Self.time(value)) }
        if let value = observed.notAfter { fields["notAfter"] = .timestamp(Self.time(value)) }
        if let value = observed.chainVerified { fields["chainVerified"] = .bool(value) }
        if let sha256 = observed.sha256, let appkey = captured.record.appkey {
            let names = timeline.stores(ofAppkey: appkey, at: time).filter { $0.status == .active }.filter { store in
                timeline.entries(ofStore: store.id, at: time).contains {
                    $0.entity.kind == .certificate && $0.entity.status != .deleted
                        && $0.entity.certificate?.sha256 == sha256
                }
            }.map(\.name)
            fields["registeredStores"] = .list(names.map(Value.string))
        } else {
            fields["registeredStores"] = .list([])
        }
        return .object(ObjectValue(type: SKMFacts.certificate, values: fields))
    }

    // MARK: - State

    private func appkey(_ id: String?, time: Date) -> ObjectValue {
        guard let id, let appkey = timeline.appkey(id, at: time) else {
            return ObjectValue(type: SKMFacts.appkey, values: ["exists": .bool(false)])
        }
        let names = timeline.stores(ofAppkey: id, at: time).filter { $0.status == .active }.map(\.name)
        return ObjectValue(
            type: SKMFacts.appkey,
            values: [
                "exists": .bool(true), "id": .string(appkey.id), "name": .string(appkey.name),
                "created": .timestamp(Self.time(appkey.created.at)), "storeNames": .list(names.map(Value.string)),
            ])
    }

    private func accessKey(_ id: String?, time: Date) -> ObjectValue {
        guard let id, let found = timeline.accessKey(id, at: time) else {
            return ObjectValue(type: SKMFacts.accessKey, values: ["exists": .bool(false)])
        }
        return ObjectValue(
            type: SKMFacts.accessKey,
            values: [
                "exists": .bool(true), "id": .string(found.entity.id), "appkey": .string(found.entity.appkey),
                "status": .string(found.entity.status.rawValue),
            ])
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

    private func store(_ found: StateTimeline.AtTime<KeyStore>?, time: Date) -> ObjectValue {
        guard let store = found?.entity else {
            return ObjectValue(type: SKMFacts.store, values: ["exists": .bool(false)])
        }
        let entries = timeline.entries(ofStore: store.id, at: time)
        func list(_ kind: AuthKind) -> Value {
            .list(entries.filter { $0.entity.kind == kind }.map { .object(entry($0)) })
        }
        let live = timeline.keys(inStore: store.id, at: time).filter { $0.status != .deleted }.count
        return ObjectValue(
            type: SKMFacts.store,
            values: [
                "exists": .bool(true), "id": .int(Int64(store.id)), "name": .string(store.name),
                "appkey": .string(store.appkey), "status": .string(store.status.rawValue),
                "ip4AuthUse": .bool(store.ip4AuthUse), "macAuthUse": .bool(store.macAuthUse),
                "certificateAuthUse": .bool(store.certificateAuthUse), "authMode": .string(store.authMode.rawValue),
                "ipv4s": list(.ipv4), "macs": list(.mac), "certificates": list(.certificate),
                "liveKeys": .int(Int64(live)),
            ])
    }

    private func key(_ found: StateTimeline.AtTime<ManagedKey>?, storeName: String?, primary: Int?) -> ObjectValue {
        guard let found else { return ObjectValue(type: SKMFacts.key, values: ["exists": .bool(false)]) }
        let key = found.entity
        var fields: [String: Value] = [
            "exists": .bool(true), "id": .string(key.id), "appkey": .string(key.appkey),
            "keyStoreId": .int(Int64(key.keyStoreId)), "name": .string(key.name), "type": .string(key.type.rawValue),
            "status": .string(key.status.rawValue), "latestVersion": .int(Int64(key.latestVersion)),
            "autoRotationPeriod": .int(Int64(key.autoRotationPeriod)),
            "created": .timestamp(Self.time(key.created.at)),
        ]
        if let storeName { fields["storeName"] = .string(storeName) }
        if let primary { fields["primaryVersion"] = .int(Int64(primary)) }
        if let deletion = key.deletionAt { fields["deletionAt"] = .timestamp(Self.time(deletion)) }
        if let statusEvent = found.statusEvent { fields["statusEvent"] = .object(event(statusEvent)) }
        return ObjectValue(type: SKMFacts.key, values: fields)
    }

    /// The version number a request is about, as the engine picks it.
    private func versionNumber(_ record: RequestRecord, operation: SKMCore.Operation?, primary: Int?) -> Int? {
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

    /// The registered entry an auth-entry request names: in its key store, of its kind, with its value.
    private func entry(_ record: RequestRecord, store: KeyStore?, time: Date) -> ObjectValue {
        let absent = ObjectValue(type: SKMFacts.entry, values: ["exists": .bool(false)])
        guard let store, let kindText = record.authKind, let kind = AuthKind(rawValue: kindText) else { return absent }
        let raw = kind == .certificate ? record.body?.values["name"] : record.body?.values["value"]
        guard let raw else { return absent }
        let value: String
        switch kind {
        case .ipv4: value = IPv4Network(raw).map(\.description) ?? raw
        case .mac: value = MACAddress(raw)?.description ?? raw
        case .certificate: value = raw
        }
        let candidates = timeline.entries(ofStore: store.id, at: time).filter {
            $0.entity.kind == kind && $0.entity.value == value
        }
        guard let found = candidates.first(where: { $0.entity.status != .deleted }) ?? candidates.last else {
            return absent
        }
        return entry(found)
    }

    private func entry(_ found: StateTimeline.AtTime<AuthEntry>) -> ObjectValue {
        let entry = found.entity
        var fields: [String: Value] = [
            "exists": .bool(true), "id": .int(Int64(entry.id)), "kind": .string(entry.kind.rawValue),
            "value": .string(entry.value), "status": .string(entry.status.rawValue),
            "created": .timestamp(Self.time(entry.created.at)),
        ]
        if let deletion = entry.deletionAt { fields["deletionAt"] = .timestamp(Self.time(deletion)) }
        if let certificate = entry.certificate {
            fields["sha256"] = .string(certificate.sha256)
            fields["notAfter"] = .timestamp(Self.time(certificate.notAfter))
        } else if entry.kind == .certificate, fromAPI {
            fields["sha256"] = .unknown(
                Unknown(
                    path: "store.certificates.sha256",
                    settle:
                        "certificate fingerprints are not readable through the API: analyse with a snapshot from skm snapshot export"
                ))
        }
        if let statusEvent = found.statusEvent { fields["statusEvent"] = .object(event(statusEvent)) }
        return ObjectValue(type: SKMFacts.entry, values: fields)
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

    private func authority() -> ObjectValue {
        guard let authority = timeline.snapshot.certificateAuthority else {
            return ObjectValue(type: SKMFacts.authority, values: [:])
        }
        return ObjectValue(
            type: SKMFacts.authority,
            values: ["subject": .string(authority.subject), "sha256": .string(authority.sha256)])
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
