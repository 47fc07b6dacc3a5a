import Foundation
import SKMCore
import SKMPrimitives
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

    /// Events the analyser could not rewind are refused, each named: an unknown field, a status it cannot read, a
    /// status change with nothing to go back to, a date before the thing existed, an impossible date.
    @Test func eventsThatCannotBeRewoundAreRefused() async throws {
        let snapshot = try await richSnapshot()
        let deletion = try #require(snapshot.events.lastIndex { $0.action == .authScheduleDeletion })
        func refused(_ change: (inout StateSnapshot) -> Void) throws -> String {
            var broken = snapshot
            change(&broken)
            do {
                _ = try StateSnapshot.decode(try broken.jsonData())
                return ""
            } catch {
                return String(describing: error)
            }
        }
        #expect(try refused { $0.events[deletion].changes[0].field = "Status" }.contains("unknown field 'Status'"))
        #expect(try refused { $0.events[deletion].changes[0].before = "in_service" }.contains("is not a status"))
        #expect(try refused { $0.events[deletion].changes[0].before = nil }.contains("needs the status"))
        #expect(
            try refused { $0.events[deletion].time = Date(timeIntervalSince1970: 0) }.contains("before its AUTH_ENTRY"))
        let text = String(decoding: try snapshot.jsonData(), as: UTF8.self)
        let stamp = Timestamp.rfc3339(snapshot.events[deletion].time)
        let impossible = text.replacingOccurrences(of: stamp, with: String(stamp.prefix(5)) + "02-30T10:00:00.000Z")
        #expect(throws: (any Error).self) { _ = try StateSnapshot.decode(Data(impossible.utf8)) }
        #expect(try StateSnapshot.decode(try snapshot.jsonData()).events == snapshot.events)
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
