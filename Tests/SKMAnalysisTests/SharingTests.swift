import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMReport
import SKMTestSupport
import SKMWire
import Testing

/// Requests in the same situation share one diagnosis, and a log is read in blocks on several threads: neither may
/// change a single byte of a report.
@Suite struct SharingTests {
    static let scenarios = IncidentScenario.all.filter {
        FileManager.default.fileExists(atPath: Fixtures.folder($0).appendingPathComponent("requests.jsonl").path)
    }

    static func json(_ report: IncidentReport) -> String {
        String(decoding: JSONReportRenderer().render(report), as: UTF8.self)
    }

    @Test(arguments: scenarios.map(\.name))
    func everyFixtureReportIsTheSameSharedOrNotOnAnyNumberOfWorkers(_ name: String) throws {
        let scenario = try #require(IncidentScenario.all.first { $0.name == name })
        let alone = try Fixtures.report(scenario, input: "requests.jsonl") {
            $0.sharing = .off
            $0.workers = 1
        }
        for workers in [1, 2, 3] {
            let shared = try Fixtures.report(
                scenario, input: "requests.jsonl",
                configure: {
                    $0.sharing = .verifying
                    $0.workers = workers
                    // Blocks of a few lines each, so that every worker gets some and merging is exercised.
                    $0.blockBytes = 2048
                },
                check: { #expect($0.disagreements.isEmpty, "\($0.disagreements.first.map { $0.prefix(1500) } ?? "")") })
            #expect(Self.json(shared) == Self.json(alone), "\(name), \(workers) workers")
        }
    }

    /// A client's HAR capture is diagnosed through the same shared diagnoses: the report is the same as without.
    @Test(
        arguments: scenarios.filter {
            FileManager.default.fileExists(atPath: Fixtures.folder($0).appendingPathComponent("capture.har").path)
        }.map(\.name))
    func everyCaptureReportIsTheSameSharedOrNot(_ name: String) throws {
        let scenario = try #require(IncidentScenario.all.first { $0.name == name })
        let alone = try Fixtures.report(scenario, input: "capture.har", clientIP: "10.0.3.7") { $0.sharing = .off }
        let shared = try Fixtures.report(
            scenario, input: "capture.har", clientIP: "10.0.3.7", configure: { $0.sharing = .verifying },
            check: { #expect($0.disagreements.isEmpty, "\($0.disagreements.first.map { $0.prefix(1500) } ?? "")") })
        #expect(Self.json(shared) == Self.json(alone), "\(name)")
    }

    /// Each fixture's failed requests replayed just before, at and just after every change of its state, some
    /// running long enough to overlap the change: shared diagnoses must equal fresh ones at every place.
    @Test(arguments: scenarios.map(\.name))
    func sharedDiagnosesEqualFreshOnesAroundEveryChangeOfState(_ name: String) throws {
        let scenario = try #require(IncidentScenario.all.first { $0.name == name })
        try Self.replay(scenario, snapshot: try Fixtures.snapshot(scenario))
    }

    /// The same with a long history: every key, version, key store, entry and User Access Key of the mixed-traffic
    /// state changed and changed back, one after another, so that each part of the state moves while the others
    /// stand still.
    @Test(arguments: ["mixed-traffic", "rotation-then-version-deleted", "key-scheduled-for-deletion"])
    func sharedDiagnosesEqualFreshOnesThroughALongHistory(_ name: String) throws {
        let scenario = try #require(IncidentScenario.all.first { $0.name == name })
        var snapshot = try Fixtures.snapshot(scenario)
        var time = try #require(snapshot.events.map(\.time).max()).addingTimeInterval(60)
        var sequence = snapshot.events.map(\.sequence).max() ?? 0
        let appkey = try #require(snapshot.appkeys.first?.id)
        func flip(
            _ kind: AuditEvent.TargetKind, _ target: String, _ actions: (AuditAction, AuditAction),
            _ field: AuditField, _ values: (String, String), store: Int? = nil, key: String? = nil, version: Int? = nil
        ) {
            for (action, before, after) in [(actions.0, values.0, values.1), (actions.1, values.1, values.0)] {
                sequence += 1
                time.addTimeInterval(7)
                snapshot.events.append(
                    AuditEvent(
                        sequence: sequence, time: time, actor: "cli:test", action: action, appkey: appkey,
                        targetKind: kind, targetId: target, keyStoreId: store, keyId: key, keyVersion: version,
                        changes: [.init(field, before: before, after: after)]))
            }
        }
        for key in snapshot.keys {
            flip(
                .key, key.id, (.keyScheduleDeletion, .keyCancelDeletion), .status,
                (key.status.rawValue, key.status == .pendingDeletion ? "ACTIVE" : "PENDING_DELETION"),
                store: key.keyStoreId, key: key.id)
        }
        for version in snapshot.keyVersions {
            flip(
                .keyVersion, "\(version.keyId)/\(version.number)", (.versionScheduleDeletion, .versionCancelDeletion),
                .status,
                (version.status.rawValue, version.status == .pendingDeletion ? "IN_SERVICE" : "PENDING_DELETION"),
                key: version.keyId, version: version.number)
        }
        for store in snapshot.keyStores {
            flip(
                .keyStore, String(store.id), (.keyStoreUpdate, .keyStoreUpdate), .ip4AuthUse,
                (store.ip4AuthUse ? "Y" : "N", store.ip4AuthUse ? "N" : "Y"),
                store: store.id)
            flip(
                .keyStore, String(store.id), (.keyStoreUpdate, .keyStoreUpdate), .name, (store.name, "renamed"),
                store: store.id)
        }
        for entry in snapshot.authEntries {
            flip(
                .authEntry, String(entry.id), (.authScheduleDeletion, .authCancelDeletion), .status,
                (entry.status.rawValue, entry.status == .pendingDeletion ? "IN_SERVICE" : "PENDING_DELETION"),
                store: entry.keyStoreId)
        }
        for key in snapshot.userAccessKeys {
            flip(
                .userAccessKey, key.id, (.userAccessKeyRevoke, .userAccessKeyRevoke), .status,
                (key.status.rawValue, key.status == .revoked ? "IN_SERVICE" : "REVOKED"))
        }
        // Another key store of the appkey, changed often: no fact of the fixture's requests but their audit history
        // (the newest 50 events of the appkey) moves, and the fixture's own events fall out of it.
        var other = try #require(snapshot.keyStores.first)
        other.id = 9_999
        other.name = "other"
        snapshot.keyStores.append(other)
        for round in 0..<30 {
            flip(
                .keyStore, String(other.id), (.keyStoreUpdate, .keyStoreUpdate), .description,
                (other.description, "round \(round)"), store: other.id)
        }
        try Self.replay(scenario, snapshot: snapshot, events: 200)
    }

    /// Replays the scenario's failed requests around the last `events` changes of `snapshot` and checks every
    /// shared diagnosis against a fresh one.
    static func replay(_ scenario: IncidentScenario, snapshot: StateSnapshot, events: Int = 30) throws {
        let failures = try Fixtures.lines(scenario).compactMap { line -> RequestRecord? in
            guard let record = try? RequestRecord(json: JSONParser().parse(line)), !record.response.isSuccessful else {
                return nil
            }
            return record
        }
        let times = Array(Set(snapshot.events.map(\.time))).sorted().suffix(events)
        var log: [UInt8] = []
        var count = 0
        for time in times {
            for offset in [-0.001, 0, 0.0005, 0.001, 0.4] {
                for (index, template) in failures.prefix(12).enumerated() {
                    var record = template
                    record.time = time.addingTimeInterval(offset)
                    record.durationMs = index.isMultiple(of: 2) ? 0.5 : 30
                    record.requestId = "replay-\(count)"
                    count += 1
                    log += record.jsonLine
                }
            }
        }
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write("replay.jsonl", Data(log))
        var result = AnalysisResult()
        var analyzer = Analyzer(rules: Fixtures.rules, snapshot: snapshot)
        analyzer.sharing = .verifying
        analyzer.blockBytes = 4096
        try analyzer.analyze(path, into: &result)
        #expect(result.disagreements.isEmpty, "\(result.disagreements.first.map { $0.prefix(1500) } ?? "")")
        #expect(result.triage.failureCount == count)
    }

    @Test func aDiagnosisThatReadsTheRequestsOwnTimeIsNotShared() throws {
        let certificate = try Self.memo(for: .expiredClientCertificate)
        #expect(certificate.perRequest > 0)
        // No mixed-traffic failure reads the time: not even through the certificate rules, which do not apply to a
        // request without a certificate and so are not run for the alternatives of an OR-mode key store.
        let mixed = try Self.memo(for: .mixedTraffic)
        #expect(mixed.hits > 0)
        #expect(mixed.perRequest == 0)
    }

    /// A memo that diagnosed the scenario's failed requests twice each.
    static func memo(for scenario: IncidentScenario) throws -> SituationMemo {
        let snapshot = try Fixtures.snapshot(scenario)
        let memo = SituationMemo(
            Diagnoser(rules: Fixtures.rules, facts: FactBuilder(timeline: StateTimeline(snapshot))),
            sharing: .verifying)
        for (index, line) in try Fixtures.lines(scenario).enumerated() {
            let record = try RequestRecord(json: JSONParser().parse(line))
            guard !record.response.isSuccessful else { continue }
            let request = CapturedRequest(record: record, location: SourceLocation(file: "log", number: index + 1))
            _ = memo.diagnose(request)
            _ = memo.diagnose(request)
        }
        #expect(memo.disagreements.isEmpty)
        return memo
    }
}

@Suite struct BlockReadingTests {
    /// Lines split across blocks of any size, overlong lines, blank lines, a missing last newline and a byte order
    /// mark first: reading in blocks gives the lines a plain split gives, with their numbers.
    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func blocksGiveEveryLineWithItsNumber(_ chunk: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var generator = SplitMix(seed: UInt64(chunk))
        for round in 0..<20 {
            var text = ""
            for _ in 0..<Int(generator.next() % 12) {
                let length = Int(generator.next() % 9)
                // A byte order mark after the file's start is the text's own.
                if !text.isEmpty && generator.next() % 7 == 0 { text += "\u{FEFF}" }
                // Characters of two, three and four bytes, whose UTF-16 may be split between two reads.
                text += ["ab", "é", "鍵", "🔑"][Int(generator.next() % 4)]
                text += String(repeating: "ab", count: length)
                if generator.next() % 5 != 0 { text += "\n" }
            }
            // One that starts the file marks its encoding and is no part of the first line.
            let marks: [ByteOrderMark?] = [nil, .utf8, .utf16LittleEndian, .utf16BigEndian]
            let marked = marks[Int(generator.next() % 4)]
            var bytes: [UInt8]
            switch marked {
            case nil: bytes = Array(text.utf8)
            case .utf8?: bytes = ByteOrderMark.utf8Bytes + Array(text.utf8)
            case let mark?:
                let big = mark == .utf16BigEndian
                bytes = big ? [0xFE, 0xFF] : [0xFF, 0xFE]
                for unit in text.utf16 {
                    bytes += big ? [UInt8(unit >> 8), UInt8(unit & 0xFF)] : [UInt8(unit & 0xFF), UInt8(unit >> 8)]
                }
            }
            let path = try scratch.write("lines-\(round).txt", Data(bytes))
            let reader = try LineReader(path: path, chunkBytes: chunk)
            defer { reader.close() }
            var lines: [String] = []
            var numbers: [Int] = []
            try reader.forEachLine { line, number in
                lines.append(line.map { String(decoding: $0, as: UTF8.self) } ?? "<overlong>")
                numbers.append(number)
            }
            var expected = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if text.hasSuffix("\n") || text.isEmpty { expected.removeLast() }
            #expect(
                lines == expected, "chunk \(chunk), \(marked.map { "\($0)" } ?? "no mark"): \(text.debugDescription)")
            #expect(numbers == (0..<expected.count).map { $0 + 1 })
        }
    }
}

/// A small deterministic generator, so that a failing case can be replayed.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct LineShapeTests {
    static let template =
        #"{"time":"2026-09-21T14:13:31.000Z","requestId":"req-1","method":"POST","path":"/keymanager/v1.2/appkey/4YAZVLDKj7hOG5fT/symmetric-keys/5e5d07e197e2beff96b7859781fb8264/encrypt","apiVersion":"v1.2","operation":"encrypt","appkey":"4YAZVLDKj7hOG5fT","keyId":"5e5d07e197e2beff96b7859781fb8264","client":{"tls":false,"ip":"10.80.3.3","peer":"10.80.3.3","cert":{"present":false}},"response":{"httpStatus":200,"resultCode":-1300,"resultMessage":"IPv4 Auth Failure","isSuccessful":false},"durationMs":1.25}"#

    func item(_ text: String, shapes: LineShapes, number: Int) -> CaptureItem? {
        Array(text.utf8).withUnsafeBufferPointer {
            RequestLogReader.item($0, location: SourceLocation(file: "log", number: number), shapes: shapes)
        }
    }

    /// A line of a known shape gives the record a full reading gives; lines a shape could misread are read in full.
    @Test func aKnownShapeGivesTheRecordAFullReadingGives() throws {
        let shapes = LineShapes(verifying: true)
        let variants = [
            Self.template,
            Self.template.replacingOccurrences(of: "14:13:31.000Z", with: "15:00:00.250Z")
                .replacingOccurrences(of: "req-1", with: "req-2").replacingOccurrences(of: "1.25}", with: "30}"),
            Self.template.replacingOccurrences(of: "req-1", with: #"req-\u0041"#),
            Self.template.replacingOccurrences(of: "1.25}", with: "1e2}"),
            Self.template.replacingOccurrences(of: #""method""#, with: #""time":"2020-01-01T00:00:00Z","method""#),
            Self.template.replacingOccurrences(of: "1.25}", with: #"1.25,"durationMs":7}"#),
            Self.template.replacingOccurrences(of: "req-1", with: "réq-1"),
            // Found by an attack: JSON refuses a leading zero; -0 reads as 0 in full but as -0.0 from the text; an
            // escaped duplicate key is the one a full reading keeps.
            Self.template.replacingOccurrences(of: "1.25}", with: "01}"),
            Self.template.replacingOccurrences(of: "1.25}", with: "-0}"),
            Self.template.replacingOccurrences(of: #""method""#, with: #""\u0064urationMs":9,"method""#),
        ]
        for (index, text) in variants.enumerated() {
            guard case .request(let request)? = item(text, shapes: shapes, number: index + 1) else { continue }
            let fresh = try RequestRecord(json: JSONParser().parse(text))
            #expect(request.record == fresh, "variant \(index)")
        }
        // The second variant came from the first's shape, checked against a full reading.
        #expect(shapes.takeDisagreements().isEmpty)
        #expect(shapes.hits == 1)
        for index in variants.indices {
            let plain = Array(variants[index].utf8).withUnsafeBufferPointer { LineShapes.isPlain($0) }
            #expect(plain == (index < 2), "variant \(index)")
        }
    }

    /// More shapes than are kept: the table is emptied and starts again, and every line still comes back as a full
    /// reading gives it, from a kept shape where one matches (a shape learnt again after the table emptied) or read
    /// in full.
    @Test func moreShapesThanAreKeptStillGiveTheRecordsAFullReadingGives() throws {
        let shapes = LineShapes(verifying: true)
        func line(shape: Int, request: Int) -> String {
            Self.template.replacingOccurrences(of: "10.80.3.3", with: "10.80.\(shape / 250).\(shape % 250)")
                .replacingOccurrences(of: "req-1", with: "req-\(request)")
        }
        let shapesMade = LineShapes.capacity + 300
        var number = 0
        // The first round keeps every shape, the table emptying once it is full; the second goes backwards, so that
        // it meets first the shapes kept since then.
        for (round, order) in [Array(0..<shapesMade), (0..<shapesMade).reversed()].enumerated() {
            for shape in order {
                number += 1
                let text = line(shape: shape, request: round * shapesMade + shape)
                guard case .request(let request)? = item(text, shapes: shapes, number: number) else {
                    Issue.record("line \(number) is not read as a failed request")
                    continue
                }
                #expect(request.record == (try RequestRecord(json: JSONParser().parse(text))))
            }
        }
        #expect(shapes.takeDisagreements().isEmpty)
        #expect(shapes.hits == shapesMade - LineShapes.capacity)
    }

    /// Found by an attack: a duplicate key with a space before its colon is the same key to a JSON reader, which keeps
    /// the first; a shape kept for such a line would give its later lines the last one.
    @Test func aSpacedDuplicateKeyKeepsTheLineFromBeingAShape() throws {
        let shapes = LineShapes(verifying: true)
        let first = Self.template.replacingOccurrences(
            of: #""durationMs":1.25}"#, with: #""durationMs" :1,"durationMs":1}"#)
        let second = first.replacingOccurrences(of: "req-1", with: "req-2")
            .replacingOccurrences(of: #""durationMs":1}"#, with: #""durationMs":5000}"#)
        for (index, text) in [first, second, first.replacingOccurrences(of: " :", with: "\t:")].enumerated() {
            guard case .request(let request)? = item(text, shapes: shapes, number: index + 1) else {
                Issue.record("line \(index + 1) is not read as a failed request")
                continue
            }
            let fresh = try RequestRecord(json: JSONParser().parse(text))
            #expect(request.record == fresh)
            #expect(request.record.durationMs == 1)
        }
        #expect(shapes.hits == 0)
    }

    /// The success shortcut reads a line only when a full reading could not say otherwise: a failed response with
    /// `isSuccessful: true` elsewhere is a failure, and a duplicate key's first value is the one counted.
    @Test func theSuccessShortcutAgreesWithAFullReading() throws {
        let success = Self.template.replacingOccurrences(
            of: #""resultCode":-1300,"resultMessage":"IPv4 Auth Failure","isSuccessful":false"#,
            with: #""resultCode":0,"resultMessage":"success","isSuccessful":true"#)
        let lines = [
            success,
            // Nested in a member the reading ignores (a query's values are texts, and one that is not is a damaged
            // line).
            Self.template.replacingOccurrences(of: "1.25}", with: #"1.25,"extra":{"isSuccessful":true}}"#),
            Self.template.replacingOccurrences(of: #""client":{"#, with: #""extra":{"isSuccessful":true},"client":{"#),
            success.replacingOccurrences(of: #""appkey":"#, with: #""appkey" :"e5DPoUIq6B8tCdad","appkey":"#),
            success.replacingOccurrences(
                of: #""time":"2026-09-21T14:13:31.000Z","#,
                with: #""time" :"2026-09-21T10:00:00.000Z","time":"2026-09-21T18:00:00.000Z","#),
            success.replacingOccurrences(
                of: #""isSuccessful":true"#, with: #""isSuccessful":true,"\u0069sSuccessful":false"#),
        ]
        for (index, text) in lines.enumerated() {
            let fresh = try RequestRecord(json: JSONParser().parse(text))
            switch item(text, shapes: LineShapes(), number: index + 1) {
            case .success(let observation)?:
                #expect(fresh.response.isSuccessful, "line \(index + 1)")
                #expect(observation.time == fresh.time, "line \(index + 1)")
                #expect(observation.appkey == fresh.appkey, "line \(index + 1)")
                #expect(observation.keyId == fresh.keyId, "line \(index + 1)")
            case .request(let request)?:
                #expect(request.record == fresh, "line \(index + 1)")
            default:
                Issue.record("line \(index + 1) was not read")
            }
        }
    }
}
