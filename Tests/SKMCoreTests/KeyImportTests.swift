import Crypto
import Foundation
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing

@Suite struct KeyImportTests {
    /// 32 distinct bytes, so that a byte out of place shows.
    static let bytes = (0..<32).map { UInt8(truncatingIfNeeded: 0xA0 + $0 * 7) }
    static var console: String { bytes.map { String(format: "0x%02X", $0) }.joined(separator: ", ") }
    static var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
    static var base64: String { Data(bytes).base64EncodedString() }

    @Test func theThreeFormsReadAsTheSameBytes() throws {
        for text in [
            Self.console, Self.console.replacingOccurrences(of: ", ", with: " "),
            Self.console.replacingOccurrences(of: ", ", with: ",").lowercased(), "\n  \(Self.hex.uppercased())\n",
            Self.base64 + "\r\n", String(Self.base64.dropLast()),
            "\(Self.base64.prefix(20))\n\(Self.base64.dropFirst(20))",
            stride(from: 0, to: 64, by: 8).map { String(Array(Self.hex)[$0..<$0 + 8]) }.joined(separator: " "),
        ] {
            #expect(try ImportedKeyMaterial.parse(text).get() == Data(Self.bytes), "\(text)")
        }
    }

    @Test func wrongMaterialIsRefusedWithoutRepeatingIt() {
        let cases: [(String, ImportProblem)] = [
            ("", .empty), ("  \n", .empty),
            (Self.bytes.prefix(16).map { String(format: "0x%02x", $0) }.joined(separator: ", "), .wrongLength),
            (String(Self.hex.prefix(62)), .wrongLength), (Self.hex + "00", .wrongLength),
            (Data(Self.bytes.prefix(24)).base64EncodedString(), .wrongLength),
            ("0x1, 0x02", .unreadable), ("0xZZ, 0x01", .unreadable), ("0x01,,0x02", .unreadable),
            (Self.console + ", 0x", .unreadable), (String(Self.hex.prefix(63)), .unreadable),
            ("hello world", .unreadable),
            (
                Self.base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"),
                .unreadable
            ),
        ]
        for (text, expected) in cases {
            guard case .failure(let problem) = ImportedKeyMaterial.parse(text) else {
                Issue.record("\(text) was read as a key")
                continue
            }
            #expect(problem.code == expected, "\(text)")
            if text.count > 4 { #expect(!problem.reason.contains(String(text.prefix(8))), "\(text)") }
        }
    }

    @Test func anImportedKeyEncryptsWithItsOwnBytesAndNeverRotates() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store("Store #1")
        try await fixture.allow("127.0.0.1", in: store)
        let imported = await fixture.manage(
            .importSymmetricKey,
            body: ["keyStoreName": "Store #1", "name": "byok", "symmetricKey": .string(Self.console)])
        let keyId = try #require(imported.string("keyId"))
        #expect(imported.string("keyStatus") == "ACTIVE")
        let key = try #require(try await fixture.engine.storage.key(id: keyId))
        #expect(key.imported)
        #expect(key.autoRotationPeriod == 0)

        // The key's material is the bytes given: the symmetric-key query shows them, and a ciphertext opens with them.
        let shown = await fixture.call(.getSymmetricKey, key: keyId)
        #expect(shown.string("symmetricKey") == Self.console.lowercased())
        let sealed = await fixture.call(.encrypt, key: keyId, body: ["plaintext": "hello"])
        let ciphertext = try #require(sealed.string("ciphertext"))
        let blob = try #require(Data(base64Encoded: ciphertext))
        let box = try AES.GCM.SealedBox(combined: blob.dropFirst(4))
        let opened = try AES.GCM.open(box, using: SymmetricKey(data: Self.bytes), authenticating: Data(keyId.utf8))
        #expect(String(decoding: opened, as: UTF8.self) == "hello")

        // Rotation is refused, by the documented error for a status change, naming the import.
        let rotated = await fixture.manage(.rotateKey, key: keyId)
        #expect(rotated.error == .invalidKeyStatus)
        #expect(rotated.rejection?.check == .rotationNotForImportedKey)
        await #expect(throws: Rejection.self) {
            _ = try await fixture.engine.rotateKey(appkey: fixture.appkey, keyId: keyId, actor: "test")
        }
        // Even scheduled for deletion, the import is what is named: cancelling the deletion would not help.
        _ = try await fixture.engine.scheduleKeyDeletion(appkey: fixture.appkey, keyId: keyId, actor: "test")
        #expect(await fixture.manage(.rotateKey, key: keyId).rejection?.check == .rotationNotForImportedKey)

        // The import is one audit event of its own.
        let snapshot = try await fixture.engine.snapshot()
        #expect(snapshot.events.filter { $0.action == .keyImport && $0.keyId == keyId }.count == 1)
        #expect(snapshot.keys.first { $0.id == keyId }?.imported == true)
    }

    @Test func badMaterialThroughTheAPIIsInvalidRequest() async throws {
        let fixture = try await Fixture.make()
        _ = try await fixture.store("Store #1")
        for material in ["", "0x01, 0x02", Self.hex + "ff", "not key material"] {
            let answer = await fixture.manage(
                .importSymmetricKey,
                body: ["keyStoreName": "Store #1", "name": "byok", "symmetricKey": .string(material)])
            #expect(answer.error == .invalidRequest)
            #expect(answer.rejection?.check == .importedMaterialValid)
            #expect(answer.rejection?.field == "symmetricKey")
        }
        #expect(
            await fixture.manage(.importSymmetricKey, body: ["keyStoreName": "Store #1", "name": "byok"]).rejection?
                .check == .requiredMembers)
        #expect(
            await fixture.manage(
                .importSymmetricKey,
                body: ["keyStoreName": "nope", "name": "byok", "symmetricKey": .string(Self.hex)]
            ).rejection?.check == .keyStoreKnown)
        // Import is this implementation's own call, from v1.2 on.
        #expect(
            await fixture.manage(
                .importSymmetricKey,
                body: ["keyStoreName": "Store #1", "name": "b", "symmetricKey": .string(Self.hex)],
                version: .v1_0
            ).error == .urlNotFound)
    }
}
