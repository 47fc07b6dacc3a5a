import Foundation
import GRDB
import SKMCore
import SKMStorage
import SKMTestSupport
import Testing

@Suite struct SQLiteFileTests {
    /// Reads the database and its WAL: everything SQLite has written to disk.
    func bytesOnDisk(_ path: String) throws -> Data {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: path + "-wal")) { data.append(wal) }
        return data
    }

    @Test func noKeyMaterialSecretOrPasswordIsStoredInTheClear() async throws {
        let path = temporaryDatabasePath()
        let fixture = try await Fixture.make(storage: try SQLiteStorage(path: path))
        let store = try await fixture.store("vault", certificate: true, mode: .or)
        try await fixture.allow("127.0.0.1", in: store)
        let secretValue = "correct horse battery staple 0xC0FFEE"
        let secret = try await fixture.key(.secret, in: store, secret: secretValue)
        let symmetric = try await fixture.key(.symmetric, in: store)
        let asymmetric = try await fixture.key(.asymmetric, in: store)
        _ = try await fixture.engine.issueCertificate(
            appkey: fixture.appkey, store: .id(store.id), name: "app", password: "p4ssw0rd-unique-7781",
            lifetimeDays: 30,
            actor: "test")
        _ = secret
        let importedBytes = (0..<32).map { UInt8(truncatingIfNeeded: 0x5A + $0 * 11) }
        _ = try await fixture.engine.importSymmetricKey(
            appkey: fixture.appkey, store: .id(store.id), name: "byok", material: Data(importedBytes), actor: "test")

        let aes = await fixture.call(.getSymmetricKey, key: symmetric.id)
        let aesBytes = try #require(aes.string("symmetricKey")).split(separator: ",").map {
            UInt8($0.trimmingCharacters(in: .whitespaces).dropFirst(2), radix: 16)!
        }
        #expect(aesBytes.count == 32)
        let rsa = await fixture.call(.getPrivateKey, key: asymmetric.id)
        let encodedKey = try #require(rsa.string("encodedKey"))
        let rsaDER = try #require(Data(base64Encoded: encodedKey))

        let disk = try bytesOnDisk(path)
        #expect(disk.count > 10_000)
        let needles: [(String, Data)] = [
            ("secret value", Data(secretValue.utf8)),
            ("UAK secret", Data(fixture.accessKeySecret.utf8)),
            ("certificate password", Data("p4ssw0rd-unique-7781".utf8)),
            ("AES key", Data(aesBytes)),
            ("AES key, first half", Data(aesBytes.prefix(16))),
            ("imported AES key", Data(importedBytes)),
            ("imported AES key, as hex", Data(importedBytes.map { String(format: "%02x", $0) }.joined().utf8)),
            ("RSA private key (middle 64 bytes)", rsaDER.dropFirst(600).prefix(64)),
        ]
        for (name, needle) in needles {
            #expect(disk.range(of: needle) == nil, "\(name) found in the database file")
        }
        // The sanity check that the scan can find things: the key id is stored in the clear.
        #expect(disk.range(of: Data(symmetric.id.utf8)) != nil)
    }

    @Test func stateSurvivesReopening() async throws {
        let path = temporaryDatabasePath()
        let keyId: String
        let appkey: String
        do {
            let fixture = try await Fixture.make(storage: try SQLiteStorage(path: path))
            let store = try await fixture.store()
            try await fixture.allow("127.0.0.1", in: store)
            keyId = try await fixture.key(.symmetric, in: store).id
            appkey = fixture.appkey
        }
        let engine = try await Engine.open(storage: try SQLiteStorage(path: path), rootKey: testRootKey)
        let outcome = await engine.execute(
            APIRequest(operation: .encrypt, appkey: appkey, keyId: keyId, body: .json(["plaintext": "x"])), from: .local
        )
        #expect(outcome.error == nil)
        await #expect {
            _ = try await Engine.open(storage: try SQLiteStorage(path: path), rootKey: RootKey.generate())
        } throws: { ($0 as? CoreError)?.code == .invalidRootKey }
    }

    /// A database an earlier release wrote (no `imported` column) is refused read-only, naming the way out, and
    /// brought up to date by the first read-write open: its keys read as generated, and a key can then be imported.
    @Test func anOlderSchemaIsUpdatedOnOpening() async throws {
        let path = temporaryDatabasePath()
        let keyId: String
        let appkey: String
        do {
            let fixture = try await Fixture.make(storage: try SQLiteStorage(path: path))
            let store = try await fixture.store()
            keyId = try await fixture.key(.symmetric, in: store).id
            appkey = fixture.appkey
        }
        // As the release before key import left it: the column and its migration absent.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "ALTER TABLE managed_keys DROP COLUMN imported")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '2-imported-keys'")
        }
        try queue.close()
        #expect {
            _ = try SQLiteStorage(path: path, readOnly: true)
        } throws: { "\($0)".contains("has an older schema") }
        let storage = try SQLiteStorage(path: path)
        let key = try #require(try await storage.key(id: keyId))
        #expect(!key.imported)
        let engine = try await Engine.open(storage: storage, rootKey: testRootKey)
        let imported = try await engine.importSymmetricKey(
            appkey: appkey, store: .id(key.keyStoreId), name: "byok", material: Data(repeating: 7, count: 32),
            actor: "test")
        #expect(try await storage.key(id: imported.id)?.imported == true)
        _ = try SQLiteStorage(path: path, readOnly: true)
    }

    @Test func aCorruptFileIsRefusedNamingIt() throws {
        let path = temporaryDatabasePath()
        try Data((0..<4096).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SQLiteStorage(path: path)
        } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.code == .unusable && error.reason.contains(path)
        }
    }

    @Test func anotherApplicationsDatabaseIsRefused() throws {
        let path = temporaryDatabasePath()
        let created = try Subprocess.runBlocking(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()", path,
            ])
        try #require(created.status == 0, "\(created.error)")
        #expect {
            _ = try SQLiteStorage(path: path)
        } throws: { ($0 as? StorageError)?.reason.contains("another application") == true }
    }

    @Test func uninitialisedDatabaseSaysSo() async throws {
        let storage = try SQLiteStorage(path: temporaryDatabasePath())
        await #expect {
            _ = try await Engine.open(storage: storage, rootKey: testRootKey)
        } throws: { ($0 as? CoreError)?.code == .notInitialized }
    }
}
