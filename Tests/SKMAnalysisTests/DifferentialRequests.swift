import Foundation
import SKMCore
import SKMPrimitives
import SKMRules
import SKMTestSupport
import Testing
import X509

@testable import SKMAnalysis

/// Draws requests of every operation, mostly valid, with mutations that make each documented error likely.
struct RequestDraw {
    let universe: Universe

    func random(_ range: ClosedRange<Int>) -> Int { universe.random(range) }
    func chance(_ percent: Int) -> Bool { universe.chance(percent) }
    func pick<T>(_ items: [T]) -> T { universe.pick(items) }

    func next() throws -> (HTTPCall, ClientIdentity) {
        let roll = random(1...100)
        if roll <= 62 { return try dataCall() }
        if roll <= 94 { return managementCall() }
        if roll <= 97 {
            let tenant = pick(universe.tenants)
            let secret = chance(70) ? tenant.accessKey.secret : "wrong"
            let basic = Data("\(tenant.accessKey.accessKey.id):\(secret)".utf8).base64EncodedString()
            return (
                HTTPCall(
                    "POST", "/oauth2/token/create", headers: [("Authorization", "Basic \(basic)")],
                    body: chance(85) ? "grant_type=client_credentials" : "grant_type=password"), .anonymous
            )
        }
        let tenant = pick(universe.tenants)
        return (
            HTTPCall(
                "GET",
                pick([
                    Workshop.path(tenant.appkey, "confirm", version: "v1.0"), "/keymanager/v9/appkey/x/confirm",
                    "/nothing/here",
                ])),
            ClientIdentity.at("10.0.0.1")
        )
    }

    /// The appkey a request names for a key of `owner`.
    func appkey(for owner: String) -> String {
        let roll = random(1...100)
        if roll <= 88 { return owner }
        if roll <= 92 { return universe.tenants.first { $0.appkey != owner }!.appkey }
        if roll <= 96 { return "Zz9" + String(owner.dropFirst(3)) }
        return pick([String(owner.dropLast()), owner + "!", "short"])
    }

    func dataCall() throws -> (HTTPCall, ClientIdentity) {
        let operations: [APIOperation] = [
            .encrypt, .decrypt, .decrypt, .createLocalKey, .getSymmetricKey, .sign, .verify, .signStandard,
            .verifyStandard, .getPrivateKey, .getPublicKey, .getSecret,
        ]
        let operation = pick(operations)
        let wanted = operation.requiredKeyType ?? .symmetric
        var candidates = universe.keys.filter { $0.key.type == wanted }
        // Keys behind certificate authentication are a minority of stores; aim at them often enough.
        let certified = candidates.filter { $0.store.certificateAuthUse }
        if !certified.isEmpty, chance(35) { candidates = certified }
        if candidates.isEmpty || chance(8) { candidates = universe.keys }
        let info = pick(candidates)
        var keyId = info.key.id
        if chance(3) {
            keyId = pick([String(keyId.dropLast()), keyId.uppercased(), "0123456789abcdef0123456789abcdef"])
        }
        let appkey = appkey(for: info.appkey)
        var version = pick(Array(operation.availableVersions)).rawValue
        if chance(4) { version = pick(["v1.0", "v1.1", "v2.0"]) }
        let kind = wanted == .secret ? "secrets" : wanted == .symmetric ? "symmetric-keys" : "asymmetric-keys"
        let action: String
        var method = "POST"
        var query: [String: String] = [:]
        var body: String?
        let versions = info.blobs.keys.sorted()
        func blob() -> (String, String) {
            let chosen = info.blobs[pick(versions.isEmpty ? [0] : versions)]?.first ?? ("AAAAAAAAAAAAAAAA", "x")
            var text = chosen.blob
            switch random(1...100) {
            case 1...8: text = Data(text.utf8).base64EncodedString()
            case 9...16: text = String(text.prefix(20))
            case 17...22: text = "@@not base64@@"
            case 23...30:
                var bytes = [UInt8](Data(base64Encoded: text) ?? Data())
                if bytes.count > 8 { bytes[bytes.count - 3] ^= 0xFF }
                text = Data(bytes).base64EncodedString()
            case 31...36:
                var bytes = [UInt8](Data(base64Encoded: text) ?? Data())
                if bytes.count > 4 { bytes[3] = UInt8(random(3...9)) }
                text = Data(bytes).base64EncodedString()
            default: break
            }
            return (text, chosen.plaintext)
        }
        switch operation {
        case .encrypt:
            action = "encrypt"
            body = HTTPCall.json([("plaintext", .string(chance(3) ? String(repeating: "p", count: 33_000) : "hello"))])
        case .decrypt:
            action = "decrypt"
            body = HTTPCall.json([
                ("ciphertext", .string(chance(2) ? String(repeating: "A", count: 70_000) : blob().0))
            ])
        case .createLocalKey:
            action = "create-local-key"
        case .getSymmetricKey:
            action = "symmetric-key"
            method = "GET"
        case .sign:
            action = "sign"
            body = HTTPCall.json([("plaintext", .string(chance(4) ? String(repeating: "s", count: 300) : "sign me"))])
        case .verify:
            action = "verify"
            let (signature, plaintext) = blob()
            body = HTTPCall.json([("plaintext", .string(plaintext)), ("signature", .string(signature))])
        case .signStandard:
            action = "sign-standard"
            body = HTTPCall.json([
                ("plaintext", .string(chance(90) ? Data("m".utf8).base64EncodedString() : "not base64!")),
                ("algorithm", .string(chance(92) ? pick(["RSASSA-PSS", "RSASSA-PKCS1-v1_5"]) : "MD5")),
            ])
        case .verifyStandard:
            action = "verify-standard"
            let number = pick(info.standardSignatures.keys.sorted() + [0])
            let signature = info.standardSignatures[number] ?? ("AAAA", "bQ==")
            var keyVersion: JSONValue = .int(number)
            if chance(10) { keyVersion = .int(random(3...9)) }
            if chance(4) { keyVersion = "one" }
            if chance(4) { keyVersion = chance(50) ? .int(-1) : .double(1.5) }
            body = HTTPCall.json([
                ("plaintext", .string(signature.message)),
                ("signature", .string(chance(90) ? signature.signature : "AAAA")),
                ("algorithm", "RSASSA-PSS"), ("keyVersion", keyVersion),
            ])
        case .getPrivateKey, .getPublicKey:
            action = operation == .getPrivateKey ? "privateKey" : "publicKey"
            method = "GET"
        default:
            action = ""
            method = "GET"
        }
        if operation == .getSymmetricKey || operation == .getPrivateKey || operation == .getPublicKey, chance(40) {
            query["keyVersion"] = chance(85) ? String(random(0...4)) : pick(["-1", "abc", "99999999999999"])
        }
        if chance(3) { body = "{\"truncated\": " }
        if chance(1) { body = "{\"plaintext\": \"" + String(repeating: "b", count: 270_000) + "\"}" }
        if chance(2), body != nil { body = "[1, 2, 3]" }
        var path = Workshop.path(
            appkey, operation == .getSecret ? "secrets/\(keyId)" : "\(kind)/\(keyId)/\(action)", version: version)
        if chance(2) { path += "/extra" }
        let client = try universe.clientFor(info.store)
        var headers = universe.workshop.headers(client)
        if chance(1) { headers.append(("X-Padding", String(repeating: "x", count: 17_000))) }
        return (HTTPCall(method, path, query: query, headers: headers, body: body), client)
    }

    /// A valid encrypt with an active key from a client its store admits, or `nil` when none is at hand.
    func honestEncrypt() async throws -> (HTTPCall, ClientIdentity)? {
        let symmetric = universe.keys.filter { $0.key.type == .symmetric }
        guard !symmetric.isEmpty else { return nil }
        let info = pick(symmetric)
        guard let current = try await universe.engine.storage.key(id: info.key.id), current.status == .active,
            let store = try await universe.engine.storage.keyStore(id: info.store.id), store.status == .active
        else { return nil }
        let entries = try await universe.engine.storage.authEntries(keyStoreId: store.id)
        let client = try universe.clientFor(store, honest: true)
        // The honest client uses the last registered address, MAC and first certificate; all must be in service.
        guard
            entries.filter({ $0.status != .inService }).allSatisfy({ entry in
                entry.value != Universe.canonical(universe.ipsByStore[store.id]?.last ?? "")
                    && entry.value != universe.macsByStore[store.id]?.last
                    && entry.certificate?.sha256 != client.certificateChain.first?.sha256Fingerprint
            })
        else { return nil }
        let call = HTTPCall(
            "POST", Workshop.path(info.appkey, "symmetric-keys/\(info.key.id)/encrypt"),
            headers: universe.workshop.headers(client), body: HTTPCall.json([("plaintext", "fine")]))
        return (call, client)
    }

    func managementCall() -> (HTTPCall, ClientIdentity) {
        let tenant = pick(universe.tenants)
        let other = universe.tenants.first { $0.appkey != tenant.appkey }!
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        switch random(1...100) {
        case 1...78:
            headers += [
                ("X-TC-AUTHENTICATION-ID", tenant.accessKey.accessKey.id),
                ("X-TC-AUTHENTICATION-SECRET", tenant.accessKey.secret),
            ]
        case 79...84:
            headers += [
                ("X-TC-AUTHENTICATION-ID", tenant.accessKey.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", "wrong"),
            ]
        case 85...88:
            headers += [
                ("X-TC-AUTHENTICATION-ID", other.accessKey.accessKey.id),
                ("X-TC-AUTHENTICATION-SECRET", other.accessKey.secret),
            ]
        case 89...91:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (universe.bearerTokens[tenant.appkey] ?? "x"))]
        case 92:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (universe.expiredTokens[tenant.appkey] ?? "x"))]
        case 93:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (universe.bearerTokens[other.appkey] ?? "x"))]
        case 94:
            headers += [("X-NHN-AUTHORIZATION", "Bearer skm1.garbage")]
        case 95:
            headers += [("X-TC-AUTHENTICATION-ID", "NOSUCHKEY0000000000Z"), ("X-TC-AUTHENTICATION-SECRET", "x")]
        case 96:
            if let revoked = tenant.revokedAccessKey {
                headers += [
                    ("X-TC-AUTHENTICATION-ID", revoked.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", revoked.secret),
                ]
            }
        case 97:
            headers += [("X-NHN-AUTHORIZATION", "Bearer " + (tenant.revokedToken ?? "x"))]
        default:
            break
        }
        let stores = tenant.stores
        let store = pick(stores)
        let keys = universe.keys.filter { $0.appkey == tenant.appkey }
        let key = pick(keys.isEmpty ? universe.keys : keys)
        let storeName = chance(90) ? store.name : "no-such-store"
        let storeId = chance(90) ? String(store.id) : pick(["0", "9999", "abc"])
        let appkey = appkey(for: tenant.appkey)
        let client = ClientIdentity.at("10.0.0.9")
        func call(
            _ method: String, _ rest: String, version: String = "v1.2", _ body: [(String, JSONValue)]? = nil,
            query: [String: String] = [:]
        ) -> (HTTPCall, ClientIdentity) {
            (
                HTTPCall(
                    method, Workshop.path(appkey, rest, version: version), query: query, headers: headers,
                    body: body.map(HTTPCall.json)), client
            )
        }
        let name = chance(85) ? "made-\(random(1...99_999))" : pick(["", "   ", String(repeating: "n", count: 120)])
        // The reads exist in v1.0 too, where the appkey alone may authorise them.
        let readVersion = chance(20) ? "v1.0" : "v1.2"
        switch random(1...18) {
        case 1 where chance(25):
            // A key import: the material in each form SKM reads, or of the wrong length, or unreadable.
            let bytes = (0..<32).map { _ in UInt8(random(0...255)) }
            let material: String
            switch random(1...6) {
            case 1: material = bytes.map { "0x" + String($0, radix: 16).leftPadded(to: 2) }.joined(separator: ", ")
            case 2: material = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            case 3: material = Data(bytes).base64EncodedString()
            case 4:
                material = bytes.prefix(16).map { "0x" + String($0, radix: 16).leftPadded(to: 2) }.joined(
                    separator: " ")
            case 5: material = "not key material"
            default: material = ""
            }
            return call(
                "POST", "keys/symmetric-keys/import",
                [("keyStoreName", .string(storeName)), ("name", .string(name)), ("symmetricKey", .string(material))])
        case 1:
            let type = pick(["symmetric-keys", "asymmetric-keys", "secrets"])
            var body: [(String, JSONValue)] = [("keyStoreName", .string(storeName)), ("name", .string(name))]
            if type == "secrets" {
                body.append(
                    (
                        "secretValue",
                        chance(85) ? "v" : chance(50) ? .int(3) : .string(String(repeating: "s", count: 33_000))
                    ))
            }
            if chance(6) {
                body.append(("description", chance(50) ? .int(5) : .string(String(repeating: "d", count: 1_001))))
            }
            if type != "secrets", chance(30) {
                body.append(("autoRotationPeriod", .int(pick([0, 10, 30, 400, 5000]))))
            }
            // Asymmetric key creation costs an RSA key generation; keep it rare.
            return call(
                "POST", "keys/\(type == "asymmetric-keys" && chance(70) ? "symmetric-keys" : type)/create", body)
        case 2: return chance(80) ? call("PUT", "keys/\(key.key.id)/delete") : call("DELETE", "keys/\(key.key.id)")
        case 3: return call("PUT", "keys/\(key.key.id)/cancel-deletion")
        case 4: return call("POST", "keys/\(key.key.id)/rotate")
        case 5:
            return call(
                "PUT", "secrets/\(key.key.id)",
                [("secretValue", .string(chance(95) ? "new value" : String(repeating: "v", count: 33_000)))])
        case 6 where chance(15):
            // A bulk registration: good rows, a duplicate, and sometimes a bad row or an empty file.
            var rows = [
                "value,description", "10.7.\(random(0...255)).0/24,lab", "02:00:00:00:\(random(10...99)):01,dev",
            ]
            if chance(30) { rows.append(pick(["10.7.1.1/24,host bits", "zz:00,x", "300.1.1.1,"])) }
            if chance(20) { rows.append(rows[1]) }
            var body: [(String, JSONValue)] = [
                ("keyStoreName", .string(storeName)), ("csv", .string(chance(5) ? "" : rows.joined(separator: "\r\n"))),
            ]
            if chance(30) { body.append(("skipInvalid", .bool(true))) }
            if chance(10) { body.append(("validateOnly", .bool(true))) }
            return call("POST", "auths/import", body)
        case 6 where chance(15):
            // A certificate issued into the key store: name, password and lifetime, some out of range.
            return call(
                "POST", "auths/certificates",
                [
                    ("keyStoreName", .string(storeName)),
                    ("name", .string(chance(80) ? "cert-\(random(1...99_999))" : "")),
                    ("password", .string(chance(85) ? "fixture-only" : "")),
                    ("lifeTime", .int(chance(85) ? 30 : pick([0, 4000]))),
                ])
        case 6:
            let kind = pick(["ipv4s", "macs"])
            let value =
                kind == "ipv4s"
                ? pick(["10.3.3.0/24", "10.3.3.1/24", "203.0.113.99", "300.1.1.1"])
                : pick(["02:00:00:00:00:09", "zz:00"])
            return call("POST", "auths/\(kind)", [("keyStoreName", .string(storeName)), ("value", .string(value))])
        case 7:
            let ips = universe.ipsByStore[store.id] ?? []
            let value = ips.isEmpty || chance(20) ? "10.99.99.99" : Universe.canonical(pick(ips))
            return call(
                pick(["PUT", "POST"]),
                "auths/ipv4s/\(pick(["delete", "cancel-deletion"]))".replacingOccurrences(
                    of: "cancel-deletion", with: "cancel-deletion"),
                [("keyStoreName", .string(storeName)), ("value", .string(value))])
        case 8:
            let macs = universe.macsByStore[store.id] ?? []
            let value = macs.isEmpty || chance(20) ? "02:00:00:00:00:77" : pick(macs)
            let action = pick([("PUT", "delete"), ("POST", "delete"), ("PUT", "cancel-deletion")])
            return call(
                action.0, "auths/macs/\(action.1)", [("keyStoreName", .string(storeName)), ("value", .string(value))])
        case 9:
            let flags = ["Y", "N", "maybe"]
            var body: [(String, JSONValue)] = [
                ("name", .string(name)), ("ip4AuthUse", .string(chance(85) ? "Y" : pick(flags))),
                ("macAuthUse", .string(pick(["Y", "N"]))),
                ("certificateAuthUse", .string(chance(90) ? "N" : pick(flags))),
            ]
            if chance(30) { body.append(("authMode", .string(pick(["AND", "OR", "XOR"])))) }
            if chance(20) { body[0] = ("name", .string(pick(stores).name)) }
            return call(
                chance(70) ? "POST" : "PUT", chance(70) ? "keystores" : "keystores/\(storeId)", version: "v1.3", body)
        case 10: return call("DELETE", "keystores/\(storeId)", version: "v1.3")
        case 11: return call("GET", "keystores/\(storeId)", version: readVersion)
        case 12:
            var query: [String: String] = [:]
            if chance(30) { query["pageSize"] = pick(["10", "5", "x", "100"]) }
            if chance(20) { query["type"] = pick(["SECRET", "BAD"]) }
            return call("GET", "keystores/\(storeId)/keys", version: readVersion, query: query)
        case 13: return call("GET", "keystores/\(storeId)/keys/\(key.key.id)", version: readVersion)
        case 14:
            return call(
                "GET", "keystores/\(storeId)/\(pick(["ips", "macs", "certificates", "other"]))", version: readVersion)
        case 16:
            // User Access Keys: list, add, and revoke or rotate a spare, a revoked, another appkey's or no key.
            let target = pick(
                tenant.spareAccessKeyIds + [
                    tenant.revokedAccessKey?.accessKey.id ?? "NOSUCHKEY0000000000Z", other.accessKey.accessKey.id,
                    "NOSUCHKEY0000000000Z",
                ])
            if let member = tenant.memberAccessKey, !tenant.approverAccessKeyIds.isEmpty, chance(20) {
                // A key that is no approver names an approver's key (or, now and then, a spare one).
                headers = headers.filter { !$0.0.hasPrefix("X-TC-AUTHENTICATION") && $0.0 != "X-NHN-AUTHORIZATION" }
                headers += [
                    ("X-TC-AUTHENTICATION-ID", member.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", member.secret),
                ]
                let named = chance(80) ? pick(tenant.approverAccessKeyIds) : pick(tenant.spareAccessKeyIds)
                return chance(50)
                    ? call("PUT", "user-access-keys/\(named)/revoke")
                    : call("POST", "user-access-keys/\(named)/rotate", version: "v1.3")
            }
            switch random(1...4) {
            case 1: return call("GET", "user-access-keys", version: pick(["v1.2", "v1.3", "v1.0"]))
            case 2: return call("POST", "user-access-keys")
            case 3: return call("PUT", "user-access-keys/\(target)/revoke")
            default: return call("POST", "user-access-keys/\(target)/rotate", version: "v1.3")
            }
        case 18:
            // The call statistics: a period of days, one key, or a parameter written another way.
            var query: [String: String] = [:]
            if chance(60) { query["from"] = pick(["2026-09-01", "2026-9-1", "2026-13-01", "yesterday", "2026-02-30"]) }
            if chance(40) { query["to"] = pick(["2026-12-31", "2026-09-32", ""]) }
            if chance(30) { query["keyId"] = chance(70) ? key.key.id : "XYZ" }
            if chance(10) { query["detail"] = "maybe" }
            return call("GET", "stats", version: pick(["v1.2", "v1.3", "v1.0"]), query: query)
        case 17:
            // The approval workflow: the list of what waits; approving or rejecting a member's request, one's own, an
            // entry that waits for nothing, another appkey's, or no entry at all.
            let waiting = universe.waitingEntryIds[tenant.appkey] ?? []
            let elsewhere = universe.waitingEntryIds[other.appkey] ?? []
            let target =
                !waiting.isEmpty && chance(70)
                ? String(pick(waiting))
                : !elsewhere.isEmpty && chance(30)
                    ? String(pick(elsewhere)) : pick(["1", "abc", "0", "-3", "999999", String(random(1...40))])
            let changes = universe.waitingChangeIds[tenant.appkey] ?? []
            let change =
                !changes.isEmpty && chance(70)
                ? String(pick(changes)) : pick(["1", "abc", "0", "-3", "999999", String(random(1...12))])
            switch random(1...8) {
            case 1: return call("GET", "approvals", version: pick(["v1.2", "v1.3", "v1.0"]))
            case 2, 3: return call("POST", "approvals/\(target)/approve", version: pick(["v1.2", "v1.3"]))
            case 4, 5: return call("POST", "approvals/\(target)/reject")
            case 6, 7: return call("POST", "approvals/changes/\(change)/approve", version: pick(["v1.2", "v1.3"]))
            default: return call("POST", "approvals/changes/\(change)/reject")
            }
        default:
            return call(
                "GET", "keystores", version: readVersion,
                query: chance(30) ? ["detail": pick(["true", "false", "yes"])] : [:])
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
