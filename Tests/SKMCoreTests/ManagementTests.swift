import Foundation
import SKMCore
import SKMPrimitives
import SKMTestSupport
import SKMWire
import Testing

@Suite struct ManagementTests {
    @Test func keyStoreCreateListUpdateDelete() async throws {
        let fixture = try await Fixture.make()
        let created = await fixture.manage(
            .createKeyStore,
            body: [
                "name": "myKeyStore", "description": "Custom description", "ip4AuthUse": "Y", "macAuthUse": "N",
                "certificateAuthUse": "N", "authMode": "OR",
            ])
        let id = try #require(created.body?["keyStoreId"]?.intValue)
        #expect(created.body?["authMode"] == "OR")
        let list = await fixture.manage(.listKeyStores)
        #expect(list.body == ["keyStoreIdList": [.int(id)]])
        let updated = await fixture.manage(
            .updateKeyStore, store: String(id),
            body: ["name": "renamed", "ip4AuthUse": "N", "macAuthUse": "Y", "certificateAuthUse": "N"])
        #expect(updated.envelope["body"] == .null)
        #expect(updated.error == nil)
        let shown = await fixture.manage(.getKeyStore, store: String(id))
        #expect(shown.body?["name"] == "renamed")
        #expect(shown.body?["authMode"] == "AND")
        #expect(await fixture.manage(.deleteKeyStore, store: String(id)).error == nil)
        #expect(await fixture.manage(.getKeyStore, store: String(id)).error == .invalidRequest)
        #expect(await fixture.manage(.getKeyStore, store: "abc").error == .invalidRequest)
        #expect(
            await fixture.manage(
                .createKeyStore, body: ["name": "x", "ip4AuthUse": "y", "macAuthUse": "N", "certificateAuthUse": "N"]
            ).rejection?.field == "ip4AuthUse")
        #expect(await fixture.manage(.createKeyStore, version: .v1_2).error == .urlNotFound)
    }

    @Test func keysThroughTheManagementAPI() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store("Store #1")
        let created = await fixture.manage(
            .createSymmetricKey,
            body: ["keyStoreName": "Store #1", "name": "Key Sample #2", "description": "d", "autoRotationPeriod": 0])
        let keyId = try #require(created.string("keyId"))
        #expect(created.string("keyStatus") == "ACTIVE")
        #expect(
            await fixture.manage(.createSymmetricKey, body: ["keyStoreName": "nope", "name": "k"]).rejection?.field
                == "keyStoreName")
        #expect(
            await fixture.manage(
                .createSymmetricKey, body: ["keyStoreName": "Store #1", "name": "k", "autoRotationPeriod": 10]
            ).rejection?.field == "autoRotationPeriod")
        let secret = await fixture.manage(
            .createSecret, body: ["keyStoreName": "Store #1", "name": "db", "secretValue": "pw"])
        #expect(secret.error == nil)

        let listed = await fixture.manage(
            .listKeys, store: String(store.id), query: ["detail": "true", "type": "SYMMETRIC_KEY"])
        #expect(listed.body?["keyList"]?.arrayValue?.count == 1)
        #expect(listed.body?["keyList"]?.arrayValue?.first?["currentKeyValueVersion"] == 0)
        let ids = await fixture.manage(.listKeys, store: String(store.id))
        #expect(ids.body?["keyIdList"]?.arrayValue?.count == 2)
        #expect(
            await fixture.manage(.listKeys, store: String(store.id), query: ["pageSize": "5"]).rejection?.field
                == "pageSize")

        let rotated = await fixture.manage(.rotateKey, key: keyId)
        #expect(rotated.body?["keyVersion"] == 1)
        let scheduled = await fixture.manage(.scheduleKeyDeletion, key: keyId)
        #expect(scheduled.string("deletionDateTime") == Timestamp.api(referenceTime + 7 * day))
        let inactive = await fixture.manage(.listKeys, store: String(store.id), query: ["status": "inactive"])
        #expect(inactive.body?["keyIdList"] == [.string(keyId)])
        #expect(await fixture.manage(.cancelKeyDeletion, key: keyId).string("keyStatus") == "ACTIVE")
        #expect(await fixture.manage(.deleteKey, key: keyId).error == .invalidKeyStatus)
        _ = await fixture.manage(.scheduleKeyDeletion, key: keyId)
        #expect(await fixture.manage(.deleteKey, key: keyId).error == nil)
        #expect(await fixture.manage(.getKey, key: keyId, store: String(store.id)).error == .invalidKeyID)
    }

    @Test func authEntriesThroughTheManagementAPI() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store("Store #1", certificate: true)
        #expect(
            await fixture.manage(
                .addAuth, kind: .ipv4, body: ["keyStoreName": "Store #1", "value": "127.0.0.1", "description": "d"]
            ).body == ["value": "127.0.0.1", "description": "d"])
        #expect(
            await fixture.manage(
                .addAuth, kind: .mac, body: ["keyStoreName": "Store #1", "value": "AA:AA:AA:AA:AA:AA"]
            ).string("value") == "aa:aa:aa:aa:aa:aa")
        #expect(
            await fixture.manage(.addAuth, kind: .ipv4, body: ["keyStoreName": "Store #1", "value": "1.2.3"]).rejection?
                .field == "value")
        let certificate = await fixture.manage(
            .addAuth, kind: .certificate,
            body: ["keyStoreName": "Store #1", "name": "Certificate Name #1", "password": "Password", "lifeTime": 365])
        #expect(certificate.string("name") == "Certificate Name #1")
        let detail = await fixture.manage(
            .listAuth, store: String(store.id), kind: .certificate, query: ["value": "Certificate Name #1"])
        let first = try #require(detail.body?["certificateList"]?.arrayValue?.first)
        #expect(first["password"] == "Password")
        #expect(first["expirationDate"] == .string(Timestamp.api(referenceTime + 365 * day)))
        let deleted = await fixture.manage(
            .scheduleAuthDeletion, kind: .mac, body: ["keyStoreName": "Store #1", "value": "aa-aa-aa-aa-aa-aa"])
        #expect(
            deleted.body == [
                "value": "aa:aa:aa:aa:aa:aa", "deletionDateTime": .string(Timestamp.api(referenceTime + 7 * day)),
            ])
        #expect(
            await fixture.manage(
                .deleteAuth, kind: .mac, body: ["keyStoreName": "Store #1", "value": "aa:aa:aa:aa:aa:aa"]
            ).error == nil)
        let ips = await fixture.manage(.listAuth, store: String(store.id), kind: .ipv4)
        #expect(ips.body == ["ipv4List": ["127.0.0.1"]])
        let macs = await fixture.manage(.listAuth, store: String(store.id), kind: .mac)
        #expect(macs.body == ["macList": []])
        let download = await fixture.engine.execute(
            APIRequest(
                operation: .downloadCertificate, appkey: fixture.appkey, keyStoreId: String(store.id),
                resourceName: "Certificate Name #1", credentials: fixture.credentials), from: .local)
        guard case .success(.file(let bytes, let type, let filename)) = download.result else {
            Issue.record("no file: \(download.rejection?.description ?? "")")
            return
        }
        #expect(type == "application/x-pkcs12")
        #expect(filename == "Certificate_Name__1.p12")
        #expect(try PKCS12.certificates(in: bytes, password: "Password").count == 1)
    }

    @Test func bearerTokensAuthoriseUntilTheyExpire() async throws {
        let fixture = try await Fixture.make()
        let issued = await fixture.engine.execute(
            APIRequest(
                operation: .createToken, appkey: "", body: .json(["grant_type": "client_credentials"]),
                credentials: fixture.credentials), from: .local)
        let token = try #require(issued.string("access_token"))
        #expect(issued.body?["token_type"] == "Bearer")
        #expect(issued.body?["expires_in"] == 86_400)
        #expect(issued.envelope["header"] == nil)
        let bearer = Credentials(bearerToken: token)
        #expect(await fixture.manage(.listKeyStores, credentials: bearer).error == nil)
        var tampered = Array(token)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
        #expect(
            await fixture.manage(.listKeyStores, credentials: Credentials(bearerToken: String(tampered))).error
                == .unauthorized)
        fixture.clock.advance(by: 86_400 + 1)
        let expired = await fixture.manage(.listKeyStores, credentials: bearer)
        #expect(expired.error == .unauthorized)
        #expect(expired.rejection?.reason.contains("expired") == true)
        // A token is bound to its UAK's appkey.
        let (other, _) = try await fixture.engine.createAppkey(name: "other", actor: "test")
        fixture.clock.set(referenceTime)
        let foreign = await fixture.engine.execute(
            APIRequest(operation: .listKeyStores, appkey: other.id, credentials: bearer), from: .local)
        #expect(foreign.error == .unauthorized)
        let badGrant = await fixture.engine.execute(
            APIRequest(
                operation: .createToken, appkey: "", body: .json(["grant_type": "password"]),
                credentials: fixture.credentials),
            from: .local)
        #expect(badGrant.rejection?.field == "grant_type")
    }

    @Test func uakSecretIsStoredOnlyAsASaltedDigest() async throws {
        let fixture = try await Fixture.make()
        let stored = try #require(try await fixture.engine.storage.userAccessKey(id: fixture.accessKeyID))
        #expect(stored.secretDigest.count == 32)
        #expect(stored.secretDigest != Data(fixture.accessKeySecret.utf8))
        #expect(!String(decoding: stored.secretDigest, as: UTF8.self).contains(fixture.accessKeySecret))
    }
}
