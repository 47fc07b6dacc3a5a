import Foundation
import Logging
import NIOHTTP1
import SKMCore
import SKMServer
import SKMTestSupport
import SKMWire
import Testing

@Suite struct RequestLogTests {
    @Test func logLinesValidateAndHoldNoSecret() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        let fixture = server.fixture
        let signer = try await fixture.key(.asymmetric, in: world.local, name: "signer")
        let secretKey = try await fixture.key(.secret, in: world.local, name: "db", secret: "DB-PASSWORD-CANARY-5521")
        let client = try server.client()
        let uak = [
            ("X-TC-AUTHENTICATION-ID", fixture.accessKeyID), ("X-TC-AUTHENTICATION-SECRET", fixture.accessKeySecret),
        ]
        var canaries = [
            "PLAINTEXT-CANARY-0193", "DB-PASSWORD-CANARY-5521", "NEW-SECRET-CANARY-8812", "CERT-PASSWORD-CANARY-4410",
            fixture.accessKeySecret,
        ]

        let encrypted = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(world.key.id)/encrypt")),
            json: ["plaintext": "PLAINTEXT-CANARY-0193"])
        let ciphertext = try #require(encrypted.json["body"]?["ciphertext"]?.stringValue)
        canaries.append(ciphertext)
        _ = try await world.decrypt(client, ciphertext)
        let local = try await client.send(
            .POST, server.url(server.api("symmetric-keys/\(world.key.id)/create-local-key")))
        canaries += [
            local.json["body"]?["localKeyPlaintext"]?.stringValue,
            local.json["body"]?["localKeyCiphertext"]?.stringValue,
        ].compactMap { $0 }
        let symmetric = try await client.send(
            .GET, server.url(server.api("symmetric-keys/\(world.key.id)/symmetric-key?keyVersion=0")))
        canaries.append(try #require(symmetric.json["body"]?["symmetricKey"]?.stringValue))
        let signed = try await client.send(
            .POST, server.url(server.api("asymmetric-keys/\(signer.id)/sign")),
            json: ["plaintext": "PLAINTEXT-CANARY-0193"])
        let signature = try #require(signed.json["body"]?["signature"]?.stringValue)
        canaries.append(signature)
        _ = try await client.send(
            .POST, server.url(server.api("asymmetric-keys/\(signer.id)/verify")),
            json: ["plaintext": "PLAINTEXT-CANARY-0193", "signature": .string(signature)])
        let privateKey = try await client.send(.GET, server.url(server.api("asymmetric-keys/\(signer.id)/privateKey")))
        canaries.append(
            String(try #require(privateKey.json["body"]?["encodedKey"]?.stringValue).dropFirst(40).prefix(60)))
        _ = try await client.send(.GET, server.url(server.api("secrets/\(secretKey.id)")))
        _ = try await client.send(
            .PUT, server.url(server.api("secrets/\(secretKey.id)")), json: ["secretValue": "NEW-SECRET-CANARY-8812"],
            headers: uak)
        _ = try await client.send(
            .POST, server.url(server.api("auths/certificates")),
            json: ["keyStoreName": "cert", "name": "second", "password": "CERT-PASSWORD-CANARY-4410", "lifeTime": 30],
            headers: uak)
        // A token: the log records whom it was issued to and whether this installation signed it, never the token.
        let basic = Data("\(fixture.accessKeyID):\(fixture.accessKeySecret)".utf8).base64EncodedString()
        let minted = try await client.send(
            .POST, server.url("/oauth2/token/create"), raw: "grant_type=client_credentials",
            headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")])
        let token = try #require(minted.json["access_token"]?.stringValue)
        canaries.append(token)
        _ = try await client.send(
            .GET, server.url(server.api("keystores")),
            headers: [("X-NHN-AUTHORIZATION", "Bearer \(token)"), ("Date", "Mon, 21 Sep 2026 14:13:20 GMT")])
        let forged = String(token.dropLast(6)) + "AAAAAA"
        canaries.append(forged)
        _ = try await client.send(
            .GET, server.url(server.api("keystores")), headers: [("X-NHN-AUTHORIZATION", "Bearer \(forged)")])
        let tampered = String(ciphertext.dropLast(4)) + "AAA="
        _ = try await world.decrypt(client, tampered)
        _ = try await world.decrypt(client, Data(ciphertext.utf8).base64EncodedString())
        try await client.shutdown()
        try await server.stop()

        let text = try String(contentsOfFile: server.logPath, encoding: .utf8)
        for canary in canaries {
            #expect(!text.contains(canary), "the request log holds a secret")
        }
        let lines = text.split(separator: "\n").map { Data($0.utf8) }
        #expect(lines.count == 15)
        #expect(try schemaViolations(of: lines, schema: "request-log.schema.json") == [])

        let records = try server.logLines().map { try RequestRecord(json: $0) }
        let decrypt = try #require(records.first { $0.operation == "decrypt" })
        #expect(decrypt.inputs.first?.field == "ciphertext")
        #expect(decrypt.inputs.first?.embeddedVersion == 0)
        #expect(decrypt.inputs.first?.base64Valid == true)
        #expect(decrypt.response.keyVersion == 0)
        let doubled = try #require(records.last)
        #expect(doubled.inputs.first?.innerBase64 == true)
        #expect(doubled.response.resultMessage == "Invalid Key Version")
        #expect(records.first { $0.operation == "getSymmetricKey" }?.requestedKeyVersion == 0)
        // Every request of the test is there, in order, with increasing times.
        #expect(
            records.compactMap(\.operation) == [
                "encrypt", "decrypt", "createLocalKey", "getSymmetricKey", "sign", "verify", "getPrivateKey",
                "getSecret",
                "putSecret", "addAuth", "createToken", "listKeyStores", "listKeyStores", "decrypt", "decrypt",
            ])
        let bearer = records.filter { $0.authScheme == "bearer" }
        #expect(bearer.map { $0.token?.authentic } == [true, false])
        #expect(bearer.first?.token?.accessKeyId == fixture.accessKeyID)
        #expect(bearer.first?.token?.expiresAt != nil)
        #expect(bearer.last?.token?.accessKeyId == nil, "an unsigned token's claims are not evidence")
        #expect(bearer.first?.clientDate == Date(timeIntervalSince1970: 1_790_000_000))
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.time <= $1.time })
    }

    /// The schema names every operation a log line may carry: each of the API's, and no other.
    @Test func theSchemaListsEveryOperation() throws {
        let schema = try JSONParser().parse(
            try Data(contentsOf: packageRoot.appendingPathComponent("Schemas/request-log.schema.json")))
        let listed = schema["properties"]?["operation"]?["enum"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(Set(listed) == Set(APIOperation.allCases.map(\.rawValue)))
        #expect(listed.count == APIOperation.allCases.count)
    }

    @Test func gracefulShutdownFlushesEveryLine() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        let client = try server.client()
        let count = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask { _ = try await world.encrypt(client) }
            }
            try await group.waitForAll()
        }
        try await client.shutdown()
        try await server.stop()
        let records = try server.logLines()
        #expect(records.count == count)
        #expect(Set(records.compactMap { $0["requestId"]?.stringValue }).count == count)
    }
}

@Suite struct RequestLogWriterTests {
    /// Many records from concurrent callers, enough to fill the buffer several times over, so that full buffers are
    /// written from the blocking pool while others keep adding: every record lands once, whole, and each caller's
    /// records keep their order.
    @Test func concurrentRecordsLandOnceWholeAndInOrder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("requests.jsonl").path
        let writer = try RequestLogWriter(
            path: path, sync: .interval(.seconds(3600)), logger: Logger(label: "test"))
        let callers = 4
        let each = 2_000
        // About 400 bytes a line: 8,000 lines fill the buffer three times.
        let padding = String(repeating: "x", count: 200)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<callers {
                group.addTask {
                    for index in 0..<each {
                        await writer.append(
                            RequestRecord(
                                time: Date(timeIntervalSince1970: 1_800_000_000), requestId: "\(caller)-\(index)",
                                method: "POST", path: "/keymanager/v1.2/appkey/\(padding)/symmetric-keys/k/encrypt",
                                response: RequestRecord.Response(
                                    httpStatus: 200, resultCode: 0, resultMessage: "success", isSuccessful: true)))
                    }
                }
            }
            try await group.waitForAll()
        }
        // What the full buffers' flushes have not written yet is written now; one still queued finds nothing left.
        writer.flush(sync: true)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.utf8.count > 3 * RequestLogWriter.highWater)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        var next = [Int](repeating: 0, count: callers)
        for line in lines.dropLast() {
            let record = try RequestRecord(json: JSONParser().parse(String(line)))
            let parts = record.requestId.split(separator: "-").compactMap { Int($0) }
            try #require(parts.count == 2)
            #expect(parts[1] == next[parts[0]], "caller \(parts[0]): record \(parts[1]) after \(next[parts[0]] - 1)")
            next[parts[0]] = parts[1] + 1
        }
        #expect(next == [Int](repeating: each, count: callers))
    }

    /// The log's whole pages leave the page cache once they are on disk, and only then: a busy server's log would
    /// otherwise fill memory with pages nothing reads again. The last page, which the next records fill, stays.
    @Test func syncedPagesLeaveThePageCache() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("requests.jsonl").path
        let writer = try RequestLogWriter(path: path, sync: .interval(.seconds(3600)), logger: Logger(label: "test"))
        let padding = String(repeating: "x", count: 200)
        func append(_ range: Range<Int>) async {
            for index in range {
                await writer.append(
                    RequestRecord(
                        time: Date(timeIntervalSince1970: 1_800_000_000), requestId: "r-\(index)", method: "POST",
                        path: "/keymanager/v1.2/appkey/\(padding)/symmetric-keys/k/encrypt",
                        response: RequestRecord.Response(
                            httpStatus: 200, resultCode: 0, resultMessage: "success", isSuccessful: true)))
            }
        }
        // About 100 pages of records, written but not yet on disk for certain: kept.
        await append(0..<1_000)
        writer.flush(sync: false)
        let written = try residentPages(of: path)
        #expect(written.count > 90)
        #expect(written.filter { $0 }.count > written.count / 2)
        // On disk: every whole page goes; the last, partly filled, stays for the next records.
        writer.flush(sync: true)
        var synced = try residentPages(of: path)
        #expect(!synced.dropLast().contains(true))
        #expect(synced.last == true)
        // More records, synced: those pages go too, and the next sync starts from the page it left.
        await append(1_000..<1_500)
        writer.flush(sync: true)
        synced = try residentPages(of: path)
        #expect(synced.count > written.count + 40)
        #expect(!synced.dropLast().contains(true))
        #expect(synced.last == true)
        // Every record is still there, read from the disk.
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1_500)
        #expect(lines.last.map { try? RequestRecord(json: JSONParser().parse(String($0))).requestId } == "r-1499")
    }

    /// Whether each of the file's pages is in the page cache (`mincore` of a mapping that touches none).
    private func residentPages(of path: String) throws -> [Bool] {
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var status = stat()
        try #require(fstat(descriptor, &status) == 0)
        let size = Int(status.st_size)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0))
        try #require(mapping != MAP_FAILED)
        defer { munmap(mapping, size) }
        var vector = [UInt8](repeating: 0, count: (size + page - 1) / page)
        try #require(mincore(mapping, size, &vector) == 0)
        return vector.map { $0 & 1 != 0 }
    }
}
