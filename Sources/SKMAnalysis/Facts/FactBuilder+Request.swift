import Foundation
import SKMCore
import SKMPrimitives
import SKMRules
import SKMWire

/// The facts of the request itself: what the log or capture recorded, the client, its certificate.
extension FactBuilder {
    func request(_ captured: CapturedRequest, operation: APIOperation?) -> ObjectValue {
        let record = captured.record
        var fields: [String: Value] = [:]
        fields["time"] = .timestamp(Self.time(record.time))
        if captured.serverTimeKnown {
            fields["serverTime"] = .timestamp(Self.time(record.time))
        } else {
            fields["serverTime"] = .unknown(
                Unknown(
                    path: "request.serverTime",
                    settle: captured.gaps[.serverTime]
                        ?? "the capture holds only the client's clock: capture the response's Date header too, or analyse the server's request log"
                ))
        }
        if let clientTime = record.clientDate ?? captured.clientTime {
            fields["clientTime"] = .timestamp(Self.time(clientTime))
            if captured.serverTimeKnown {
                let offset = clientTime.timeIntervalSince(record.time).rounded()
                fields["clientClockOffset"] = .duration(CELDuration(seconds: Int64(offset)))
            }
        }
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
            fields["otherMethods"] = .list([])
        } else {
            fields["category"] = .string("unknown")
            fields["routeExists"] = .bool(false)
            fields["availableInVersion"] = .bool(false)
            fields["availableVersions"] = .list([])
            fields["otherMethods"] = .list(Self.otherMethods(record).map(Value.string))
        }
        if let appkey = record.appkey {
            fields["appkey"] = .string(appkey)
            let wellFormed = Appkey.isWellFormed(appkey)
            fields["appkeyWellFormed"] = .bool(wellFormed)
            if !wellFormed { fields["appkeyProblem"] = .string(Self.appkeyProblem(appkey)) }
        } else {
            fields["appkeyWellFormed"] = .bool(false)
            fields["appkeyProblem"] = .string("the path has no appkey")
        }
        if let keyId = record.keyId {
            fields["keyId"] = .string(keyId)
            fields["keyIdWellFormed"] = .bool(ManagedKey.isWellFormedID(keyId))
        }
        if let value = record.keyStoreId { fields["keyStoreId"] = .string(value) }
        if let value = record.keyStoreName { fields["keyStoreName"] = .string(value) }
        if let value = record.authKind { fields["authKind"] = .string(value) }
        if let value = record.resourceName { fields["resourceName"] = .string(value) }
        if let value = record.requestedKeyVersion { fields["requestedKeyVersion"] = .int(Int64(value)) }
        fields["query"] = .map(Self.stringMap(record.query))
        if let value = record.httpProblem { fields["httpProblem"] = .string(value) }
        fields["authScheme"] = .string(record.authScheme ?? "none")
        fields["credentialsRequired"] = credentialsRequired(record, operation: operation)
        if let value = record.userAccessKeyId { fields["userAccessKeyId"] = .string(value) }
        if let value = record.userAccessKeyIdBytes { fields["userAccessKeyIdBytes"] = .int(Int64(value)) }
        if let token = record.token {
            var tokenFields: [String: Value] = ["authentic": .bool(token.authentic)]
            if let value = token.accessKeyId { tokenFields["accessKeyId"] = .string(value) }
            if let value = token.expiresAt { tokenFields["expiresAt"] = .timestamp(Self.time(value)) }
            fields["token"] = .object(ObjectValue(type: SKMFacts.token, values: tokenFields))
        } else if record.authScheme == "bearer" {
            // A client-side capture holds the token but cannot check its signature: only the key manager can.
            fields["token"] = .unknown(
                Unknown(
                    path: "request.token",
                    settle: "only the key manager can check a token's signature: analyse its request log"))
        }
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
        if let settle = captured.gaps[.resultCode], !record.response.isSuccessful {
            for name in ["resultCode", "resultMessage"] {
                response[name] = .unknown(Unknown(path: "response.\(name)", settle: settle))
            }
        }
        fields["response"] = .object(ObjectValue(type: SKMFacts.response, values: response))
        fields["error"] = .string(
            record.response.isSuccessful
                ? "SUCCESS" : APIError(resultCode: record.response.resultCode)?.identifier ?? "UNKNOWN")
        Self.applyGaps(captured, to: &fields)
        return ObjectValue(type: SKMFacts.request, values: fields)
    }

    /// Makes unknown what the capture's kind cannot hold (``CaptureGap``), each fact with what would supply it.
    static func applyGaps(_ captured: CapturedRequest, to fields: inout [String: Value]) {
        let record = captured.record
        func unknown(_ gap: CaptureGap, _ names: [String]) {
            guard let settle = captured.gaps[gap] else { return }
            for name in names { fields[name] = .unknown(Unknown(path: "request.\(name)", settle: settle)) }
        }
        // What the body holds: the user data and, where the body names them, the key store, version and values.
        var bodyFacts = ["body", "inputs", "input", "plaintext"]
        if record.keyStoreName == nil { bodyFacts.append("keyStoreName") }
        if record.requestedKeyVersion == nil { bodyFacts.append("requestedKeyVersion") }
        unknown(.requestBody, bodyFacts)
        unknown(.credentials, ["authScheme", "userAccessKeyId", "userAccessKeyIdBytes", "token"])
        if let settle = captured.gaps[.resultCode], !record.response.isSuccessful {
            fields["error"] = .unknown(Unknown(path: "response.resultCode", settle: settle))
        }
    }

    /// The methods that would name an operation with the request's path.
    static func otherMethods(_ record: RequestRecord) -> [String] {
        ["GET", "POST", "PUT", "DELETE"].filter { method in
            guard method != record.method.uppercased() else { return false }
            if case .api = APIRoute.match(method: method, path: record.path) { return true }
            if case .token = APIRoute.match(method: method, path: record.path) { return true }
            return false
        }
    }

    /// What makes an appkey malformed, in words that do not repeat it (reports mask appkeys).
    static func appkeyProblem(_ appkey: String) -> String {
        let characters = Array(appkey.unicodeScalars)
        if characters.isEmpty { return "it is empty" }
        if let index = characters.firstIndex(where: {
            !($0.isASCII && $0.properties.isAlphabetic) && !("0"..."9").contains($0)
        }) {
            let scalar = characters[index]
            let shown =
                scalar.value >= 0x21 && scalar.value < 0x7F
                ? "'\(scalar)'" : "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
            return "character \(index + 1) of \(characters.count) is \(shown), not a letter or digit"
        }
        return
            "it has \(characters.count) characters; an appkey has 16 letters and digits (\(characters.count < 16 ? "cut short?" : "something added?"))"
    }

    func client(_ captured: CapturedRequest) -> ObjectValue {
        let client = captured.record.client
        var fields: [String: Value] = ["tls": .bool(client.tls)]
        if captured.clientAddressKnown {
            // The address checked is a fact only as the key manager reads one (a dotted quad, or IPv4-mapped):
            // anything else in the log is not evidence of which address was checked. The peer is kept as written:
            // that it is not IPv4 (an IPv6 peer) is itself what a refusal can be about.
            if let text = client.ip {
                if let address = IPv4Address(mapped: text) {
                    fields["ip"] = .string(address.description)
                } else {
                    fields["ip"] = .unknown(
                        Unknown(
                            path: "request.client.ip",
                            settle:
                                "the log's client.ip '\(text.prefix(64))' is not an IPv4 address; give the address the server saw with --client-ip"
                        ))
                }
            }
            if let peer = client.peer { fields["peer"] = .string(peer) }
        } else {
            let settle =
                captured.gaps[.clientAddress]
                ?? "give the address the server saw with --client-ip, or capture a GET …/confirm answer in the same session"
            fields["ip"] = .unknown(Unknown(path: "request.client.ip", settle: settle))
            fields["peer"] = .unknown(Unknown(path: "request.client.peer", settle: settle))
        }
        if let value = client.forwardedFor { fields["forwardedFor"] = .string(value) }
        if let settle = captured.gaps[.macHeader] {
            for name in ["macHeader", "mac"] {
                fields[name] = .unknown(Unknown(path: "request.client.\(name)", settle: settle))
            }
        } else if let header = client.macHeader {
            fields["macHeader"] = .string(header)
            if let mac = MACAddress(header) { fields["mac"] = .string(mac.description) }
        }
        return ObjectValue(type: SKMFacts.client, values: fields)
    }

    func input(_ input: RequestRecord.Input) -> ObjectValue {
        var fields: [String: Value] = ["field": .string(input.field), "bytes": .int(Int64(input.bytes))]
        if let value = input.base64Valid { fields["base64Valid"] = .bool(value) }
        if let value = input.decodedBytes { fields["decodedBytes"] = .int(Int64(value)) }
        if let value = input.embeddedVersion { fields["embeddedVersion"] = .int(Int64(value)) }
        if let value = input.innerBase64 { fields["innerBase64"] = .bool(value) }
        if let value = input.controlCharacters { fields["controlCharacters"] = .bool(value) }
        if let value = input.rows { fields["rows"] = .int(Int64(value)) }
        if let value = input.invalidRows { fields["invalidRows"] = .int(Int64(value)) }
        return ObjectValue(type: SKMFacts.input, values: fields)
    }

    func certificate(_ captured: CapturedRequest, time: Date, change: StateChange?) -> Value {
        guard captured.certificateKnown else {
            return .unknown(
                Unknown(
                    path: "certificate",
                    settle: captured.gaps[.certificate]
                        ?? "give the client's certificate with --client-cert FILE, or --client-cert none"))
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
        if fromAPI {
            fields["registeredStores"] = .unknown(
                Unknown(
                    path: "certificate.registeredStores",
                    settle: "certificate fingerprints are not readable through the API: " + Self.fromExport))
        } else if let sha256 = observed.sha256, let appkey = captured.record.appkey {
            var names = timeline.stores(ofAppkey: appkey, at: time).filter { $0.status == .active }.filter { store in
                timeline.entries(ofStore: store.id, at: time).contains {
                    $0.entity.kind == .certificate && $0.entity.status != .deleted
                        && $0.entity.certificate?.sha256 == sha256
                }
            }.map(\.name)
            if case .registerCertificate(let storeID, let registered)? = change, registered == sha256,
                let name = timeline.store(storeID, at: time)?.entity.name, !names.contains(name)
            {
                names.append(name)
            }
            fields["registeredStores"] = .list(names.map(Value.string))
        } else {
            fields["registeredStores"] = .list([])
        }
        return .object(ObjectValue(type: SKMFacts.certificate, values: fields))
    }
}
