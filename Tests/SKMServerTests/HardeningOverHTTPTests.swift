import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SKMCore
import SKMPrimitives
import SKMStorage
import SKMTestSupport
import Testing

@testable import SKMServer

/// What an attack on the API found, each through real TLS sockets to a server on 127.0.0.1 with an SQLite file.
@Suite struct HardeningOverHTTPTests {
    static func uak(_ id: String, _ secret: String) -> [(String, String)] {
        [("X-TC-AUTHENTICATION-ID", id), ("X-TC-AUTHENTICATION-SECRET", secret)]
    }

    /// A key store deleted while keys, entries and certificates are created in it: whichever wins, no live key or
    /// entry is left in a deleted store.
    @Test func deletingAKeyStoreRacingCreationsLeavesNoOrphans() async throws {
        let server = try await TestServer.start()
        let client = try server.client()
        let fixture = server.fixture
        let headers = Self.uak(fixture.accessKeyID, fixture.accessKeySecret)
        var outcomes: [String: Int] = [:]
        for round in 0..<30 {
            let name = "race-\(round)"
            _ = try await fixture.store(name)
            let id = try #require(
                try await fixture.engine.storage.keyStores(appkey: fixture.appkey).first { $0.name == name }?.id)
            // Every third round lets the deletion finish first, and every third the creations: each outcome then
            // happens whatever the machine's timing. The other rounds race all four calls.
            let order = round % 3
            if order == 1 {
                let answer = try await client.send(
                    .DELETE, server.url(server.api("keystores/\(id)", version: "v1.3")), headers: headers)
                #expect(answer.resultMessage == "success", "round \(round): \(answer.json)")
            }
            let answers = try await withThrowingTaskGroup(of: (String, String?).self) { group in
                group.addTask {
                    let answer = try await client.send(
                        .POST, server.url(server.api("keys/symmetric-keys/create")),
                        json: ["keyStoreName": .string(name), "name": "k"], headers: headers)
                    return ("key", answer.resultMessage)
                }
                group.addTask {
                    let answer = try await client.send(
                        .POST, server.url(server.api("auths/ipv4s")),
                        json: ["keyStoreName": .string(name), "value": .string("10.9.\(round).0/24")], headers: headers)
                    return ("entry", answer.resultMessage)
                }
                group.addTask {
                    let answer = try await client.send(
                        .POST, server.url(server.api("auths/certificates")),
                        json: [
                            "keyStoreName": .string(name), "name": .string("c\(round)"), "password": "pw",
                            "lifeTime": 30,
                        ],
                        headers: headers)
                    return ("certificate", answer.resultMessage)
                }
                if order == 0 {
                    group.addTask {
                        let answer = try await client.send(
                            .DELETE, server.url(server.api("keystores/\(id)", version: "v1.3")), headers: headers)
                        return ("delete", answer.resultMessage)
                    }
                }
                var all: [(String, String?)] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            if order == 2 {
                let answer = try await client.send(
                    .DELETE, server.url(server.api("keystores/\(id)", version: "v1.3")), headers: headers)
                #expect(answer.resultMessage != "success", "round \(round): a store holding a key was deleted")
            }
            for (what, message) in answers { outcomes["\(what): \(message ?? "?")", default: 0] += 1 }
            let store = try #require(try await fixture.engine.storage.keyStore(id: id))
            let liveKeys = try await fixture.engine.storage.keys(keyStoreId: id).filter { $0.status != .deleted }
            if store.status == .deleted {
                #expect(liveKeys.isEmpty, "round \(round): \(liveKeys.count) live keys in a deleted store")
            }
            // A deletion that won could only win over an empty store; entries go with the store.
            if store.status == .deleted, answers.contains(where: { $0.0 == "delete" && $0.1 == "success" }) {
                #expect(liveKeys.isEmpty)
            }
        }
        // The creations won the rounds they went first in, and failed in the rounds the deletion did.
        #expect(outcomes["key: success", default: 0] >= 10, "\(outcomes)")
        #expect(outcomes.filter { $0.key.hasPrefix("key: ") && $0.key != "key: success" }.values.reduce(0, +) >= 10)
        try await client.shutdown()
        try await server.stop()
    }

    @Test func userAccessKeysAreAddedRotatedAndRevokedAndTheirTokensStopAtOnce() async throws {
        let server = try await TestServer.start()
        let client = try server.client()
        let fixture = server.fixture
        let original = Self.uak(fixture.accessKeyID, fixture.accessKeySecret)
        // Add a key, and get a token with it.
        let added = try await client.send(.POST, server.url(server.api("user-access-keys")), headers: original)
        #expect(added.resultMessage == "SUCCESS" || added.json["header"]?["isSuccessful"] == true, "\(added.json)")
        let newId = try #require(added.json["body"]?["userAccessKeyId"]?.stringValue)
        let newSecret = try #require(added.json["body"]?["secretAccessKey"]?.stringValue)
        let basic = Data("\(newId):\(newSecret)".utf8).base64EncodedString()
        let token = try await client.send(
            .POST, server.url("/oauth2/token/create"), raw: "grant_type=client_credentials",
            headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")])
        let bearer = try #require(token.json["access_token"]?.stringValue)
        let withToken = [("X-NHN-AUTHORIZATION", "Bearer \(bearer)")]
        let before = try await client.send(
            .GET, server.url(server.api("keystores", version: "v1.3")), headers: withToken)
        #expect(before.json["header"]?["isSuccessful"] == true)
        // Revoke it: the token stops working at the next request, not at its expiry.
        let revoked = try await client.send(
            .PUT, server.url(server.api("user-access-keys/\(newId)/revoke")), headers: original)
        #expect(revoked.json["body"]?["status"] == "REVOKED")
        let after = try await client.send(
            .GET, server.url(server.api("keystores", version: "v1.3")), headers: withToken)
        #expect(after.resultMessage == "Unauthorized")
        let again = try await client.send(
            .PUT, server.url(server.api("user-access-keys/\(newId)/revoke")), headers: original)
        #expect(again.resultMessage == "Invalid Request")
        // Rotate the original: a new key in service, the old one revoked in the same step.
        let rotated = try await client.send(
            .POST, server.url(server.api("user-access-keys/\(fixture.accessKeyID)/rotate")), headers: original)
        let rotatedId = try #require(rotated.json["body"]?["userAccessKeyId"]?.stringValue)
        let rotatedSecret = try #require(rotated.json["body"]?["secretAccessKey"]?.stringValue)
        #expect(rotated.json["body"]?["replacedUserAccessKeyId"] == .string(fixture.accessKeyID))
        let old = try await client.send(.GET, server.url(server.api("keystores")), headers: original)
        #expect(old.resultMessage == "Unauthorized")
        let listed = try await client.send(
            .GET, server.url(server.api("user-access-keys")), headers: Self.uak(rotatedId, rotatedSecret))
        let statuses = Dictionary(
            uniqueKeysWithValues: (listed.json["body"]?["userAccessKeyList"]?.arrayValue ?? []).compactMap {
                item -> (String, String)? in
                guard let id = item["userAccessKeyId"]?.stringValue, let status = item["status"]?.stringValue else {
                    return nil
                }
                return (id, status)
            })
        #expect(statuses == [fixture.accessKeyID: "REVOKED", newId: "REVOKED", rotatedId: "IN_SERVICE"])
        // No secret in the list, and none in the request log.
        #expect(!String(decoding: listed.body, as: UTF8.self).contains("secretAccessKey"))
        try await client.shutdown()
        try await server.stop()
        let log = try String(contentsOfFile: server.logPath, encoding: .utf8)
        #expect(!log.contains(newSecret) && !log.contains(rotatedSecret) && !log.contains(bearer))
        let events = try await fixture.engine.storage.events(after: 0, limit: 100).map(\.action)
        #expect(events.contains(.userAccessKeyRevoke) && events.contains(.userAccessKeyRotate))
    }

    @Test func v10ReadsFollowTheGuideUnlessTheServerAsksForCredentials() async throws {
        let open = try await TestServer.start()
        _ = try await open.fixture.store("s")
        let client = try open.client()
        let read = try await client.send(.GET, open.url(open.api("keystores", version: "v1.0")))
        #expect(read.json["header"]?["isSuccessful"] == true, "\(read.json)")
        let v12 = try await client.send(.GET, open.url(open.api("keystores", version: "v1.2")))
        #expect(v12.resultMessage == "Unauthorized")
        try await client.shutdown()
        try await open.stop()
        #expect(try open.logLines().first?["credentialsRequired"] == false)

        // An answer on the appkey alone withholds the certificate password and which User Access Key acted.
        let withheld = try await TestServer.start()
        let store = try await withheld.fixture.store("s")
        let reader = try withheld.client()
        let credentials = Self.uak(withheld.fixture.accessKeyID, withheld.fixture.accessKeySecret)
        let issued = try await reader.send(
            .POST, withheld.url(withheld.api("auths/certificates")),
            json: ["keyStoreName": "s", "name": "c", "password": "pw-never-shown", "lifeTime": 30],
            headers: credentials)
        #expect(issued.json["header"]?["isSuccessful"] == true, "\(issued.json)")
        let path = "keystores/\(store.id)/certificates?value=c"
        let anonymous = try await reader.send(.GET, withheld.url(withheld.api(path, version: "v1.0")))
        let text = String(decoding: anonymous.body, as: UTF8.self)
        #expect(anonymous.json["header"]?["isSuccessful"] == true, "\(text)")
        #expect(!text.contains("pw-never-shown") && !text.contains(withheld.fixture.accessKeyID), "\(text)")
        #expect(text.contains("\"password\":null") && text.contains("\"creationUser\":\"uak\""), "\(text)")
        // A later version, which needs credentials, shows both.
        let authorised = try await reader.send(
            .GET, withheld.url(withheld.api(path, version: "v1.2")), headers: credentials)
        let full = String(decoding: authorised.body, as: UTF8.self)
        #expect(full.contains("pw-never-shown") && full.contains("uak:\(withheld.fixture.accessKeyID)"), "\(full)")
        try await reader.shutdown()
        try await withheld.stop()

        let strictFixture = try await Fixture.make(v1_0ReadsNeedCredentials: true)
        let strict = try await TestServer.start(fixture: strictFixture)
        let strictClient = try strict.client()
        let refused = try await strictClient.send(.GET, strict.url(strict.api("keystores", version: "v1.0")))
        #expect(refused.resultMessage == "Unauthorized")
        try await strictClient.shutdown()
        try await strict.stop()
        #expect(try strict.logLines().first?["credentialsRequired"] == true)
    }

    @Test func lastUseIsRecordedWithoutAWritePerCall() async throws {
        let server = try await TestServer.start()
        let store = try await server.fixture.store("s")
        try await server.fixture.allow("127.0.0.1", in: store)
        let key = try await server.fixture.key(.symmetric, in: store)
        let client = try server.client()
        for _ in 0..<20 {
            let answer = try await client.send(
                .POST, server.url(server.api("symmetric-keys/\(key.id)/encrypt")), json: ["plaintext": "x"])
            #expect(answer.json["header"]?["isSuccessful"] == true)
        }
        // Nothing is written per call: the last use waits in memory for the next flush (or the shutdown).
        #expect(try await server.engine.storage.key(id: key.id)?.lastAccessAt == nil)
        try await client.shutdown()
        try await server.stop()
        let used = try #require(try await server.engine.storage.key(id: key.id)?.lastAccessAt)
        #expect(used == referenceTime)
        let entry = try #require(try await server.engine.storage.authEntries(keyStoreId: store.id).first)
        #expect(entry.lastAccessAt == referenceTime)
        // Shown by the API.
        let reopened = try await TestServer.start(fixture: server.fixture)
        let reader = try reopened.client()
        let shown = try await reader.send(
            .GET, reopened.url(reopened.api("keystores/\(store.id)/keys/\(key.id)")),
            headers: Self.uak(server.fixture.accessKeyID, server.fixture.accessKeySecret))
        #expect(shown.json["body"]?["lastAccessDatetime"] == .string(Timestamp.api(referenceTime)))
        try await reader.shutdown()
        try await reopened.stop()
    }

    /// A secret sent in the id header (the two swapped) is refused, and the log keeps its length, never the text.
    @Test func aSecretSentAsTheIdIsNeverLogged() async throws {
        let server = try await TestServer.start()
        let client = try server.client()
        let secret = server.fixture.accessKeySecret
        let answer = try await client.send(
            .GET, server.url(server.api("keystores")), headers: Self.uak(secret, server.fixture.accessKeyID))
        #expect(answer.resultMessage == "Unauthorized")
        try await client.shutdown()
        try await server.stop()
        let text = try String(contentsOfFile: server.logPath, encoding: .utf8)
        #expect(!text.contains(secret))
        let line = try #require(try server.logLines().last)
        #expect(line["userAccessKeyId"] == nil || line["userAccessKeyId"] == .null)
        #expect(line["userAccessKeyIdBytes"]?.intValue == secret.utf8.count, "\(line)")
    }

    @Test func aCertificatePasswordWithANulIsRefused() async throws {
        let server = try await TestServer.start()
        _ = try await server.fixture.store("s")
        let client = try server.client()
        let answer = try await client.send(
            .POST, server.url(server.api("auths/certificates")),
            json: ["keyStoreName": "s", "name": "c", "password": "\u{0}secret", "lifeTime": 30],
            headers: Self.uak(server.fixture.accessKeyID, server.fixture.accessKeySecret))
        #expect(answer.resultMessage == "Invalid Request")
        try await client.shutdown()
        try await server.stop()
        let line = try #require(try server.logLines().last)
        #expect(line["inputs"]?.arrayValue?.first?["controlCharacters"] == true)
    }
}

/// The certificate a connection presented is never shown to another: a channel allocated where a closed one was has
/// the same identity, and the entry the closed one left must not serve it.
@Suite struct PeerCertificateCacheTests {
    @Test func anEntryServesOnlyTheChannelItWasKeptFor() async throws {
        let peers = PeerCertificates()
        let authority = try CertificateAuthority.create(commonName: "CA", now: referenceTime)
        let certificate = authority.certificate
        let old = EmbeddedChannel()
        let new = EmbeddedChannel()
        // The old connection's entry, under the identity the new connection now has.
        peers.remember([certificate], under: ObjectIdentifier(new), for: old)
        #expect(peers.cached(under: ObjectIdentifier(new), for: new) == nil)
        #expect(peers.cached(under: ObjectIdentifier(new), for: old) == [certificate])
        // Kept for the right channel, it serves it; closing the channel forgets it.
        peers.remember([certificate], under: ObjectIdentifier(new), for: new)
        #expect(peers.cached(under: ObjectIdentifier(new), for: new) == [certificate])
        try await new.close()
        new.embeddedEventLoop.run()
        #expect(peers.count == 0)
        _ = try? await old.close()
    }
}
