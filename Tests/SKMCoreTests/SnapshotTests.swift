import Foundation
import SKMCore
import SKMTestSupport
import Testing

@Suite struct SnapshotTests {
    /// A state with every kind of row and status.
    func richSnapshot() async throws -> StateSnapshot {
        let fixture = try await Fixture.make()
        let engine = fixture.engine
        let store = try await fixture.store("payments", mac: true, certificate: true, mode: .or)
        try await fixture.allow("10.0.0.0/24", in: store)
        try await fixture.allow("aa:bb:cc:dd:ee:ff", in: store, kind: .mac)
        _ = try await engine.issueCertificate(
            appkey: fixture.appkey, store: .id(store.id), name: "app", password: "secret-password-42", lifetimeDays: 30,
            actor: "test")
        let key = try await fixture.key(.symmetric, in: store, period: 30)
        _ = try await fixture.key(.secret, in: store, name: "db", secret: "the-db-password-99")
        _ = try await fixture.key(.asymmetric, in: store, name: "signer")
        _ = try await engine.rotateKey(appkey: fixture.appkey, keyId: key.id, actor: "ops")
        _ = try await engine.scheduleVersionDeletion(appkey: fixture.appkey, keyId: key.id, version: 0, actor: "ops")
        _ = try await engine.scheduleAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .mac, value: "aa:bb:cc:dd:ee:ff", actor: "ops")
        return try await engine.snapshot()
    }

    @Test func snapshotValidatesAgainstItsSchema() async throws {
        let data = try await richSnapshot().jsonData()
        #expect(try schemaViolations(of: [data], schema: "state.schema.json") == [])
    }

    @Test func snapshotHoldsNoSecret() async throws {
        let text = String(decoding: try await richSnapshot().jsonData(), as: UTF8.self)
        #expect(!text.contains("secret-password-42"))
        #expect(!text.contains("the-db-password-99"))
        #expect(!text.contains("secretDigest"))
        #expect(!text.contains("salt"))
    }

    @Test func snapshotRoundTrips() async throws {
        let snapshot = try await richSnapshot()
        let decoded = try StateSnapshot.decode(try snapshot.jsonData())
        #expect(decoded.keys.map(\.id) == snapshot.keys.map(\.id))
        #expect(decoded.events == snapshot.events)
        #expect(
            decoded.authEntries.first { $0.kind == .certificate }?.certificate
                == snapshot.authEntries.first { $0.kind == .certificate }?.certificate)
    }

    @Test func aBrokenSnapshotNamesTheField() throws {
        let text =
            #"{"schema":"skm-state/1","generatedAt":"yesterday","source":{"kind":"database"},"appkeys":[],"userAccessKeys":[],"keyStores":[],"keys":[],"keyVersions":[],"authEntries":[],"events":[]}"#
        #expect {
            _ = try StateSnapshot.decode(Data(text.utf8))
        } throws: { error in
            String(describing: error).contains("generatedAt")
        }
    }
}
