import Foundation
import NIOHTTP1
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing

@Suite struct ManagementOverHTTPTests {
    @Test func userAccessKeyHeadersOnV12() async throws {
        let server = try await TestServer.start()
        _ = try await server.fixture.store("Store #1")
        let client = try server.client()
        let uak = [
            ("X-TC-AUTHENTICATION-ID", server.fixture.accessKeyID),
            ("X-TC-AUTHENTICATION-SECRET", server.fixture.accessKeySecret),
        ]
        let created = try await client.send(
            .POST, server.url(server.api("keys/symmetric-keys/create")),
            json: [
                "keyStoreName": "Store #1", "name": "Key Sample #2", "description": "Description #2",
                "autoRotationPeriod": 0,
            ],
            headers: uak)
        #expect(created.status == 200)
        let keyId = try #require(created.json["body"]?["keyId"]?.stringValue)
        #expect(created.json["body"]?["keyStatus"] == "ACTIVE")
        let wrong = try await client.send(
            .POST, server.url(server.api("keys/symmetric-keys/create")),
            json: ["keyStoreName": "Store #1", "name": "k"],
            headers: [("X-TC-AUTHENTICATION-ID", server.fixture.accessKeyID), ("X-TC-AUTHENTICATION-SECRET", "nope")])
        #expect(wrong.resultMessage == "Unauthorized")
        #expect(wrong.status == 401)
        let deleted = try await client.send(.PUT, server.url(server.api("keys/\(keyId)/delete")), headers: uak)
        #expect(deleted.json["body"]?["deletionDateTime"] == .string(Timestamp.api(referenceTime + 7 * day)))
        let removed = try await client.send(.DELETE, server.url(server.api("keys/\(keyId)")), headers: uak)
        #expect(removed.status == 200)
        let added = try await client.send(
            .POST, server.url(server.api("auths/ipv4s")),
            json: ["keyStoreName": "Store #1", "value": "127.0.0.1", "description": "d"],
            headers: uak)
        #expect(added.json["body"] == ["value": "127.0.0.1", "description": "d"])
        try await client.shutdown()
        try await server.stop()
        let lines = try server.logLines()
        #expect(lines.first?["authScheme"] == "uak")
        #expect(lines.first?["userAccessKeyId"] == .string(server.fixture.accessKeyID))
        #expect(lines.first?["keyStoreName"] == "Store #1")
    }

    @Test func bearerTokenOnV13() async throws {
        let server = try await TestServer.start()
        let client = try server.client()
        let basic = Data("\(server.fixture.accessKeyID):\(server.fixture.accessKeySecret)".utf8).base64EncodedString()
        let token = try await client.send(
            .POST, server.url("/oauth2/token/create"), raw: "grant_type=client_credentials",
            headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")])
        #expect(token.status == 200)
        let accessToken = try #require(token.json["access_token"]?.stringValue)
        #expect(token.json["token_type"] == "Bearer")
        #expect(token.json["expires_in"] == 86_400)
        let bearer = [("X-NHN-AUTHORIZATION", "Bearer \(accessToken)")]
        let created = try await client.send(
            .POST, server.url(server.api("keystores", version: "v1.3")),
            json: [
                "name": "myKeyStore", "description": "Custom description", "ip4AuthUse": "Y", "macAuthUse": "N",
                "certificateAuthUse": "N", "authMode": "AND",
            ], headers: bearer)
        #expect(created.json["body"]?["name"] == "myKeyStore")
        let id = try #require(created.json["body"]?["keyStoreId"]?.intValue)
        let updated = try await client.send(
            .PUT, server.url(server.api("keystores/\(id)", version: "v1.3")),
            json: ["name": "renamed", "ip4AuthUse": "Y", "macAuthUse": "N", "certificateAuthUse": "N"], headers: bearer)
        #expect(
            updated.json == [
                "header": ["resultCode": 0, "resultMessage": "success", "isSuccessful": true], "body": nil,
            ])
        let listed = try await client.send(
            .GET, server.url(server.api("keystores?detail=true", version: "v1.3")), headers: bearer)
        #expect(listed.json["body"]?["keyStoreList"]?.arrayValue?.first?["name"] == "renamed")
        // On v1.2 key stores cannot be created: URL NOT FOUND.
        let old = try await client.send(
            .POST, server.url(server.api("keystores", version: "v1.2")), json: [:], headers: bearer)
        #expect(old.resultMessage == "URL NOT FOUND")
        server.fixture.clock.advance(by: 86_401)
        let expired = try await client.send(.GET, server.url(server.api("keystores", version: "v1.3")), headers: bearer)
        #expect(expired.resultMessage == "Unauthorized")
        let badBasic = try await client.send(
            .POST, server.url("/oauth2/token/create"), raw: "grant_type=client_credentials",
            headers: [("Authorization", "Basic \(Data("x:y".utf8).base64EncodedString())")])
        #expect(badBasic.status == 401)
        try await client.shutdown()
        try await server.stop()
        let text = try String(contentsOfFile: server.logPath, encoding: .utf8)
        #expect(!text.contains(accessToken))
        #expect(!text.contains(server.fixture.accessKeySecret))
    }

    /// Key import over HTTPS: the key's bytes in, the same bytes out of the symmetric-key query, rotation refused
    /// as a status change, and no form of the material anywhere in the request log.
    @Test func importedKeyOverHTTPS() async throws {
        let server = try await TestServer.start()
        let store = try await server.fixture.store("Store #1")
        try await server.fixture.allow("127.0.0.1", in: store)
        let client = try server.client()
        let uak = [
            ("X-TC-AUTHENTICATION-ID", server.fixture.accessKeyID),
            ("X-TC-AUTHENTICATION-SECRET", server.fixture.accessKeySecret),
        ]
        let bytes = (0..<32).map { UInt8(0x31 &+ $0 &* 5) }
        let console = bytes.map { String(format: "0x%02X", $0) }.joined(separator: ", ")
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let base64 = Data(bytes).base64EncodedString()
        let imported = try await client.send(
            .POST, server.url(server.api("keys/symmetric-keys/import")),
            json: ["keyStoreName": "Store #1", "name": "byok", "symmetricKey": .string(base64)], headers: uak)
        #expect(imported.status == 200)
        let keyId = try #require(imported.json["body"]?["keyId"]?.stringValue)
        let shown = try await client.send(.GET, server.url(server.api("symmetric-keys/\(keyId)/symmetric-key")))
        #expect(shown.json["body"]?["symmetricKey"] == .string(console.lowercased()))
        let rotated = try await client.send(.POST, server.url(server.api("keys/\(keyId)/rotate")), headers: uak)
        #expect(rotated.resultMessage == "Invalid Key Status")
        let short = try await client.send(
            .POST, server.url(server.api("keys/symmetric-keys/import")),
            json: ["keyStoreName": "Store #1", "name": "short", "symmetricKey": .string(String(hex.prefix(32)))],
            headers: uak)
        #expect(short.resultMessage == "Invalid Request")
        #expect(short.status == 400)
        // Material or plaintext put in the query by mistake is not logged: only the parameters SKM reads are.
        _ = try await client.send(
            .POST, server.url(server.api("keys/symmetric-keys/import?symmetricKey=\(hex)&\(base64)")),
            json: ["keyStoreName": "Store #1", "name": "q"], headers: uak)
        _ = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(keyId)/encrypt?plaintext=Qu3ryPla1ntext&keyVersion=0")),
            json: ["plaintext": "x"])
        try await client.shutdown()
        try await server.stop()
        let text = try String(contentsOfFile: server.logPath, encoding: .utf8)
        for form in [
            hex, String(hex.prefix(32)), base64, String(base64.prefix(20)), console, String(console.prefix(30)),
            hex.uppercased(), "Qu3ryPla1ntext",
        ] {
            #expect(!text.contains(form))
        }
        #expect(text.contains(#""query":{"keyVersion":"0"}"#))
        let lines = try server.logLines()
        let refused = try #require(lines.dropLast(2).last)
        #expect(refused["operation"] == "importSymmetricKey")
        #expect(refused["inputs"]?.arrayValue?.first?["decodedBytes"] == 16)
        #expect(lines.first?["inputs"]?.arrayValue?.first?["decodedBytes"] == 32)
    }

    /// Bulk registration over HTTPS: a refused file changes nothing and its log line counts the rows, never the
    /// addresses; a good one registers every row, after which a client at a registered address is let in.
    @Test func bulkRegistrationOverHTTPS() async throws {
        let server = try await TestServer.start()
        let store = try await server.fixture.store("Store #1")
        let key = try await server.fixture.key(.symmetric, in: store)
        let client = try server.client()
        let uak = [
            ("X-TC-AUTHENTICATION-ID", server.fixture.accessKeyID),
            ("X-TC-AUTHENTICATION-SECRET", server.fixture.accessKeySecret),
        ]
        let denied = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"])
        #expect(denied.resultMessage == "IPv4 Auth Failure")
        let bad = "value,description\r\n127.0.0.1,loopback\r\n10.9.9.9/8,host bits\r\n"
        let refused = try await client.send(
            .POST, server.url(server.api("auths/import")), json: ["keyStoreName": "Store #1", "csv": .string(bad)],
            headers: uak)
        #expect(refused.resultMessage == "Invalid Request")
        let good = "\u{FEFF}value,description\r\n127.0.0.1,loopback\r\n\"10.9.0.0/16\",\"lab, east\"\r\n"
        let imported = try await client.send(
            .POST, server.url(server.api("auths/import")), json: ["keyStoreName": "Store #1", "csv": .string(good)],
            headers: uak)
        #expect(imported.status == 200)
        #expect(imported.json["body"]?["applied"] == true)
        #expect(imported.json["body"]?["added"]?.arrayValue?.map { $0["value"] } == ["127.0.0.1", "10.9.0.0/16"])
        let allowed = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"])
        #expect(allowed.status == 200)
        try await client.shutdown()
        try await server.stop()
        let lines = try server.logLines().filter { $0["operation"] == "importAuth" }
        #expect(lines.count == 2)
        #expect(lines[0]["inputs"]?.arrayValue?.first?["rows"] == 2)
        #expect(lines[0]["inputs"]?.arrayValue?.first?["invalidRows"] == 1)
        #expect(lines[1]["inputs"]?.arrayValue?.first?["invalidRows"] == 0)
        #expect(!(try String(contentsOfFile: server.logPath, encoding: .utf8)).contains("lab, east"))
    }

    /// The approval workflow over HTTPS: a registration waits, the list shows who asked, the requester and a member
    /// are refused, another approver's approval lets the client in; every refusal is logged with the entry's id.
    @Test func approvalsOverHTTPS() async throws {
        let server = try await TestServer.start()
        let store = try await server.fixture.store("Store #1")
        let key = try await server.fixture.key(.symmetric, in: store)
        let second = try await server.engine.createUserAccessKey(appkey: server.appkey, actor: "cli:admin")
        let member = try await server.engine.createUserAccessKey(appkey: server.appkey, actor: "cli:admin")
        func credentials(_ id: String, _ secret: String) -> [(String, String)] {
            [("X-TC-AUTHENTICATION-ID", id), ("X-TC-AUTHENTICATION-SECRET", secret)]
        }
        let requester = credentials(server.fixture.accessKeyID, server.fixture.accessKeySecret)
        let approver = credentials(second.accessKey.id, second.secret)
        _ = try await server.engine.setApprovalRequired(
            appkey: server.appkey, true,
            approvers: ["uak:\(server.fixture.accessKeyID)", "uak:\(second.accessKey.id)"],
            actor: "cli:admin")
        let client = try server.client()
        let added = try await client.send(
            .POST, server.url(server.api("auths/ipv4s")), json: ["keyStoreName": "Store #1", "value": "127.0.0.1"],
            headers: requester)
        #expect(added.status == 200)
        #expect(added.json["body"] == ["value": "127.0.0.1", "description": "", "status": "PENDING_APPROVAL"])
        let encrypt = server.url(server.api("symmetric-keys/\(key.id)/encrypt"))
        #expect(try await client.send(.POST, encrypt, json: ["plaintext": "x"]).resultMessage == "IPv4 Auth Failure")
        let listed = try await client.send(
            .GET, server.url(server.api("approvals", version: "v1.3")), headers: approver)
        let waiting = try #require(listed.json["body"]?["approvalList"]?.arrayValue)
        #expect(waiting.count == 1)
        #expect(waiting.first?["value"] == "127.0.0.1")
        #expect(waiting.first?["status"] == "PENDING_APPROVAL")
        #expect(waiting.first?["requestedBy"] == .string("uak:\(server.fixture.accessKeyID)"))
        #expect(waiting.first?["keyStoreName"] == "Store #1")
        let id = try #require(waiting.first?["entryId"]?.intValue)
        let own = try await client.send(.POST, server.url(server.api("approvals/\(id)/approve")), headers: requester)
        #expect(own.resultMessage == "Invalid Request")
        let notApprover = try await client.send(
            .POST, server.url(server.api("approvals/\(id)/approve")),
            headers: credentials(member.accessKey.id, member.secret))
        #expect(notApprover.resultMessage == "Invalid Request")
        let unknown = try await client.send(.POST, server.url(server.api("approvals/abc/reject")), headers: approver)
        #expect(unknown.resultMessage == "Invalid Request")
        #expect(try await client.send(.POST, encrypt, json: ["plaintext": "x"]).resultMessage == "IPv4 Auth Failure")
        let approved = try await client.send(
            .POST, server.url(server.api("approvals/\(id)/approve")), headers: approver)
        #expect(approved.status == 200)
        #expect(approved.json["body"]?["status"] == "IN_SERVICE")
        #expect(try await client.send(.POST, encrypt, json: ["plaintext": "x"]).status == 200)
        let again = try await client.send(.POST, server.url(server.api("approvals/\(id)/reject")), headers: approver)
        #expect(again.resultMessage == "Invalid Request")
        let v10 = try await client.send(.GET, server.url(server.api("approvals", version: "v1.0")), headers: approver)
        #expect(v10.resultMessage == "URL NOT FOUND")
        try await client.shutdown()
        try await server.stop()
        let decisions = try server.logLines().filter {
            $0["operation"] == "approveRequest" || $0["operation"] == "rejectRequest"
        }
        #expect(
            decisions.map { $0["resourceName"] } == [
                .string(String(id)), .string(String(id)), "abc", .string(String(id)), .string(String(id)),
            ])
        #expect(decisions.map { $0["response"]?["resultCode"] } == [-1001, -1001, -1001, 0, -1001])
    }

    /// Key and key-store changes over HTTPS while the workflow is on: each answers with the change request that
    /// waits and changes nothing; the list shows them; the requester cannot approve; an approver's approval makes
    /// the change; a rejection changes nothing; every call is in the request log.
    @Test func changeRequestsOverHTTPS() async throws {
        let server = try await TestServer.start()
        let store = try await server.fixture.store("Store #1")
        let key = try await server.fixture.key(.symmetric, in: store)
        let second = try await server.engine.createUserAccessKey(appkey: server.appkey, actor: "cli:admin")
        func credentials(_ id: String, _ secret: String) -> [(String, String)] {
            [("X-TC-AUTHENTICATION-ID", id), ("X-TC-AUTHENTICATION-SECRET", secret)]
        }
        let requester = credentials(server.fixture.accessKeyID, server.fixture.accessKeySecret)
        let approver = credentials(second.accessKey.id, second.secret)
        _ = try await server.engine.setApprovalRequired(
            appkey: server.appkey, true,
            approvers: ["uak:\(server.fixture.accessKeyID)", "uak:\(second.accessKey.id)"], actor: "cli:admin")
        let client = try server.client()
        let created = try await client.send(
            .POST, server.url(server.api("keys/secrets/create")),
            json: ["keyStoreName": "Store #1", "name": "db", "secretValue": "pa55-w0rd-value"], headers: requester)
        #expect(created.status == 200)
        #expect(created.json["body"]?["changeId"] == 1)
        #expect(created.json["body"]?["status"] == "PENDING_APPROVAL")
        #expect(created.json["body"]?["state"] == "Scheduled to Create")
        #expect(created.json["body"]?["change"] == .string("create secret 'db' in key store #\(store.id)"))
        let deletion = try await client.send(
            .PUT, server.url(server.api("keys/\(key.id)/delete")), headers: requester)
        #expect(deletion.json["body"]?["changeId"] == 2)
        let refused = try await client.send(
            .POST, server.url(server.api("keys/symmetric-keys/create")),
            json: ["keyStoreName": "No such store", "name": "k"], headers: requester)
        #expect(refused.resultMessage == "Invalid Request")
        let listed = try await client.send(.GET, server.url(server.api("approvals")), headers: approver)
        #expect(listed.json["body"]?["changeList"]?.arrayValue?.map { $0["changeId"] } == [1, 2])
        #expect(listed.json["body"]?["approvalList"] == [])
        let own = try await client.send(
            .POST, server.url(server.api("approvals/changes/1/approve")), headers: requester)
        #expect(own.resultMessage == "Invalid Request")
        let approved = try await client.send(
            .POST, server.url(server.api("approvals/changes/1/approve", version: "v1.3")), headers: approver)
        #expect(approved.status == 200)
        #expect(approved.json["body"]?["status"] == "APPROVED")
        let secretId = try #require(approved.json["body"]?["keyId"]?.stringValue)
        let rejected = try await client.send(
            .POST, server.url(server.api("approvals/changes/2/reject")), headers: approver)
        #expect(rejected.json["body"]?["status"] == "REJECTED")
        let again = try await client.send(
            .POST, server.url(server.api("approvals/changes/2/approve")), headers: approver)
        #expect(again.resultMessage == "Invalid Request")
        try await client.shutdown()
        try await server.stop()
        #expect(try await server.engine.storage.key(id: secretId)?.created.user == "uak:\(second.accessKey.id)")
        #expect(try await server.engine.storage.key(id: key.id)?.status == .active)
        let lines = try server.logLines()
        #expect(
            lines.filter { $0["operation"] == "approveChange" || $0["operation"] == "rejectChange" }.map {
                $0["response"]?["resultCode"]
            } == [-1001, 0, 0, -1001])
        #expect(!(try String(contentsOfFile: server.logPath, encoding: .utf8)).contains("pa55-w0rd-value"))
    }

    /// The call statistics over HTTPS: the calls the server answered, by day, key, operation and result, before and
    /// after they are written; a made-up key id is no cell of its own; a day written another way is Invalid Request.
    @Test func statisticsOverHTTPS() async throws {
        let server = try await TestServer.start()
        let store = try await server.fixture.store("Store #1")
        let key = try await server.fixture.key(.symmetric, in: store)
        _ = try await server.engine.addAuthEntry(
            appkey: server.appkey, store: .id(store.id), kind: .ipv4, value: "127.0.0.1", actor: "cli:admin")
        let client = try server.client()
        let uak = [
            ("X-TC-AUTHENTICATION-ID", server.fixture.accessKeyID),
            ("X-TC-AUTHENTICATION-SECRET", server.fixture.accessKeySecret),
        ]
        for _ in 0..<3 {
            let sealed = try await client.send(
                .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"])
            #expect(sealed.status == 200)
        }
        let madeUp = String(repeating: "0f", count: 16)
        let unknown = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(madeUp)/encrypt")), json: ["plaintext": "x"])
        #expect(unknown.resultMessage == "Invalid Key ID")
        let today = String(Timestamp.rfc3339(server.engine.configuration.clock.now).prefix(10))
        let expected: JSONValue = [
            ["date": .string(today), "keyId": .null, "operation": "encrypt", "result": "Invalid Key ID", "count": 1],
            [
                "date": .string(today), "keyId": .string(key.id), "operation": "encrypt", "result": "success",
                "count": 3,
            ],
        ]
        let before = try await client.send(.GET, server.url(server.api("stats")), headers: uak)
        #expect(before.json["body"]?["statistics"] == expected)
        #expect(before.json["body"]?["to"] == .string(today))
        try await server.engine.flushUsage()
        let after = try await client.send(
            .GET, server.url(server.api("stats?from=\(today)&to=\(today)", version: "v1.3")), headers: uak)
        // The first statistics call is counted too.
        #expect(after.json["body"]?["statistics"]?.arrayValue?.count == 3)
        let one = try await client.send(.GET, server.url(server.api("stats?keyId=\(key.id)")), headers: uak)
        #expect(one.json["body"]?["statistics"] == [expected.arrayValue![1]])
        // Days the calendar does not have are refused like any other (they once stopped the server).
        for query in ["from=21/09/2026", "to=2026-11-31", "from=2026-02-30", "from=2026-12-01&to=2025-02-29"] {
            let bad = try await client.send(.GET, server.url(server.api("stats?\(query)")), headers: uak)
            #expect(bad.resultMessage == "Invalid Request", "\(query)")
        }
        let leap = try await client.send(.GET, server.url(server.api("stats?to=2024-02-29")), headers: uak)
        #expect(leap.json["body"]?["from"] == "2024-01-31")
        try await client.shutdown()
        try await server.stop()
    }

    @Test func certificateDownloadIsPKCS12() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        let client = try server.client()
        let uak = [
            ("X-TC-AUTHENTICATION-ID", server.fixture.accessKeyID),
            ("X-TC-AUTHENTICATION-SECRET", server.fixture.accessKeySecret),
        ]
        let answer = try await client.send(
            .GET, server.url(server.api("keystores/\(world.certificateStore.id)/certificates/app/pkcs12")), headers: uak
        )
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type") == "application/x-pkcs12")
        #expect(
            try PKCS12.certificates(in: answer.body, password: "pw").first?.sha256Fingerprint
                == world.certificate.sha256Fingerprint)
        let listed = try await client.send(
            .GET, server.url(server.api("keystores/\(world.certificateStore.id)/certificates?value=app")), headers: uak)
        #expect(listed.json["body"]?["certificateList"]?.arrayValue?.first?["name"] == "app")
        try await client.shutdown()
        try await server.stop()
    }

    @Test func healthAndMetrics() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        let client = try server.client()
        _ = try await world.encrypt(client)
        _ = try await world.encrypt(client, key: world.remoteKey)
        let health = try await client.send(.GET, server.url("/health"))
        #expect(health.json == ["status": "UP"])
        let metrics = String(decoding: try await client.send(.GET, server.url("/metrics")).body, as: UTF8.self)
        #expect(metrics.contains(#"skm_requests_total{operation="encrypt",result_code="0"} 1"#))
        #expect(metrics.contains(#"skm_requests_total{operation="encrypt",result_code="-1300"} 1"#))
        #expect(metrics.contains(#"skm_request_duration_seconds_count{operation="encrypt"} 2"#))
        #expect(metrics.contains("# TYPE skm_request_duration_seconds histogram"))
        try await client.shutdown()
        try await server.stop()
    }
}
