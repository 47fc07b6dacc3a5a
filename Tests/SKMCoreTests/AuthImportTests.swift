import Foundation
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing

@Suite struct AuthImportTests {
    /// A spreadsheet's export: a byte-order mark, CRLF line ends, a header, quoted fields (one with a comma, one over
    /// two lines), a blank row, a duplicate, an address already registered, and two rows that cannot be registered.
    static let file =
        "\u{FEFF}IP Address,Description\r\n10.0.3.0/24,\"office, floor 3\"\r\n10.0.9.1,already there\r\n"
        + "\"10.0.4.7\",\"multi\r\nline note\"\r\n10.0.3.0/24,again\r\n\r\n10.0.5.1/24,host bits\r\nnot-an-ip,x\r\n"

    @Test func rowsKeepTheirLinesThroughQuotesBOMAndCRLF() {
        let contents = AuthImportFile.read(Self.file)
        #expect(contents.problems.isEmpty)
        #expect(contents.count == 6)
        #expect(contents.rows.map(\.line) == [2, 3, 4, 6, 8, 9])
        #expect(
            contents.rows.map(\.value) == [
                "10.0.3.0/24", "10.0.9.1", "10.0.4.7", "10.0.3.0/24", "10.0.5.1/24", "not-an-ip",
            ])
        #expect(contents.rows[0].description == "office, floor 3")
        #expect(contents.rows[2].description == "multi\r\nline note")
        #expect(contents.rows.allSatisfy { $0.kind == .ipv4 })
        #expect(AuthImportFile.invalidRowCount(contents) == 2)
    }

    @Test func kindsComeFromTheKindColumnTheHeaderOrTheValue() {
        let headed = AuthImportFile.read(
            "kind,value,description\nMAC,aa-bb-cc-dd-ee-ff,x\nipv4,10.1.1.1,\nfoo,10.1.1.2,\n")
        let checked = headed.rows.map(AuthImportFile.check)
        #expect(
            checked[0]
                == .valid(.init(line: 2, kind: .mac, value: "aa:bb:cc:dd:ee:ff", description: "x")))
        #expect(checked[1] == .valid(.init(line: 3, kind: .ipv4, value: "10.1.1.1", description: "")))
        #expect(checked[2] == .invalid(.init(line: 4, field: "kind", reason: "'foo' is not IPV4 or MAC")))
        // No header: the first column is the address, the second its description; the kind is what it looks like.
        let bare = AuthImportFile.read("10.2.0.0/16,net\nAA:BB:CC:00:11:22\n").rows.map(AuthImportFile.check)
        #expect(bare[0] == .valid(.init(line: 1, kind: .ipv4, value: "10.2.0.0/16", description: "net")))
        #expect(bare[1] == .valid(.init(line: 2, kind: .mac, value: "aa:bb:cc:00:11:22", description: "")))
        // A `mac` column makes an IPv4-looking value a malformed MAC address, not an IPv4 entry.
        let named = AuthImportFile.read("mac\n10.0.0.1\n").rows.map(AuthImportFile.check)
        guard case .invalid(let problem) = named[0] else {
            Issue.record("an IPv4 address in a mac column was accepted")
            return
        }
        #expect(problem.line == 2)
        #expect(problem.field == "value")
    }

    @Test func anUnclosedQuoteOrAControlCharacterIsRefusedNamingItsLine() {
        let unclosed = AuthImportFile.read("value,description\n10.0.0.1,\"unterminated\n10.0.0.2,x\n10.0.0.999,y\n")
        #expect(unclosed.rows.isEmpty)
        #expect(unclosed.problems.map(\.line) == [2])
        #expect(unclosed.problems.first?.reason.contains("never closes") == true)
        // Quotes that close, doubled quotes inside, and a quote inside an unquoted field are fine.
        let fine = AuthImportFile.read(
            "10.0.0.1,\"say \"\"hi\"\"\"\r\n10.0.0.2,5\" tall\r\n\"10.0.0.3\",\"a\r\nb\"\r\n")
        #expect(fine.problems.isEmpty)
        #expect(fine.rows.map(\.line) == [1, 2, 3])
        #expect(fine.rows[0].description == "say \"hi\"")
        for description in ["a\u{0}b", "\u{1B}]0;PWNED\u{7}", "bell\u{7}", "c1\u{9B}"] {
            let row = AuthImportFile.Row(
                line: 4, kind: nil, unknownKind: nil, value: "10.0.0.4", description: description)
            #expect(
                AuthImportFile.check(row)
                    == .invalid(.init(line: 4, field: "description", reason: "has control characters")))
        }
    }

    @Test func aFileOfNothingOrTooMuchIsRefusedAsAWhole() {
        #expect(AuthImportFile.read("").problems.map(\.reason) == ["holds no address to register"])
        #expect(AuthImportFile.read("\u{FEFF}value\r\n\r\n").problems.map(\.reason) == ["holds no address to register"])
        let many = (0...AuthImportFile.maxRows).map { "10.\($0 / 65536).\($0 / 256 % 256).\($0 % 256)" }
        let contents = AuthImportFile.read(many.joined(separator: "\n"))
        #expect(contents.count == AuthImportFile.maxRows + 1)
        #expect(contents.rows.count == AuthImportFile.maxRows)
        #expect(contents.problems.first?.line == AuthImportFile.maxRows + 1)
    }

    @Test func everyRowOrNoneWithOneEventPerEntry() async throws {
        let fixture = try await Fixture.make()
        let store = try await fixture.store("payments", mac: true)
        try await fixture.allow("10.0.9.1", in: store)
        let engine = fixture.engine
        let eventsBefore = try await engine.snapshot().events.count

        let refused = try await engine.importAuthEntries(
            appkey: fixture.appkey, store: .name("payments"), csv: Self.file, actor: "cli:jkim")
        #expect(!refused.applied)
        #expect(refused.invalid.map(\.line) == [8, 9])
        #expect(refused.duplicates.map(\.line) == [3, 6])
        #expect(try await engine.storage.authEntries(keyStoreId: store.id).count == 1)

        let checked = try await engine.importAuthEntries(
            appkey: fixture.appkey, store: .name("payments"), csv: Self.file, skipInvalid: true, checkOnly: true,
            actor: "cli:jkim")
        #expect(!checked.applied)
        #expect(try await engine.snapshot().events.count == eventsBefore)

        let applied = try await engine.importAuthEntries(
            appkey: fixture.appkey, store: .name("payments"), csv: Self.file, skipInvalid: true, actor: "cli:jkim")
        #expect(applied.applied)
        #expect(applied.added.map(\.line) == [2, 4])
        #expect(applied.added.map(\.entry.value) == ["10.0.3.0/24", "10.0.4.7"])
        let entries = try await engine.storage.authEntries(keyStoreId: store.id)
        #expect(Set(entries.map(\.value)) == ["10.0.9.1", "10.0.3.0/24", "10.0.4.7"])
        #expect(entries.first { $0.value == "10.0.3.0/24" }?.description == "office, floor 3")
        let events = try await engine.snapshot().events.dropFirst(eventsBefore)
        #expect(events.map(\.action) == [.authAdd, .authAdd])
        #expect(events.allSatisfy { $0.actor == "cli:jkim" })
        // The same file again: every row is now a duplicate; nothing is added, nothing fails.
        let again = try await engine.importAuthEntries(
            appkey: fixture.appkey, store: .name("payments"), csv: Self.file, skipInvalid: true, actor: "cli:jkim")
        #expect(again.added.isEmpty)
        #expect(again.duplicates.count == 4)
    }

    @Test func throughTheAPITheRowsAreCheckedBeforeTheKeyStore() async throws {
        let fixture = try await Fixture.make()
        _ = try await fixture.store("payments")
        let bad = await fixture.manage(.importAuth, body: ["keyStoreName": "nope", "csv": .string(Self.file)])
        #expect(bad.error == .invalidRequest)
        #expect(bad.rejection?.check == .importRowsValid)
        #expect(bad.rejection?.reason.contains("line 8") == true)
        let unknownStore = await fixture.manage(
            .importAuth, body: ["keyStoreName": "nope", "csv": .string(Self.file), "skipInvalid": true])
        #expect(unknownStore.rejection?.check == .keyStoreKnown)
        let empty = await fixture.manage(
            .importAuth, body: ["keyStoreName": "payments", "csv": "", "skipInvalid": true])
        #expect(empty.rejection?.check == .importRowsValid)
        // A check only answers with the report, even for a file refused as a whole.
        let emptyCheck = await fixture.manage(
            .importAuth, body: ["keyStoreName": "payments", "csv": "", "validateOnly": true])
        #expect(emptyCheck.error == nil)
        #expect(emptyCheck.body?["invalid"]?.arrayValue?.first?["field"] == "file")
        let typed = await fixture.manage(
            .importAuth, body: ["keyStoreName": "payments", "csv": .string(Self.file), "skipInvalid": "yes"])
        #expect(typed.rejection?.check == .optionalMembersTyped)
        let report = await fixture.manage(
            .importAuth, body: ["keyStoreName": "payments", "csv": .string(Self.file), "validateOnly": true])
        #expect(report.error == nil)
        #expect(report.body?["applied"] == false)
        #expect(report.body?["invalid"]?.arrayValue?.count == 2)
        let done = await fixture.manage(
            .importAuth, body: ["keyStoreName": "payments", "csv": .string(Self.file), "skipInvalid": true])
        #expect(done.body?["applied"] == true)
        #expect(done.body?["added"]?.arrayValue?.count == 3)
        #expect(
            await fixture.manage(.importAuth, body: ["keyStoreName": "payments"]).rejection?.check == .requiredMembers)
    }
}
