import Foundation
import SKMCore
import SKMPrimitives
import SKMReport
import SKMTestSupport
import Testing

@testable import SKMAnalysis

/// `Fixtures/captures-of-one-session`: the same calls as the key manager logged them, as curl printed them and as
/// a proxy in front of it logged them.
enum OneSession {
    static let folder = packageRoot.appendingPathComponent("Fixtures/captures-of-one-session")
    static let captures = ["curl-v.txt", "curl-trace-ascii.txt", "nginx-access.jsonl", "envoy-access.jsonl"]

    static func snapshot() throws -> StateSnapshot {
        try StateSnapshot.decode(Data(contentsOf: folder.appendingPathComponent("state.json")))
    }

    static func analyze(_ path: String, configure: (inout Analyzer) -> Void = { _ in }) throws -> AnalysisResult {
        var analyzer = Analyzer(rules: Fixtures.rules, snapshot: try snapshot())
        configure(&analyzer)
        var result = AnalysisResult()
        try analyzer.analyze(path, into: &result)
        analyzer.finish(&result)
        return result
    }

    static func analyze(input: String) throws -> AnalysisResult {
        try analyze(folder.appendingPathComponent(input).path)
    }

    static func report(input: String) throws -> IncidentReport {
        var report = IncidentReport(
            analysis: try analyze(input: input), rules: Fixtures.rules, snapshot: try snapshot(),
            options: .init(toolVersion: "test", generatedAt: Date(timeIntervalSince1970: 0)))
        report.removePathPrefix(packageRoot.path + "/")
        return report
    }

    static func findings(_ result: AnalysisResult) -> [Finding] {
        result.triage.ranked.flatMap(\.examples)
    }
}

@Suite struct CaptureFixtureTests {
    /// The reports of each capture equal their golden copies (`SKM_RECORD_GOLDEN=1` re-records them), and validate.
    @Test(arguments: OneSession.captures)
    func theReportsMatchTheirGoldenCopies(_ input: String) throws {
        let report = try OneSession.report(input: input)
        let xml = try XMLReportRenderer().render(report)
        #expect(XMLReportRenderer.validate(xml) == [])
        let json = JSONReportRenderer().render(report)
        #expect(try schemaViolations(of: [Data(json)], schema: "incident-report.schema.json") == [])
        let sarif = SARIFReportRenderer(rules: Fixtures.rules).render(report)
        #expect(try schemaViolations(of: [Data(sarif)], schema: "sarif-schema-2.1.0.json") == [])
        let renditions: [(String, [UInt8])] = [
            ("json", json), ("html", HTMLReportRenderer().render(report)), ("xml", xml),
            ("md", MarkdownReportRenderer().render(report)),
        ]
        for (suffix, bytes) in renditions {
            let name = "expected-" + input.replacingOccurrences(of: ".", with: "-") + ".\(suffix)"
            let golden = OneSession.folder.appendingPathComponent(name)
            if ProcessInfo.processInfo.environment["SKM_RECORD_GOLDEN"] == "1" {
                try Data(bytes).write(to: golden)
                Issue.record("re-recorded \(name); run again without SKM_RECORD_GOLDEN")
                continue
            }
            #expect(Data(bytes) == (try Data(contentsOf: golden)), "\(name) differs: SKM_RECORD_GOLDEN=1 re-records it")
        }
    }

    @Test func eachCaptureIsReadAsWhatItIs() throws {
        let formats = try (OneSession.captures + ["requests.jsonl"]).map {
            try OneSession.analyze(input: $0).inputs.map(\.format)
        }
        #expect(formats == [["curl"], ["curl"], ["access-log"], ["access-log"], ["jsonl"]])
        // The proxies' health checks are not calls to the API: neither counted nor problems.
        for input in ["nginx-access.jsonl", "envoy-access.jsonl"] {
            let result = try OneSession.analyze(input: input)
            #expect(result.problemCount == 0, "\(input): \(result.problems)")
            #expect(result.triage.successCount == 2)
            #expect(result.triage.failureCount == 4)
        }
    }

    /// What a capture confirms is what the key manager's own log confirms for the same request; what it cannot
    /// hold is never confirmed.
    @Test(arguments: OneSession.captures)
    func aCaptureNeverConfirmsWhatTheKeyManagersLogDoesNot(_ input: String) throws {
        let truth = Dictionary(
            OneSession.findings(try OneSession.analyze(input: "requests.jsonl")).map {
                ($0.request.record.requestId, $0)
            },
            uniquingKeysWith: { first, _ in first })
        let findings = OneSession.findings(try OneSession.analyze(input: input))
        #expect(!findings.isEmpty)
        for finding in findings {
            let id = finding.request.record.requestId
            let logged = try #require(truth[id], "\(input): request \(id) is in the key manager's log")
            #expect(logged.verdict == .confirmed)
            #expect(finding.request.record.response.httpStatus == logged.request.record.response.httpStatus)
            if finding.verdict == .confirmed {
                #expect(
                    finding.rule?.id == logged.rule?.id && finding.cause?.check.id == logged.cause?.check.id, "\(id)")
            }
        }
    }

    @Test func whatCurlVerboseCannotShowIsNamed() throws {
        let findings = OneSession.findings(try OneSession.analyze(input: "curl-v.txt"))
        let verdicts = Dictionary(grouping: findings) { $0.request.record.operation ?? "" }
        // The decryption's version is in its body, which curl -v does not print.
        let decrypt = try #require(verdicts["decrypt"]?.first)
        #expect(decrypt.verdict == .unexplained)
        #expect(
            decrypt.missing.contains { $0.path == "request.body.keyVersion" && $0.settle.contains("--trace-ascii") })
        // The headers it prints are enough for the others; the address comes from the /confirm answer.
        #expect(findings.filter { $0.verdict == .confirmed }.count == 5)
        #expect(decrypt.request.clientAddressSource?.contains("/confirm answer of the call on line") == true)
        // The run of two calls: each answer's body is where curl printed it, before its next note.
        let key = try #require(findings.first { $0.observed == .invalidKeyID })
        #expect(key.verdict == .confirmed)
    }

    @Test func theTraceHoldsTheBodies() throws {
        let findings = OneSession.findings(try OneSession.analyze(input: "curl-trace-ascii.txt"))
        #expect(findings.count == 4)
        #expect(findings.allSatisfy { $0.verdict == .confirmed })
        let decrypt = try #require(findings.first { $0.request.record.operation == "decrypt" })
        #expect(decrypt.cause?.check.id == "version-in-service")
        #expect(decrypt.request.record.inputs.first?.embeddedVersion == 0)
    }

    @Test(arguments: ["nginx-access.jsonl", "envoy-access.jsonl"])
    func anAccessLogNamesWhatSettlesEachFailure(_ input: String) throws {
        let findings = OneSession.findings(try OneSession.analyze(input: input))
        #expect(findings.count == 4)
        for finding in findings {
            #expect(finding.verdict == .unexplained)
            let settle = try #require(finding.missing.first { $0.path == "response.resultCode" }?.settle)
            #expect(settle.contains(input.hasPrefix("nginx") ? "nginx's access log" : "Envoy's access log"))
            #expect(finding.note?.contains("HTTP \(finding.request.record.response.httpStatus)") == true)
            #expect(!finding.request.clientAddressKnown)
            #expect(!finding.request.certificateKnown)
        }
        // The request ids the proxy logged are the key manager's.
        let logged = Set(
            OneSession.findings(try OneSession.analyze(input: "requests.jsonl")).map(\.request.record.requestId))
        #expect(findings.allSatisfy { logged.contains($0.request.record.requestId) })
    }

    /// An answer's `Date` header counts whole seconds: a change of state within that second leaves the cause open.
    /// A server's `Date` may lag by a second too (it is cached): a change in the second after is a race as well.
    @Test(arguments: [0.0, -1.0])
    func aChangeWithinTheDateHeadersSecondIsARace(_ lag: TimeInterval) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let text = try String(contentsOf: OneSession.folder.appendingPathComponent("curl-v.txt"), encoding: .utf8)
        let event = try #require(try OneSession.snapshot().events.map(\.time).max())
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let second = "Date: " + formatter.string(from: event.addingTimeInterval(lag))
        let moved = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map {
            $0.hasPrefix("< Date: ") ? "< " + second : String($0)
        }.joined(separator: "\n")
        let path = try scratch.write("moved.txt", Data(moved.utf8))
        let findings = OneSession.findings(try OneSession.analyze(path))
        // Only the appkey cut short stays confirmed: its cause is in the path, whatever the state.
        #expect(findings.filter { $0.verdict == .confirmed }.map(\.observed) == [.invalidAppkey])
        do {
            let raced = findings.filter {
                $0.note?.contains("within the two seconds after its answer's Date header") == true
            }
            #expect(raced.map(\.observed).contains(.macAuthFailure), "\(findings.map { $0.note ?? "" })")
        }
    }
}

extension CaptureFixtureTests {
    /// A request after the state was taken is judged by no state: what changed since is not in it. Requests alike
    /// but for their times after it are grouped as one, as they are before it.
    @Test func aRequestAfterTheStateWasTakenGetsNoVerdict() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let lines = try String(contentsOf: OneSession.folder.appendingPathComponent("requests.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let taken = try OneSession.snapshot().generatedAt
        func moved(apart: Bool) -> String {
            var moved = 0
            return lines.map { line -> String in
                guard line.contains("\"isSuccessful\":false"),
                    let range = line.range(of: #""time":"[^"]*""#, options: .regularExpression)
                else { return line }
                moved += 1
                let time = taken.addingTimeInterval(apart ? Double(moved) : 1)
                return line.replacingCharacters(in: range, with: "\"time\":\"\(Timestamp.rfc3339(time))\"")
            }.joined(separator: "\n")
        }
        let result = try OneSession.analyze(try scratch.write("later.jsonl", Data(moved(apart: false).utf8)))
        #expect(result.triage.failureCount == 14)
        #expect(result.triage.ranked.allSatisfy { $0.verdict == .unexplained })
        for finding in OneSession.findings(result) {
            #expect(finding.verdict == .unexplained)
            #expect(finding.note?.contains("after the state was taken") == true, "\(finding.note ?? "")")
        }
        let apart = try OneSession.analyze(try scratch.write("apart.jsonl", Data(moved(apart: true).utf8)))
        #expect(apart.triage.failureCount == 14)
        #expect(apart.triage.ranked.count == result.triage.ranked.count)
        #expect(apart.triage.ranked.count < 14)
    }
}

/// The corners of curl's output, on transcripts written here.
@Suite struct CurlTranscriptTests {
    static let answer =
        #"{"header":{"resultCode":-1301,"resultMessage":"MAC Auth Failure","isSuccessful":false},"body":null}"#

    /// A `curl -v` call to the fixture's key manager: its request line and the answer's headers.
    static func verbose(
        date: String? = "Tue, 01 Dec 2026 09:46:05 GMT", length: Int? = nil, body: String? = answer
    )
        -> String
    {
        var lines = [
            "*   Trying 127.0.0.1:8443...", "* Connected to 127.0.0.1 (127.0.0.1) port 8443 (#0)",
            "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384",
            "> POST /keymanager/v1.2/appkey/APPKEY/symmetric-keys/KEY/encrypt HTTP/1.1", "> Host: 127.0.0.1:8443",
            "> Content-Type: application/json", "> Content-Length: 26", "> ", "< HTTP/1.1 403 Forbidden",
            "< X-Request-Id: r-1", "< Content-Length: \(length ?? body?.utf8.count ?? 0)",
        ]
        if let date { lines.append("< Date: \(date)") }
        lines += ["< ", "* Connection #0 to host 127.0.0.1 left intact"]
        return lines.joined(separator: "\r\n") + "\r\n" + (body ?? "")
    }

    static func read(_ text: String) throws -> CurlTranscript {
        try CurlTranscript(path: "t.txt", data: Data(text.utf8))
    }

    static func entry(_ exchange: CurlTranscript.Exchange) throws -> JSONValue {
        try exchange.entry.get()
    }

    @Test func aVerboseCallWithItsBodyGivesTheResultAndLeavesTheRequestBodyUnknown() throws {
        let transcript = try Self.read(Self.verbose())
        #expect(transcript.form == .verbose)
        let exchange = try #require(transcript.exchanges.first)
        let entry = try Self.entry(exchange)
        #expect(
            entry["request"]?["url"]?.stringValue
                == "https://127.0.0.1:8443/keymanager/v1.2/appkey/APPKEY/symmetric-keys/KEY/encrypt")
        #expect(entry["response"]?["content"]?["text"]?.stringValue == Self.answer)
        #expect(exchange.gaps[.requestBody]?.contains("--trace-ascii") == true)
        #expect(exchange.gaps[.resultCode] == nil)
        #expect(exchange.line == 4)
    }

    @Test func aBodyOfAnotherLengthThanItsContentLengthIsNotTaken() throws {
        let exchange = try #require(try Self.read(Self.verbose(length: 7)).exchanges.first)
        #expect(try Self.entry(exchange)["response"]?["content"] == nil)
        #expect(exchange.gaps[.resultCode] != nil)
        // Nor text that is not JSON, nor no text at all.
        for body in ["<html>502</html>", ""] {
            let other = try #require(try Self.read(Self.verbose(body: body)).exchanges.first)
            #expect(other.gaps[.resultCode] != nil, "\(body)")
        }
    }

    @Test func aCallWithoutADateOrAnAnswerIsAProblemOnItsLine() throws {
        let undated = try #require(try Self.read(Self.verbose(date: nil)).exchanges.first)
        guard case .failure(let problem) = undated.entry else { Issue.record("read without a time"); return }
        #expect(problem.location.number == 4 && problem.message.contains("no Date header"))
        let cut = "*   Trying 127.0.0.1:8443...\n> GET /keymanager/v1.2/appkey/A/confirm HTTP/1.1\n> Host: h\n> \n"
        guard case .failure(let unanswered)? = try Self.read(cut).exchanges.first?.entry else {
            Issue.record("an unanswered call was read")
            return
        }
        #expect(unanswered.message.contains("no answer"))
    }

    @Test func notesGluedToABodyAndStampsOfTraceTimeAreTakenApart() throws {
        let text =
            Self.verbose().replacingOccurrences(of: "* Connection #0 to host 127.0.0.1 left intact\r\n", with: "")
            + "* Connection #0 to host 127.0.0.1 left intact\n"
        let stamped = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map {
            "09:46:05.123456 " + $0
        }.joined(separator: "\n")
        for variant in [text, stamped] {
            let exchange = try #require(try Self.read(variant).exchanges.first)
            #expect(try Self.entry(exchange)["response"]?["content"]?["text"]?.stringValue == Self.answer)
        }
    }

    /// The same call as `--trace-ascii` and `--trace` print it: wrapped lines, CR LF ends, the bodies.
    @Test func bothTraceFormsGiveTheSameEntry() throws {
        let head =
            "POST /keymanager/v1.2/appkey/APPKEY/symmetric-keys/0123456789abcdef0123456789abcdef/decrypt HTTP/1.1\r\n"
            + "Host: 127.0.0.1:8443\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n"
        let body = #"{"ciphertext":"AAA"}"#
        let blocks: [(String, String)] = [
            ("=> Send header", head), ("=> Send data", body), ("<= Recv header", "HTTP/1.1 403 Forbidden\r\n"),
            ("<= Recv header", "Date: Tue, 01 Dec 2026 09:46:05 GMT\r\n"), ("<= Recv header", "\r\n"),
            ("<= Recv data", Self.answer),
        ]
        func dump(_ bytes: [UInt8], hex: Bool) -> [String] {
            // curl's own layout: 64 characters (16 bytes in hex) a line; in ASCII a line also ends at CR LF.
            var lines: [String] = []
            var index = 0
            let width = hex ? 16 : 64
            while index < bytes.count {
                var count = 0
                var text = ""
                var skip = 0
                while count < width, index + count < bytes.count {
                    if !hex, index + count + 1 < bytes.count, bytes[index + count] == 0x0D,
                        bytes[index + count + 1] == 0x0A
                    {
                        skip = 2
                        break
                    }
                    text +=
                        hex
                        ? String(format: "%02x ", bytes[index + count]) : String(UnicodeScalar(bytes[index + count]))
                    count += 1
                }
                if hex {
                    text +=
                        String(repeating: "   ", count: width - count) + " "
                        + String(decoding: bytes[index..<index + count], as: UTF8.self)
                }
                lines.append(String(format: "%04x: ", index) + text)
                index += count + skip
            }
            return lines
        }
        var entries: [JSONValue] = []
        for hex in [false, true] {
            var lines = ["== Info:   Trying 127.0.0.1:8443...", "== Info: SSL connection using TLSv1.3"]
            for (name, text) in blocks {
                let bytes = Array(text.utf8)
                lines.append("\(name), \(bytes.count) bytes (0x\(String(bytes.count, radix: 16)))")
                lines += dump(bytes, hex: hex)
            }
            let transcript = try Self.read(lines.joined(separator: "\n") + "\n")
            #expect(transcript.form == (hex ? .traceHex : .traceASCII))
            let exchange = try #require(transcript.exchanges.first)
            #expect(exchange.gaps[.requestBody] == nil && exchange.gaps[.resultCode] == nil)
            entries.append(try Self.entry(exchange))
        }
        #expect(entries[0] == entries[1])
        #expect(entries[0]["request"]?["postData"]?["text"]?.stringValue == body)
        #expect(entries[0]["request"]?["url"]?.stringValue?.hasSuffix("/decrypt") == true)
    }

    /// `--trace-ascii` shows a byte it cannot print (a line end in a pretty-printed body) as `.`: such a body is not
    /// read back, where reading it would make a well-formed body look broken.
    @Test func aTraceBodyWithUnprintableBytesIsUnknown() throws {
        let lines = [
            "=> Send header, 57 bytes (0x39)", "0000: POST /keymanager/v1.2/appkey/A/symmetric-keys/K/decrypt HTTP/1.1",
            "=> Send data, 22 bytes (0x16)", #"0000: {.  "ciphertext": "A".}"#, "<= Recv header, 24 bytes (0x18)",
            "0000: HTTP/1.1 400 Bad Request", "<= Recv header, 37 bytes (0x25)",
            "0000: Date: Tue, 01 Dec 2026 09:46:05 GMT",
        ]
        let exchange = try #require(try Self.read(lines.joined(separator: "\n")).exchanges.first)
        #expect(try Self.entry(exchange)["request"]?["postData"] == nil)
        #expect(exchange.gaps[.requestBody]?.contains("--trace FILE") == true)
    }

    @Test func aHeaderGivenTwiceIsJoinedAsTheKeyManagerJoinsIt() throws {
        let text = Self.verbose().replacingOccurrences(
            of: "> Content-Type: application/json",
            with: "> X-TOAST-CLIENT-MAC-ADDR: aa:bb:cc:dd:ee:99\r\n> X-TOAST-CLIENT-MAC-ADDR: aa:bb:cc:dd:ee:01")
        let exchange = try #require(try Self.read(text).exchanges.first)
        let record = try HARReader().record(of: try Self.entry(exchange), index: 1).get().record
        #expect(record.client.macHeader == "aa:bb:cc:dd:ee:99, aa:bb:cc:dd:ee:01")
    }

    /// curl -Z: a call starting before the last one's answer makes the answers impossible to pair.
    @Test func overlappingCallsAreNotPaired() throws {
        let first = Self.verbose(body: nil).components(separatedBy: "\r\n")
        let request = Array(first[0..<8])
        let answer = Array(first[8...])
        let text = (request + request.suffix(5) + answer + answer).joined(separator: "\n")
        let exchanges = try Self.read(text).exchanges
        #expect(exchanges.count == 2)
        for exchange in exchanges {
            guard case .failure(let problem) = exchange.entry else {
                Issue.record("an overlapping call was paired")
                continue
            }
            #expect(problem.message.contains("overlaps another"))
        }
    }

    /// A problem never repeats the transcript's text: its headers hold credentials.
    @Test func aProblemNamesNoHeader() throws {
        let text = "*   Trying 127.0.0.1:8443...\n> X-TC-AUTHENTICATION-SECRET: Sup3rS3cret\n> \n< HTTP/1.1 200 OK\n"
        let exchange = try #require(try Self.read(text).exchanges.first)
        guard case .failure(let problem) = exchange.entry else { Issue.record("read as a call"); return }
        #expect(!problem.message.contains("Sup3rS3cret"))
        // A trace that hands a request's headers over in two blocks is one call.
        let lines = [
            "=> Send header, 66 bytes (0x42)", "0000: POST /keymanager/v1.2/appkey/A/symmetric-keys/K/decrypt HTTP/1.1",
            "=> Send header, 42 bytes (0x2a)", "0000: X-TC-AUTHENTICATION-SECRET: Sup3rS3cret",
            "<= Recv header, 24 bytes (0x18)",
            "0000: HTTP/1.1 400 Bad Request", "<= Recv header, 37 bytes (0x25)",
            "0000: Date: Tue, 01 Dec 2026 09:46:05 GMT",
        ]
        let split = try Self.read(lines.joined(separator: "\n")).exchanges
        #expect(split.count == 1)
        #expect((try? Self.entry(try #require(split.first))) != nil)
    }

    @Test func curlVerboseNeverShowsABodyEvenWithoutContentLength() throws {
        let text = Self.verbose().replacingOccurrences(of: "> Content-Length: 26\r\n", with: "")
        let exchange = try #require(try Self.read(text).exchanges.first)
        #expect(exchange.gaps[.requestBody] != nil)
    }

    @Test func aTranscriptMayStartWithCurlsProgressMeterOrANote() {
        let meter = "  % Total    % Received % Xferd  Average Speed\n  0     0    0     0    0     0      0      0\n"
        #expect(CurlTranscript.looksLikeTranscript(Array((meter + "*   Trying 127.0.0.1:8443...\n").utf8)))
        #expect(
            CurlTranscript.looksLikeTranscript(
                Array("Note: Unnecessary use of -X or --request\n> GET / HTTP/1.1\n".utf8)))
    }

    @Test func aDayTheMonthDoesNotHaveIsNotADate() {
        #expect(Timestamp.parseHTTPDate("Tue, 31 Feb 2026 09:46:05 GMT") == nil)
        #expect(Timestamp.parseHTTPDate("Sat, 28 Feb 2026 09:46:05 GMT") != nil)
    }

    @Test func otherTextIsNotATranscript() throws {
        #expect(!CurlTranscript.looksLikeTranscript(Array(#"{"time":"2026-12-01T00:00:00Z"}"#.utf8)))
        #expect(CurlTranscript.looksLikeTranscript(Array("\n\n09:46:05.123456 == Info: Trying".utf8)))
        #expect(throws: InputError.self) { try Self.read("hello\nworld\n") }
    }
}

/// Lines of nginx's and Envoy's access logs, mapped.
@Suite struct AccessLogTests {
    static func item(_ line: String, number: Int = 7) throws -> CaptureItem? {
        let value = try JSONParser().parse(line)
        let flavour = try #require(AccessLogReader.flavour(of: value))
        return AccessLogReader().item(value, flavour: flavour, location: SourceLocation(file: "a.log", number: number))
    }

    static func request(_ line: String) throws -> CapturedRequest {
        guard case .request(let request)? = try item(line) else { throw CancellationError() }
        return request
    }

    @Test func nginxLinesGiveTheCallAndLeaveTheRestUnknown() throws {
        let line =
            #"{"msec":"1764582365.700","remote_addr":"10.0.3.7","request_method":"POST","#
            + #""request_uri":"/skm/keymanager/v1.2/appkey/APPKEY/symmetric-keys/0123456789abcdef0123456789abcdef/decrypt","#
            + #""status":409,"request_time":0.200,"http_x_toast_client_mac_addr":"","upstream_http_x_request_id":"r-9"}"#
        let request = try Self.request(line)
        let record = request.record
        // The proxy's prefix is stripped; the time is when the request arrived.
        #expect(record.path == "/keymanager/v1.2/appkey/APPKEY/symmetric-keys/0123456789abcdef0123456789abcdef/decrypt")
        #expect(record.operation == "decrypt" && record.requestId == "r-9" && record.response.httpStatus == 409)
        #expect(abs(record.time.timeIntervalSince1970 - 1_764_582_365.5) < 0.001)
        #expect(record.durationMs == 200)
        #expect(record.client.macHeader == nil && request.gaps[.macHeader] == nil)
        for gap in [CaptureGap.resultCode, .requestBody, .credentials, .clientAddress, .certificate, .serverTime] {
            #expect(request.gaps[gap] != nil, "\(gap)")
        }
        #expect(request.gaps[.clientAddress]?.contains("10.0.3.7") == true)
        #expect(!request.clientAddressKnown && !request.certificateKnown && !request.serverTimeKnown)
    }

    @Test func aFormatWithoutTheMACHeaderLeavesItUnknown() throws {
        let line =
            #"{"start_time":"2026-12-01T09:46:05.123Z","method":"POST","path":"/keymanager/v1.2/appkey/A/symmetric-keys/K/encrypt","#
            + #""response_code":403,"duration":3,"downstream_remote_address":"10.0.3.7:51234"}"#
        let request = try Self.request(line)
        #expect(request.gaps[.macHeader]?.contains("%REQ(X-TOAST-CLIENT-MAC-ADDR)%") == true)
        #expect(request.gaps[.clientAddress]?.contains("51234") == false)
        #expect(request.gaps[.clientAddress]?.contains("from 10.0.3.7") == true)
        #expect(request.record.requestId == "line-7")
    }

    /// Numbers no log holds are refused on their line, never converted into a crash.
    @Test(arguments: [
        #""status":1e300"#, #""status":9223372036854775807"#, #""status":"nan""#, #""status":-5"#, #""status":403.7"#,
        #""status":403,"msec":"nan""#, #""status":403,"msec":1e300"#, #""status":403,"request_time":1e300,"msec":"1""#,
        #""status":403,"msec":253402300800"#,
    ])
    func impossibleNumbersAreProblems(_ members: String) throws {
        let line =
            #"{"request_method":"GET","request_uri":"/keymanager/v1.2/appkey/A/confirm","msec":"1764582365.7","#
            + members + "}"
        switch try Self.item(line) {
        case .problem(let problem)?: #expect(problem.location.number == 7)
        case .request(let request)?:
            #expect(request.record.response.httpStatus == 403 && request.record.durationMs == 0)
        default: Issue.record("\(members) was read as a success or skipped")
        }
    }

    @Test func whatIsNotAnAnsweredCallIsSaidOrSkipped() throws {
        guard
            case .problem(let problem)? = try Self.item(
                #"{"start_time":"2026-12-01T09:46:05Z","method":"GET","path":"/x","response_code":0,"response_flags":"UC"}"#
            )
        else { Issue.record("status 0 read as a call"); return }
        #expect(problem.message.contains("no answer") && problem.message.contains("UC"))
        #expect(try Self.item(#"{"msec":"1","request_method":"GET","request_uri":"/health","status":200}"#) == nil)
        guard
            case .success? = try Self.item(
                #"{"time_iso8601":"2026-12-01T09:46:05+00:00","request_method":"GET","request_uri":"/keymanager/v1.2/appkey/A/confirm","status":200}"#
            )
        else { Issue.record("a success not counted"); return }
        // The key manager's own lines are not an access log's.
        #expect(
            AccessLogReader.flavour(of: try JSONParser().parse(#"{"status":1,"request_uri":"/","response":{}}"#)) == nil
        )
    }
}

/// What a Windows tool writes: a byte order mark first, then UTF-8 (Notepad) or UTF-16 (Windows PowerShell's `>`
/// and `Out-File`), with CR LF line endings.
enum WindowsText {
    /// `data` (UTF-8) with a carriage return before every line feed that has none, in `encoding` after its mark.
    static func written(_ data: Data, as encoding: ByteOrderMark) -> Data {
        var text: [UInt8] = []
        var previous: UInt8 = 0
        for byte in data {
            if byte == 0x0A && previous != 0x0D { text.append(0x0D) }
            text.append(byte)
            previous = byte
        }
        switch encoding {
        case .utf8: return Data(ByteOrderMark.utf8Bytes + text)
        case .utf16LittleEndian, .utf16BigEndian:
            // The fixtures' invalid bytes (the hostile log's) are written as U+FFFD, as they are read.
            let units = String(decoding: text, as: UTF8.self).utf16
            let big = encoding == .utf16BigEndian
            var bytes: [UInt8] = big ? [0xFE, 0xFF] : [0xFF, 0xFE]
            for unit in units {
                bytes += big ? [UInt8(unit >> 8), UInt8(unit & 0xFF)] : [UInt8(unit & 0xFF), UInt8(unit >> 8)]
            }
            return Data(bytes)
        }
    }

    /// What an analysis found, request by request, to compare two readings of one capture.
    static func summary(_ result: AnalysisResult) -> [String] {
        [
            "formats \(result.inputs.map(\.format))", "succeeded \(result.triage.successCount)",
            "failed \(result.triage.failureCount)", "problems \(result.problemCount)",
        ]
            + OneSession.findings(result).map {
                "\($0.request.record.requestId) \($0.verdict) \($0.rule?.id ?? "-") \($0.cause?.check.id ?? "-")"
            }
    }
}

extension CaptureFixtureTests {
    /// Written by a Windows tool, each capture reads as it does without: the same format, requests, problems and
    /// findings (the byte order mark starts no line of its own and spoils none).
    @Test(
        arguments: OneSession.captures + ["requests.jsonl"],
        [ByteOrderMark.utf8, .utf16LittleEndian, .utf16BigEndian])
    func aCaptureWrittenOnWindowsReadsTheSame(_ input: String, _ encoding: ByteOrderMark) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let original = try Data(contentsOf: OneSession.folder.appendingPathComponent(input))
        let path = try scratch.write(input, WindowsText.written(original, as: encoding))
        let expected = WindowsText.summary(try OneSession.analyze(input: input))
        #expect(expected.count > 4)
        #expect(WindowsText.summary(try OneSession.analyze(path)) == expected)
    }

    /// Logs saved by a Windows tool and then joined (`cat`) carry a byte order mark at the first line of each: every
    /// request of each is read, none lost to the mark.
    @Test func joinedLogsSavedOnWindowsLoseNothing() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let log = try Data(contentsOf: OneSession.folder.appendingPathComponent("requests.jsonl"))
        let once = try OneSession.analyze(input: "requests.jsonl")
        for encoding in [ByteOrderMark.utf8, .utf16LittleEndian] {
            let saved = WindowsText.written(log, as: encoding)
            let path = try scratch.write("joined.jsonl", saved + saved)
            let twice = try OneSession.analyze(path)
            #expect(twice.problemCount == 0, "\(encoding): \(twice.problems)")
            #expect(twice.triage.failureCount == 2 * once.triage.failureCount, "\(encoding)")
            #expect(twice.triage.successCount == 2 * once.triage.successCount, "\(encoding)")
        }
    }

    /// A HAR file and a state snapshot saved by a Windows tool read as they do without.
    @Test(arguments: [ByteOrderMark.utf8, .utf16LittleEndian, .utf16BigEndian])
    func aHARAndAStateWrittenOnWindowsReadTheSame(_ encoding: ByteOrderMark) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let folder = Fixtures.folder(.clientBehindNAT)
        let har = try Data(contentsOf: folder.appendingPathComponent("capture.har"))
        let path = try scratch.write("capture.har", WindowsText.written(har, as: encoding))
        let summary = { (result: AnalysisResult) in
            [
                "succeeded \(result.triage.successCount)", "failed \(result.triage.failureCount)",
                "problems \(result.problemCount)",
            ] + result.triage.ranked.flatMap(\.examples).map { "\($0.request.record.requestId) \($0.verdict)" }
        }
        let expected = summary(
            try Fixtures.analyze(.clientBehindNAT, path: folder.appendingPathComponent("capture.har").path))
        #expect(expected.count > 3)
        #expect(summary(try Fixtures.analyze(.clientBehindNAT, path: path)) == expected)

        let state = try Data(contentsOf: folder.appendingPathComponent("state.json"))
        let read = try StateSnapshot.read(WindowsText.written(state, as: encoding), name: "state.json")
        #expect(read.digest == (try StateSnapshot.read(state, name: "state.json")).digest)
    }
}
