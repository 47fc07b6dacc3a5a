import Foundation
import SKMCore
import SKMReport
import SKMRules
import SKMTestSupport
import SKMWire
import Testing

@testable import SKMAnalysis

/// A scratch directory for input files.
struct Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("skm-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ data: Data) throws -> String {
        let path = url.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

extension Fixtures {
    static func lines(_ scenario: IncidentScenario) throws -> [String] {
        // The hostile fixture holds invalid UTF-8 on purpose; read it as the analyser does, with replacement.
        String(decoding: try Data(contentsOf: folder(scenario).appendingPathComponent("requests.jsonl")), as: UTF8.self)
            .split(separator: "\n").map(String.init)
    }

    static func analyze(
        _ scenario: IncidentScenario, path: String, filter: AnalysisFilter = AnalysisFilter()
    ) throws
        -> AnalysisResult
    {
        var result = AnalysisResult()
        try Analyzer(rules: rules, snapshot: try snapshot(scenario), filter: filter).analyze(path, into: &result)
        return result
    }
}

@Suite struct RequestLogInputTests {
    @Test func damagedLinesAreReportedByLineAndTheRestIsAnalysed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var lines = try Fixtures.lines(.rotationThenVersionDeleted)
        let total = lines.count
        lines.insert("", at: 3)
        lines.insert("this is not json", at: 5)
        lines.insert(String(lines[10].prefix(80)), at: 8)
        lines.insert(#"{"time":"2026-09-21T14:13:20Z","requestId":"x"}"#, at: 12)
        lines.insert(#"{"time": 1, "oops": [}"#, at: 14)
        let path = try scratch.write("requests.jsonl", Data(lines.joined(separator: "\n").utf8))
        let result = try Fixtures.analyze(.rotationThenVersionDeleted, path: path)
        #expect(result.problemCount == 4)
        #expect(result.problems.map(\.location.number) == [6, 9, 13, 15])
        #expect(result.problems[0].description.hasSuffix("requests.jsonl:6: not a JSON object"))
        #expect(result.problems[1].message == "not a complete JSON object (truncated line?)")
        #expect(result.problems[2].message == "not a request record: field 'response': is missing or not an object")
        #expect(result.problems[3].message.hasPrefix("not JSON: column "))
        #expect(result.triage.successCount + result.triage.failureCount == total)
        #expect(result.triage.failureCount == 30)
    }

    /// A member the rules read (the body's members, its values, the inputs, the query, the client, the token) of
    /// another type than the server writes is a damaged line naming the field, not read as empty: an empty list of
    /// members would confirm "the body has no members" on nothing.
    @Test func mistypedMembersAreDamagedLinesNotEmptyOnes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let lines = try Fixtures.lines(.rotationThenVersionDeleted)
        let failing = try #require(lines.first { $0.contains(#""isSuccessful":false"#) && $0.contains(#""fields":["#) })
        let fields = try #require(failing.range(of: #""fields":\[[^\]]*\]"#, options: .regularExpression))
        let body = try #require(failing.range(of: #""body":\{[^}]*\}"#, options: .regularExpression))
        let inputs = try #require(failing.range(of: #""inputs":\[[^\]]*\]"#, options: .regularExpression))
        let mistyped: [(String, String)] = [
            (failing.replacingCharacters(in: fields, with: #""fields":"plaintext:string""#), "body.fields"),
            (failing.replacingCharacters(in: fields, with: #""fields":[1]"#), "body.fields[0]"),
            (failing.replacingCharacters(in: fields, with: #""values":{"a":1},"fields":[]"#), "body.values.a"),
            (failing.replacingCharacters(in: fields, with: #""fieldz":[]"#), "body.fields"),
            (failing.replacingCharacters(in: body, with: #""body":"x""#), "body"),
            (failing.replacingCharacters(in: body, with: #""body":[]"#), "body"),
            (failing.replacingCharacters(in: inputs, with: #""inputs":{"a":1}"#), "inputs"),
            (failing.replacingOccurrences(of: #""client":{"#, with: #""client":"x","c":{"#), "client"),
        ]
        let path = try scratch.write(
            "requests.jsonl", Data((mistyped.map(\.0) + [failing]).joined(separator: "\n").utf8))
        let result = try Fixtures.analyze(.rotationThenVersionDeleted, path: path)
        #expect(result.problems.map(\.location.number) == Array(1...mistyped.count))
        for (problem, expected) in zip(result.problems, mistyped.map(\.1)) {
            #expect(problem.message.contains("field '\(expected)'"), "\(problem.message)")
        }
        #expect(result.triage.failureCount == 1)
    }

    @Test func invalidUTF8AndControlCharactersAreReadAndKeptInert() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let lines = try Fixtures.lines(.rotationThenVersionDeleted)
        let failing = try #require(lines.first { $0.contains(#""isSuccessful":false"#) })
        var bytes = Array(
            failing.replacingOccurrences(of: "\"method\":\"POST\"", with: "\"method\":\"PO\\u001b[31mST\u{202E}\"").utf8
        )
        // An invalid UTF-8 byte inside the request id.
        let id = try #require(bytes.firstRange(of: Array("req-".utf8)))
        bytes.insert(0xFF, at: id.upperBound)
        let path = try scratch.write("hostile.jsonl", Data(bytes + [0x0A]))
        let result = try Fixtures.analyze(.rotationThenVersionDeleted, path: path)
        #expect(result.problemCount == 0)
        #expect(result.triage.failureCount == 1)
        let finding = try #require(result.triage.ranked.first?.examples.first)
        #expect(finding.request.record.requestId.contains("\u{FFFD}"))
        let report = IncidentReport(
            analysis: result, rules: Fixtures.rules, snapshot: try Fixtures.snapshot(.rotationThenVersionDeleted),
            options: .init(toolVersion: "test", generatedAt: Date()))
        let text = TextReportRenderer(color: false, detailed: 1).render(report)
        #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
        let explained = TextReportRenderer().render(
            try #require(report.groups.first?.examples.first), error: nil, httpStatus: 400)
        #expect(explained.contains("PO\\u{1B}[31mST\\u{202E}"))
    }

    @Test func gzipAndPlainGiveTheSameAnalysis() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let plain = Fixtures.folder(.mixedTraffic).appendingPathComponent("requests.jsonl").path
        let compressed = scratch.url.appendingPathComponent("requests.jsonl.gz").path
        let gzip = try Subprocess.runBlocking(
            URL(fileURLWithPath: "/bin/sh"), ["-c", "gzip -c \"$0\" > \"$1\"", plain, compressed])
        try #require(gzip.status == 0, "\(gzip.error)")
        let a = try Fixtures.analyze(.mixedTraffic, path: plain)
        let b = try Fixtures.analyze(.mixedTraffic, path: compressed)
        #expect(a.triage.failureCount == b.triage.failureCount)
        #expect(a.triage.successCount == b.triage.successCount)
        #expect(Set(a.triage.groups.keys) == Set(b.triage.groups.keys))
    }

    /// One memory for every fixture's lines, so that its string slots are hit, missed and taken over by other
    /// values, and most lines are counted on a layout learnt from an earlier one.
    @Test func theSuccessShortcutReadsWhatTheDecoderReads() throws {
        let memory = SuccessMemory()
        var checked = 0
        for scenario in IncidentScenario.all {
            for (number, line) in try Fixtures.lines(scenario).enumerated() {
                let bytes = Array(line.utf8)
                let fast = bytes.withUnsafeBufferPointer { FastFields.success($0, memory: memory) }
                let item = bytes.withUnsafeBufferPointer {
                    RequestLogReader.item($0, location: SourceLocation(file: "t", number: number + 1), memory: memory)
                }
                let record = try RequestRecord(json: try JSONParser().parse(line))
                // Every failure the server writes is known by its last bytes, and no success is taken for one.
                #expect(bytes.withUnsafeBufferPointer(FastFields.endsAsFailure) == !record.response.isSuccessful)
                guard record.response.isSuccessful else {
                    #expect(fast == nil)
                    continue
                }
                let observation = try #require(fast).observation
                #expect(observation.time == record.time)
                #expect(observation.appkey == record.appkey)
                #expect(observation.keyId == record.keyId)
                #expect(observation.operation == record.operation)
                guard case .success(let counted)? = item else {
                    Issue.record("line \(number + 1) of \(scenario) was not counted as a success")
                    continue
                }
                #expect(counted == observation)
                checked += 1
            }
        }
        #expect(checked > 500)
        // Each line is scanned twice above, so a layout learnt on a line's reading is known to the next scan.
        #expect(memory.knownLines > checked)
    }

    /// A success whose last bytes read `"isSuccessful":false` (a member of a nested object) is taken for a failure by
    /// the quick look at its end, read in full, and counted as the success it is, whatever was counted before it.
    @Test func aSuccessThatEndsLikeAFailureIsStillASuccess() throws {
        let lines = try Fixtures.lines(.mixedTraffic)
        let success = try #require(lines.first { $0.contains(#""isSuccessful":true"#) && $0.hasSuffix("}") })
        let lookalike = String(success.dropLast()) + #","note":{"isSuccessful":false}}"#
        #expect(!Array(success.utf8).withUnsafeBufferPointer(FastFields.endsAsFailure))
        #expect(Array(lookalike.utf8).withUnsafeBufferPointer(FastFields.endsAsFailure))
        let memory = SuccessMemory()
        for (number, text) in [lookalike, success, lookalike, lookalike].enumerated() {
            let item = Array(text.utf8).withUnsafeBufferPointer {
                RequestLogReader.item($0, location: SourceLocation(file: "t", number: number + 1), memory: memory)
            }
            if case .success? = item { continue }
            Issue.record("line \(number + 1) was not counted as a success: \(String(describing: item))")
        }
    }

    /// A success line that is JSON but not a whole record (a member missing or of the wrong kind, a date that is
    /// not one, a duration out of range) is reported, not counted, though whole lines of its layout or of one close
    /// to it were counted just before.
    @Test func aDamagedSuccessRecordIsReportedEvenAfterWholeOnes() throws {
        let lines = try Fixtures.lines(.mixedTraffic)
        let success = try #require(
            lines.first { $0.contains(#""isSuccessful":true"#) && $0.contains(#""durationMs":"#) })
        let memory = SuccessMemory()
        func item(_ line: String) -> CaptureItem? {
            Array(line.utf8).withUnsafeBufferPointer {
                RequestLogReader.item($0, location: SourceLocation(file: "t", number: 1), memory: memory)
            }
        }
        let dated = success.replacingOccurrences(
            of: #""appkey":"#, with: #""clientDate":"2026-09-21T14:13:30Z","appkey":"#)
        for whole in [success, dated] {
            for _ in 0..<2 {
                if case .success? = item(whole) {} else { Issue.record("not counted: \(whole)") }
            }
        }
        #expect(memory.knownLines >= 2)
        let duration = try #require(success.range(of: #""durationMs":[0-9.]+"#, options: .regularExpression))
        let damaged = [
            success.replacingOccurrences(of: #""requestId":"#, with: #""requestId":5,"x":"#),
            success.replacingOccurrences(of: #""tls":false"#, with: #""tls":"no""#),
            success.replacingOccurrences(of: #""keyVersion":0"#, with: #""keyVersion":"0""#),
            success.replacingOccurrences(of: #""field":"plaintext","#, with: ""),
            success.replacingOccurrences(of: #""field":"ciphertext","#, with: ""),
            success.replacingCharacters(in: duration, with: #""durationMs":-1.25"#),
            success.replacingCharacters(in: duration, with: #""durationMs":86400001"#),
            success.replacingCharacters(in: duration, with: #""durationMs":90000000.5"#),
            success.replacingCharacters(in: duration, with: #""durationMs":1e9"#),
            dated.replacingOccurrences(of: "2026-09-21T14:13:30Z", with: "yesterday"),
            dated.replacingOccurrences(of: "2026-09-21T14:13:30Z", with: "2026-13-21T14:13:30Z"),
        ].filter { $0 != success && $0 != dated }
        #expect(damaged.count >= 9)
        for line in damaged {
            switch item(line) {
            case .problem?: break
            default: Issue.record("not reported: \(line)")
            }
        }
    }

    /// Found by an attack: a line that is not one JSON object but holds `"isSuccessful":true` was counted as a
    /// success, so a failed record run together with a successful one on one line vanished. Such lines are now left
    /// to the full reading, which reports them; each still reads as a success once made whole.
    @Test func aLineThatIsNotOneJSONObjectIsNeverASuccess() throws {
        let lines = try Fixtures.lines(.mixedTraffic)
        let success = try #require(lines.first { $0.contains(#""isSuccessful":true"#) })
        let failure = try #require(lines.first { $0.contains(#""isSuccessful":false"#) })
        let body = String(success.dropLast())
        let broken = [
            success + failure, success + " " + failure, success + "\r" + failure, body + ",}",
            success.replacingOccurrences(of: #""isSuccessful":true"#, with: #""isSuccessful":true1"#),
            success.replacingOccurrences(of: #""isSuccessful":true"#, with: #""isSuccessful":tru"#),
            success.replacingOccurrences(of: #""httpStatus":200"#, with: #""httpStatus":0200"#),
            success.replacingOccurrences(of: #""durationMs":"#, with: #""durationMs":+"#),
            success.replacingOccurrences(of: ",", with: ",,"), success.replacingOccurrences(of: ":", with: " "),
            body + #","extra":[1,2,}"#, body + #","extra":{"a":1]}"#, body + #","extra":"a\#u{01}b"}"#,
            body + #","extra":nul}"#,
            body + #","extra":"# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}",
        ]
        // A memory that has learnt the whole line's layout, as a reader has after its first success.
        let memory = SuccessMemory()
        func item(_ line: String) -> CaptureItem? {
            Array(line.utf8).withUnsafeBufferPointer {
                RequestLogReader.item($0, location: SourceLocation(file: "t", number: 1), memory: memory)
            }
        }
        _ = item(success)
        for line in broken {
            #expect(
                Array(line.utf8).withUnsafeBufferPointer { FastFields.success($0, memory: memory) } == nil, "\(line)")
            if case .success? = item(line) { Issue.record("counted as a success: \(line)") }
        }
        // Whole lines: the shortcut reads those whose numbers are all integers (a fraction or an exponent anywhere
        // but in the duration is left to the full reading), and every one is counted.
        let whole = [
            success, " " + success + " ", body + #","extra":[1,-25,true,null,{"a":[]},"x"]}"#,
            body + #" , "extra" : { } }"#, body + #","extra":[-2.5e3]}"#,
        ]
        for (index, line) in whole.enumerated() {
            let scanned = Array(line.utf8).withUnsafeBufferPointer { FastFields.success($0, memory: memory) }
            #expect((scanned != nil) == (index < 4), "\(line)")
            guard case .success? = item(line) else {
                Issue.record("not counted: \(line)")
                continue
            }
        }
        #expect(memory.knownLines >= 2)
    }

    /// More values than the keeper has slots, each read twice: every one comes back as its own bytes.
    @Test func keptStringsAreTheirOwnBytes() {
        let strings = SuccessMemory()
        let values = (0..<2_000).map { index in
            index.isMultiple(of: 7) ? String(repeating: "k", count: 70 + index % 5) : "key-\(index)-\u{E9}"
        }
        for _ in 0..<2 {
            for value in values {
                let read = Array(value.utf8).withUnsafeBufferPointer { strings.string($0) }
                #expect(read == value)
            }
        }
        let broken: [UInt8] = [0x6B, 0xFF, 0x6B]
        #expect(broken.withUnsafeBufferPointer { strings.string($0) } == "k\u{FFFD}k")
        #expect([UInt8]().withUnsafeBufferPointer { strings.string($0) } == "")
    }

    @Test func anOverlongLineIsReportedAndSkipped() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let lines = try Fixtures.lines(.mixedTraffic)
        var data = Data((lines[0] + "\n").utf8)
        data.append(Data(repeating: UInt8(ascii: "x"), count: LineReader.maximumLineBytes + 10))
        data.append(Data(("\n" + lines[1...].joined(separator: "\n") + "\n").utf8))
        let path = try scratch.write("long.jsonl", data)
        let result = try Fixtures.analyze(.mixedTraffic, path: path)
        #expect(result.problemCount == 1)
        #expect(result.problems.first?.location.number == 2)
        #expect(result.triage.successCount + result.triage.failureCount == lines.count)
    }

    /// Found by an attack: a line of exactly the maximum length was called longer than it.
    @Test(arguments: [0, 1])
    func aLineOfTheMaximumLengthIsRead(over: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var data = Data(repeating: UInt8(ascii: "x"), count: LineReader.maximumLineBytes + over)
        data.append(Data("\n".utf8))
        let path = try scratch.write("long.jsonl", data)
        let result = try Fixtures.analyze(.mixedTraffic, path: path)
        #expect(result.problemCount == 1)
        #expect(result.problems.first?.message.contains("longer than") == (over > 0))
    }

    @Test func filtersNarrowTheAnalysis() throws {
        let path = Fixtures.folder(.mixedTraffic).appendingPathComponent("requests.jsonl").path
        let all = try Fixtures.analyze(.mixedTraffic, path: path)
        let onlyIPv4 = try Fixtures.analyze(
            .mixedTraffic, path: path, filter: AnalysisFilter(errors: [APIError.ipv4AuthFailure.resultCode]))
        #expect(onlyIPv4.triage.failureCount == 1)
        let first = try #require(all.firstTime)
        let early = try Fixtures.analyze(
            .mixedTraffic, path: path, filter: AnalysisFilter(until: first.addingTimeInterval(600)))
        #expect(
            early.triage.successCount + early.triage.failureCount < all.triage.successCount + all.triage.failureCount)
        #expect(early.filteredOut > 0)
        let keyId = try #require(all.triage.ranked.first?.fingerprint.key)
        let oneKey = try Fixtures.analyze(.mixedTraffic, path: path, filter: AnalysisFilter(keyId: keyId))
        #expect(oneKey.triage.ranked.allSatisfy { $0.fingerprint.key == keyId })
    }

    @Test func analysingInPartsAndMergingEqualsAnalysingTheWhole() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let lines = try Fixtures.lines(.mixedTraffic)
        let half = lines.count / 2
        let first = try scratch.write("a.jsonl", Data(lines[..<half].joined(separator: "\n").utf8))
        let second = try scratch.write("b.jsonl", Data(lines[half...].joined(separator: "\n").utf8))
        let whole = Fixtures.folder(.mixedTraffic).appendingPathComponent("requests.jsonl").path
        var merged = try Fixtures.analyze(.mixedTraffic, path: first).triage
        merged.merge(try Fixtures.analyze(.mixedTraffic, path: second).triage)
        let reference = try Fixtures.analyze(.mixedTraffic, path: whole).triage
        #expect(merged.failureCount == reference.failureCount)
        #expect(merged.successes == reference.successes)
        #expect(merged.ranked.map(\.fingerprint) == reference.ranked.map(\.fingerprint))
        #expect(merged.ranked.map(\.count) == reference.ranked.map(\.count))
        #expect(merged.failuresPerMinute == reference.failuresPerMinute)
    }
}

@Suite struct HARInputTests {
    func entry(
        url: String, method: String = "POST", body: String? = nil, status: Int = 200, response: String?,
        started: String = "2026-09-21T14:13:20.000+09:00", responseHeaders: [(String, String)] = []
    )
        -> JSONValue
    {
        var request: JSONObject = ["method": .string(method), "url": .string(url), "headers": []]
        if let body { request["postData"] = ["mimeType": "application/json", "text": .string(body)] }
        var content: JSONObject = ["mimeType": "application/json"]
        if let response { content["text"] = .string(response) }
        let headers = JSONValue.array(responseHeaders.map { ["name": .string($0.0), "value": .string($0.1)] })
        return [
            "startedDateTime": .string(started), "request": .object(request),
            "response": ["status": .int(status), "headers": headers, "content": .object(content)],
        ]
    }

    func read(_ entries: [JSONValue], reader: HARReader = HARReader()) throws -> [CaptureItem] {
        let document: JSONValue = ["log": ["version": "1.2", "entries": .array(entries)]]
        var items: [CaptureItem] = []
        try reader.read("t.har", data: Data(JSONWriter().bytes(document))) { items.append($0) }
        return items
    }

    static let encryptURL =
        "https://skm.example/keymanager/v1.2/appkey/Pr0jectAppKey0001/symmetric-keys/0a1b2c3d4e5f60718293a4b5c6d7e8f9/encrypt"
    static let ipv4Failure =
        #"{"header":{"resultCode":-1300,"resultMessage":"IPv4 Auth Failure","isSuccessful":false},"body":null}"#

    func requests(_ items: [CaptureItem]) -> [CapturedRequest] {
        items.compactMap { if case .request(let request) = $0 { return request } else { return nil } }
    }

    /// A GET …/confirm answer in the capture names the address the server saw, and whether a certificate came,
    /// for the capture's requests within an hour of it.
    @Test func aConfirmAnswerNamesTheAddressTheServerSaw() throws {
        let confirm = entry(
            url: "https://skm.example/keymanager/v1.0/appkey/Pr0jectAppKey0001/confirm", method: "GET",
            response:
                #"{"header":{"resultCode":0,"resultMessage":"success","isSuccessful":true},"body":{"clientIp":"10.0.3.7","clientMacHeader":null,"clientSentCertificate":false}}"#,
            started: "2026-09-21T14:20:00.000Z")
        let near = entry(
            url: Self.encryptURL, body: #"{"plaintext":"x"}"#, status: 403, response: Self.ipv4Failure,
            started: "2026-09-21T14:13:20.000Z")
        let far = entry(
            url: Self.encryptURL, body: #"{"plaintext":"x"}"#, status: 403, response: Self.ipv4Failure,
            started: "2026-09-21T18:13:20.000Z")
        let captured = requests(try read([confirm, near, far]))
        #expect(captured.count == 2)
        #expect(captured[0].clientAddressKnown)
        #expect(captured[0].record.client.ip == "10.0.3.7")
        #expect(captured[0].clientAddressSource?.contains("entry 1") == true)
        #expect(captured[0].certificateKnown && !captured[0].record.client.cert.present)
        #expect(!captured[1].clientAddressKnown, "four hours later the address may have changed")
        #expect(!captured[1].certificateKnown)
    }

    /// The response's Date header is the server's clock; startedDateTime is the client's.
    @Test func theResponsesDateIsTheServersTime() throws {
        let items = try read([
            entry(
                url: Self.encryptURL, body: #"{"plaintext":"x"}"#, status: 403, response: Self.ipv4Failure,
                started: "2026-09-19T14:13:20.000Z", responseHeaders: [("Date", "Mon, 21 Sep 2026 14:13:20 GMT")])
        ])
        let captured = try #require(requests(items).first)
        #expect(captured.serverTimeKnown)
        #expect(captured.record.time == Date(timeIntervalSince1970: 1_790_000_000))
        #expect(captured.clientTime == Date(timeIntervalSince1970: 1_790_000_000 - 2 * 86_400))
        let facts = FactBuilder(timeline: StateTimeline(try Fixtures.snapshot(.mixedTraffic))).facts(for: captured)
        guard case .object(let request) = facts.values[SKMFacts.schema.index(ofVariable: "request")!],
            case .duration(let offset)? = request["clientClockOffset"]
        else {
            Issue.record("no clock offset in \(facts)")
            return
        }
        #expect(offset.seconds == -2 * 86_400)
        let withoutDate = requests(
            try read([
                entry(url: Self.encryptURL, body: #"{"plaintext":"x"}"#, status: 403, response: Self.ipv4Failure)
            ]))
        #expect(withoutDate.first?.serverTimeKnown == false)
    }

    /// `--client-cert none`: the client presented no certificate, which the analysis holds it to and says so.
    @Test func noClientCertificateIsGivenNotGuessed() throws {
        var reader = HARReader()
        reader.noClientCertificate = true
        let captured = try #require(
            requests(
                try read(
                    [entry(url: Self.encryptURL, body: #"{"plaintext":"x"}"#, status: 403, response: Self.ipv4Failure)],
                    reader: reader)
            ).first)
        #expect(captured.certificateKnown)
        #expect(!captured.record.client.cert.present)
        #expect(captured.assumptions == ["--client-cert none"])
    }

    @Test func anEntryGivesOperationInputsAndResult() throws {
        let blob = Data([0, 0, 0, 3] + [UInt8](repeating: 7, count: 44)).base64EncodedString()
        let items = try read([
            entry(
                url:
                    "https://skm.example/keymanager/v1.2/appkey/Pr0jectAppKey0001/symmetric-keys/0a1b2c3d4e5f60718293a4b5c6d7e8f9/decrypt",
                body: #"{"ciphertext":"\#(blob)"}"#,
                status: 400,
                response:
                    #"{"header":{"resultCode":-1201,"resultMessage":"Invalid Key Version","isSuccessful":false},"body":null}"#
            )
        ])
        guard case .request(let captured) = try #require(items.first) else {
            Issue.record("not a request: \(items)")
            return
        }
        let record = captured.record
        #expect(record.operation == "decrypt")
        #expect(record.appkey == "Pr0jectAppKey0001")
        #expect(record.inputs.first?.embeddedVersion == 3)
        #expect(record.inputs.first?.decodedBytes == 48)
        #expect(record.response.resultCode == -1201)
        #expect(record.client.tls)
        #expect(!captured.clientAddressKnown)
        #expect(!captured.certificateKnown)
        #expect(record.time == Date(timeIntervalSince1970: 1_790_000_000 - 9 * 3600))
    }

    @Test func brokenEntriesAreReportedByNumber() throws {
        let items = try read([
            ["request": ["method": "GET"]],
            entry(url: "https://skm.example/health", method: "GET", response: #"{"status":"UP"}"#),
            entry(
                url: "https://skm.example/keymanager/v1.0/appkey/x/confirm", method: "GET", status: 502,
                response: "<html>bad gateway</html>"),
        ])
        #expect(items.count == 3)
        guard case .problem(let first) = items[0], case .problem(let second) = items[1],
            case .request(let third) = items[2]
        else {
            Issue.record("unexpected items \(items)")
            return
        }
        #expect(first.description == "t.har: entry 1: entry has no request or response")
        #expect(second.message.contains("not an SKM API call"))
        #expect(third.record.response.resultCode == -1)
        let finding = Diagnoser(
            rules: Fixtures.rules,
            facts: FactBuilder(timeline: StateTimeline(try Fixtures.snapshot(.mixedTraffic)))
        ).diagnose(third)
        #expect(finding.verdict == .unexplained)
        #expect(finding.note?.contains("no SKM result code") == true)
    }

    @Test func notAHARIsAnInputError() {
        #expect(throws: InputError.self) { try HARReader().read("t.har", data: Data("[]".utf8)) { _ in } }
        #expect(throws: InputError.self) { try HARReader().read("t.har", data: Data("{\"log\":".utf8)) { _ in } }
        #expect(HARReader.looksLikeHAR(Array(#"  {"log": {"entries": []}}"#.utf8)))
        #expect(!HARReader.looksLikeHAR(Array(#"{"time":"x"}"#.utf8)))
    }
}
