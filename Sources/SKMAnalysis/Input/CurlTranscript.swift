import Foundation
import SKMCore
import SKMPrimitives

/// What curl printed about the calls it made, read back into HAR entries: `curl -v` (its standard error, with or
/// without the answer's body that it prints on standard output), `curl --trace-ascii FILE` and `curl --trace FILE`,
/// several calls to a file, with or without `--trace-time`.
///
/// ``HARReader`` describes each entry as it describes a browser's capture, so a transcript is read with the same care:
/// the answer's `Date` header is the request's time, a `GET …/confirm` answer in the same file tells the address the
/// server saw, and `--client-ip` and `--client-cert` give what neither form can show. What a form cannot hold is a
/// ``CaptureGap``: `curl -v` never prints the request's body; an answer's body counts only where curl prints it and
/// with the length its `Content-Length` gives; `--trace-ascii` prints bytes it cannot show (line ends among them) as
/// `.`, so a body holding a `.` cannot be read back exactly. Nothing is guessed.
package struct CurlTranscript: Sendable {
    package static let maximumBytes = 256 << 20

    package enum Form: String, Sendable {
        case verbose = "curl -v"
        case traceASCII = "curl --trace-ascii"
        case traceHex = "curl --trace"
    }

    /// One call: the HAR entry it makes, or why it makes none, and what the transcript could not show of it.
    package struct Exchange: Sendable {
        /// The line the call's request starts on (1-based).
        package var line: Int
        package var entry: Result<JSONValue, InputProblem>
        package var gaps: [CaptureGap: String] = [:]
    }

    package private(set) var form = Form.verbose
    package private(set) var exchanges: [Exchange] = []

    /// Whether `bytes` (the start of an input) look like what curl prints: its first line that is not blank starts
    /// as curl's verbose or trace output does (after a `--trace-time` stamp, if any).
    package static func looksLikeTranscript(_ bytes: some Collection<UInt8>) -> Bool {
        // curl's own notes may come first ("Note: Unnecessary use of -X", the progress meter without -s): any of the
        // first lines may be the first of its verbose or trace output.
        let text = String(decoding: Array(bytes.prefix(16 << 10)), as: UTF8.self)
        let markers = [
            "*   Trying", "* Trying", "* Connected to", "* Host ", "* Uses proxy", "* Re-using", "== Info:", "=> Send",
            "<= Recv", "> GET ", "> POST ", "> PUT ", "> DELETE ",
        ]
        return text.split(whereSeparator: \.isNewline).prefix(64).contains { line in
            let line = stripStamp(String(line))
            return markers.contains { line.hasPrefix($0) }
        }
    }

    /// Reads a transcript. Only the input as a whole can be refused; a call that cannot be read is one exchange with
    /// a problem, and the others are read.
    package init(path: String, data: Data) throws(InputError) {
        guard data.count <= Self.maximumBytes else {
            throw InputError(
                .tooLarge, subject: path, "transcript is \(data.count) bytes, over the limit of \(Self.maximumBytes)")
        }
        let lines = String(decoding: data, as: UTF8.self).split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var parser = Parser(path: path)
        for (index, raw) in lines.enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            parser.read(Self.stripStamp(line), number: index + 1)
        }
        parser.finish()
        guard parser.sawCurl else {
            throw InputError(.notACapture, subject: path, "not a curl transcript: no line of curl -v or --trace output")
        }
        form = parser.form
        exchanges = parser.exchanges
    }

    /// A line without the `HH:MM:SS.ffffff ` stamp `--trace-time` puts before it.
    static func stripStamp(_ line: String) -> String {
        let bytes = Array(line.utf8.prefix(16))
        guard bytes.count == 16, bytes[2] == UInt8(ascii: ":"), bytes[5] == UInt8(ascii: ":"),
            bytes[8] == UInt8(ascii: "."), bytes[15] == UInt8(ascii: " ")
        else { return line }
        let digits = [0, 1, 3, 4, 6, 7] + Array(9...14)
        guard digits.allSatisfy({ (0x30...0x39).contains(bytes[$0]) }) else { return line }
        return String(line.dropFirst(16))
    }
}

extension CurlTranscript {
    /// One call as it is read.
    struct Call {
        var line: Int
        var tls: Bool
        var host: String?
        /// The request line and headers.
        var head: [String] = []
        var headDone = false
        var body: [UInt8] = []
        /// Whether the transcript showed the request's body (a trace's `Send data`).
        var bodyShown = false
        var bodyLossy = false
        /// Each answer's status line and headers: interim (1xx) answers first.
        var answers: [[String]] = []
        var answerDone = false
        var answerBody: [UInt8] = []
        var answerBodyShown = false
        var answerBodyLossy = false
        /// Another call started before this one had its answer (curl -Z, several transfers at once), or this one
        /// started while another waited: which answer is whose cannot be told.
        var interleaved = false
        /// curl said the transfer ended without an answer (timed out, connection closed).
        var ended = false

        /// Whether a call starting now overlaps this one.
        var awaitsAnswer: Bool { !head.isEmpty && answers.isEmpty && !ended }
    }

    /// A trace's block: what curl handed its debug callback, and the dump lines that show it.
    struct Block {
        enum Kind {
            case sendHeader, sendData, receiveHeader, receiveData, other
        }

        var kind: Kind
        var size: Int?
        /// The line its first dump line is on.
        var line: Int
        /// Each dump line's offset and text.
        var lines: [(offset: Int, text: String)] = []
    }

    struct Parser {
        let path: String
        var form = Form.verbose
        var sawCurl = false
        var exchanges: [Exchange] = []
        var call: Call?
        var connectionTLS = false
        var connectedHost: String?
        var block: Block?
        /// Where curl -v prints the answer's body: after its headers, before the next request.
        var inBody = false

        init(path: String) {
            self.path = path
        }

        mutating func read(_ line: String, number: Int) {
            if line.hasPrefix("== Info:") {
                flushBlock()
                sawCurl = true
                info(String(line.dropFirst(8)).trimmingCharacters(in: .whitespaces))
            } else if line.hasPrefix("=> ") || line.hasPrefix("<= ") {
                flushBlock()
                sawCurl = true
                startBlock(line, number: number)
            } else if block != nil, let dump = Self.dumpLine(line) {
                block?.lines.append(dump)
            } else if line.hasPrefix("*") {
                let text = line.dropFirst().trimmingCharacters(in: .whitespaces)
                sawCurl = true
                info(text)
            } else if line.hasPrefix(">") {
                sawCurl = true
                inBody = false
                requestLine(String(line.dropFirst().drop { $0 == " " }), number: number)
            } else if line.hasPrefix("<") {
                sawCurl = true
                answerLine(String(line.dropFirst().drop { $0 == " " }))
            } else if line.hasPrefix("{ [") || line.hasPrefix("} [") {
                // curl -v's note of data sent or received: the bytes themselves are not in it.
            } else if inBody, call != nil {
                // The answer's body as curl -v prints it; when it does not end with a line end, curl's next note
                // follows it on the same line. Text after as many bytes as Content-Length gives is not the body's.
                if call!.answerBodyShown, let length = Self.contentLength(call!), call!.answerBody.count >= length {
                    inBody = false
                    return
                }
                var text = line
                var rest: String?
                if let marker = Self.gluedNote(in: text) {
                    rest = String(text[marker...])
                    text = String(text[..<marker])
                }
                if call!.answerBodyShown { call!.answerBody.append(0x0A) }
                call!.answerBody += Array(text.utf8)
                call!.answerBodyShown = true
                if let rest {
                    inBody = false
                    read(rest, number: number)
                }
            }
        }

        /// Where a note of curl's follows a JSON body on its line (the body did not end with a line end): the first
        /// `* ` right after a closing brace or bracket.
        static func gluedNote(in text: String) -> String.Index? {
            var search = text.startIndex
            while let found = text.range(of: "* ", range: search..<text.endIndex) {
                if found.lowerBound > text.startIndex, "}]".contains(text[text.index(before: found.lowerBound)]) {
                    return found.lowerBound
                }
                search = found.upperBound
            }
            return nil
        }

        mutating func info(_ text: String) {
            if text.hasPrefix("Trying") || text.hasPrefix("Connected to") {
                if text.hasPrefix("Trying") { connectionTLS = false }
                if text.hasPrefix("Connected to") {
                    connectedHost = text.dropFirst("Connected to ".count).split(separator: " ").first.map(String.init)
                }
            } else if text.hasPrefix("SSL connection using") || text.hasPrefix("TLSv1") || text.hasPrefix("ALPN") {
                connectionTLS = true
            }
            let endings = [
                "timed out", "Recv failure", "Empty reply", "Connection died", "Closing connection", "Failed",
            ]
            if call != nil, endings.contains(where: { text.contains($0) }) { call!.ended = true }
        }

        // MARK: - curl -v

        mutating func requestLine(_ text: String, number: Int) {
            if call == nil || call!.headDone {
                guard !text.isEmpty else { return }
                startCall(line: number)
            }
            if text.isEmpty {
                call!.headDone = true
            } else {
                call!.head.append(text)
            }
        }

        mutating func answerLine(_ text: String) {
            guard call != nil else { return }
            call!.headDone = true
            if text.hasPrefix("HTTP/") {
                call!.answers.append([text])
                call!.answerDone = false
            } else if text.isEmpty {
                guard !call!.answers.isEmpty else { return }
                call!.answerDone = true
                inBody = !Self.isInterim(call!.answers.last!)
            } else if !call!.answers.isEmpty, !call!.answerDone {
                call!.answers[call!.answers.count - 1].append(text)
            }
        }

        /// Ends the call being read and starts another on `line`; the two overlap when the first still waits.
        mutating func startCall(line: Int) {
            let overlapping = call?.awaitsAnswer == true
            if overlapping { call!.interleaved = true }
            finishCall()
            call = Call(line: line, tls: connectionTLS, host: connectedHost)
            call!.interleaved = overlapping
        }

        // MARK: - curl --trace-ascii and --trace

        mutating func startBlock(_ line: String, number: Int) {
            let rest = line.dropFirst(3)
            let size = rest.split(separator: ",").dropFirst().first.flatMap {
                Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
            }
            let kind: Block.Kind
            if rest.hasPrefix("Send header") {
                kind = .sendHeader
            } else if rest.hasPrefix("Send data") {
                kind = .sendData
            } else if rest.hasPrefix("Recv header") {
                kind = .receiveHeader
            } else if rest.hasPrefix("Recv data") {
                kind = .receiveData
            } else {
                if rest.contains("SSL data") { connectionTLS = true }
                kind = .other
            }
            block = Block(kind: kind, size: size, line: number + 1)
        }

        /// `0000: text` (ASCII) or `0000: 50 4f 53 54 …  POST…` (hex): the offset and what follows the colon.
        static func dumpLine(_ line: String) -> (offset: Int, text: String)? {
            let bytes = Array(line.utf8.prefix(6))
            guard bytes.count == 6, bytes[4] == UInt8(ascii: ":"), bytes[5] == UInt8(ascii: " "),
                let offset = Int(String(line.prefix(4)), radix: 16)
            else {
                if line.utf8.count == 5, line.hasSuffix(":"), let offset = Int(String(line.prefix(4)), radix: 16) {
                    return (offset, "")
                }
                return nil
            }
            return (offset, String(line.dropFirst(6)))
        }

        mutating func flushBlock() {
            guard let block, call != nil || block.kind == .sendHeader else {
                self.block = nil
                return
            }
            self.block = nil
            if block.kind == .sendHeader, let first = block.lines.first, Self.looksHex(first.text) {
                form = .traceHex
            } else if form == .verbose {
                form = .traceASCII
            }
            let (bytes, lossy) = form == .traceHex ? Self.hexBytes(block) : Self.asciiBytes(block)
            switch block.kind {
            case .sendHeader:
                let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").filter {
                    !$0.isEmpty
                }
                // A request's headers may come in more than one block: only a request line starts a call.
                if let first = lines.first, Self.isRequestLine(first) {
                    startCall(line: block.line)
                    call!.head = lines
                } else if call?.answers.isEmpty == true {
                    call!.head += lines
                }
                call?.headDone = true
            case .sendData:
                call!.body += bytes
                call!.bodyShown = true
                call!.bodyLossy = call!.bodyLossy || lossy
            case .receiveHeader:
                // curl hands over an answer's header lines one at a time.
                let text = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
                for line in text where !line.isEmpty {
                    if line.hasPrefix("HTTP/") {
                        call!.answers.append([line])
                    } else if !call!.answers.isEmpty {
                        call!.answers[call!.answers.count - 1].append(line)
                    }
                }
            case .receiveData:
                guard let last = call!.answers.last, !Self.isInterim(last) else { return }
                call!.answerBody += bytes
                call!.answerBodyShown = true
                call!.answerBodyLossy = call!.answerBodyLossy || lossy
            case .other:
                break
            }
        }

        /// Whether a dump line's text is hex pairs (`--trace`): a request's header block starts with its method's
        /// letters in `--trace-ascii`, with hex digits and spaces in `--trace`.
        static func looksHex(_ text: String) -> Bool {
            let pairs = text.split(separator: " ", maxSplits: 3)
            return pairs.count >= 3 && pairs.prefix(3).allSatisfy { $0.count == 2 && UInt8($0, radix: 16) != nil }
        }

        /// The bytes of an ASCII dump: a line wraps at 64 characters, and one ends early where the data had CR LF,
        /// which is not shown; what the offsets say was skipped is put back. Bytes curl cannot print are `.`: a block
        /// holding one cannot be read back exactly (`lossy`).
        static func asciiBytes(_ block: Block) -> ([UInt8], lossy: Bool) {
            var bytes: [UInt8] = []
            var lossy = false
            var offset = 0
            for line in block.lines {
                // Offsets that do not add up (a transcript edited by hand) still end a line: the bytes are lost.
                let gap = line.offset - offset
                if gap != 0 { bytes += [0x0D, 0x0A] }
                if gap != 0, gap != 2 { lossy = true }
                let text = Array(line.text.utf8)
                if text.contains(UInt8(ascii: ".")) { lossy = true }
                bytes += text
                offset = line.offset + text.count
            }
            if let size = block.size {
                let gap = size - offset
                if gap == 2 {
                    bytes += [0x0D, 0x0A]
                } else if gap != 0 {
                    lossy = true
                }
            }
            return (bytes, lossy)
        }

        /// The bytes of a hex dump: up to 16 pairs a line, then the same bytes as text.
        static func hexBytes(_ block: Block) -> ([UInt8], lossy: Bool) {
            var bytes: [UInt8] = []
            var lossy = false
            for line in block.lines {
                if line.offset != bytes.count { lossy = true }
                var count = 0
                for pair in line.text.split(separator: " ", omittingEmptySubsequences: false) {
                    guard count < 16, pair.count == 2, let byte = UInt8(pair, radix: 16) else { break }
                    bytes.append(byte)
                    count += 1
                }
            }
            if let size = block.size, size != bytes.count { lossy = true }
            return (bytes, lossy)
        }

        // MARK: - Calls into entries

        /// The final answer's `Content-Length`.
        static func contentLength(_ call: Call) -> Int? {
            guard let answer = call.answers.last else { return nil }
            return headers(answer.dropFirst()).last { $0.name.lowercased() == "content-length" }.flatMap {
                Int($0.value)
            }
        }

        /// `METHOD target HTTP/version`.
        static func isRequestLine(_ line: String) -> Bool {
            let parts = line.split(separator: " ")
            return parts.count == 3 && parts[2].hasPrefix("HTTP/")
                && parts[0].allSatisfy { $0.isASCII && $0.isLetter && $0.isUppercase }
        }

        static func isInterim(_ answer: [String]) -> Bool {
            guard let status = status(of: answer) else { return false }
            return (100..<200).contains(status)
        }

        static func status(of answer: [String]) -> Int? {
            answer.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
        }

        static func headers(_ lines: some Sequence<String>) -> [(name: String, value: String)] {
            lines.compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (
                    String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                )
            }
        }

        mutating func finish() {
            flushBlock()
            finishCall()
        }

        mutating func finishCall() {
            guard let call else { return }
            self.call = nil
            inBody = false
            exchanges.append(exchange(call))
        }

        func problem(_ call: Call, _ message: String) -> Exchange {
            Exchange(
                line: call.line,
                entry: .failure(
                    InputProblem(location: SourceLocation(file: path, number: call.line), message: message)))
        }

        func exchange(_ call: Call) -> Exchange {
            // The messages name no header or path: a transcript holds credentials, and a problem is shown as is.
            let requestLine = call.head.first ?? ""
            guard Self.isRequestLine(requestLine) else {
                return problem(call, "the call's first line is not a request line (METHOD PATH HTTP/version); skipped")
            }
            guard !call.interleaved, call.answers.filter({ !Self.isInterim($0) }).count <= 1 else {
                return problem(
                    call,
                    "this call overlaps another in the transcript (curl -Z, or several transfers at once), so which "
                        + "answer is its own cannot be told; skipped")
            }
            let parts = requestLine.split(separator: " ")
            let method = String(parts[0])
            let target = String(parts[1])
            let requestHeaders = Self.headers(call.head.dropFirst())
            func requestHeader(_ name: String) -> String? {
                requestHeaders.first { $0.name.lowercased() == name }?.value
            }
            guard let answer = call.answers.last(where: { !Self.isInterim($0) }),
                let status = Self.status(of: answer)
            else {
                return problem(
                    call,
                    "the transcript holds no answer to this call (it failed before one, or the transcript is cut off); "
                        + "skipped")
            }
            let answerHeaders = Self.headers(answer.dropFirst())
            func answerHeader(_ name: String) -> String? {
                answerHeaders.last { $0.name.lowercased() == name }?.value
            }
            guard let date = answerHeader("date").flatMap(Timestamp.parseHTTPDate) else {
                return problem(
                    call,
                    "the answer to this call has no Date header (or one that is not a date), so the transcript does not "
                        + "say when the call was made; skipped")
            }
            let host = requestHeader("host") ?? requestHeader(":authority") ?? call.host ?? "localhost"
            let url =
                target.hasPrefix("http://") || target.hasPrefix("https://")
                ? target : "\(call.tls ? "https" : "http")://\(host)\(target)"

            var gaps: [CaptureGap: String] = [:]
            gaps[.certificate] =
                "curl shows whether the server asked for a certificate, not which one it sent: give the file curl "
                + "sent (its --cert) with --client-cert FILE, or --client-cert none"
            var request: JSONObject = [
                "method": .string(method), "url": .string(url),
                "headers": .array(requestHeaders.map { ["name": .string($0.name), "value": .string($0.value)] }),
            ]
            // curl -v shows no body, nor for certain every header: a call of a method that carries one may have had
            // one, unless it said it had none.
            let length = requestHeader("content-length").flatMap { Int($0) }
            let declaresBody =
                (length ?? 0) > 0 || requestHeader("transfer-encoding")?.lowercased().contains("chunked") == true
                || (form == .verbose && ["POST", "PUT", "PATCH"].contains(method) && length != 0)
            if call.bodyShown, !call.bodyLossy {
                request["postData"] = [
                    "mimeType": .string(requestHeader("content-type") ?? ""),
                    "text": .string(String(decoding: call.body, as: UTF8.self)),
                ]
            } else if call.bodyShown {
                gaps[.requestBody] =
                    "curl --trace-ascii prints bytes it cannot show (line ends among them) as '.', so this body cannot "
                    + "be read back exactly: curl --trace FILE records its bytes"
            } else if declaresBody {
                gaps[.requestBody] =
                    form == .verbose
                    ? "curl -v does not print the request's body: run the call again with --trace-ascii FILE, which "
                        + "records it"
                    : "the trace does not hold the request's body (it is cut off here?)"
            }
            var response: JSONObject = [
                "status": .int(status),
                "headers": .array(answerHeaders.map { ["name": .string($0.name), "value": .string($0.value)] }),
            ]
            if let body = answerBody(call, length: answerHeader("content-length").flatMap { Int($0) }) {
                response["content"] = ["mimeType": .string(answerHeader("content-type") ?? ""), "text": .string(body)]
            } else if !(200..<300).contains(status) {
                gaps[.resultCode] =
                    form == .verbose
                    ? "curl -v prints the answer's body on standard output, and this transcript does not hold it where "
                        + "curl prints it (after the answer's headers, with its Content-Length): capture the call "
                        + "with --trace-ascii FILE, or find request \(answerHeader("x-request-id") ?? "at this time") "
                        + "in the key manager's request log"
                    : "the trace does not hold the answer's body whole: find request "
                        + "\(answerHeader("x-request-id") ?? "at this time") in the key manager's request log"
            }
            let entry: JSONValue = [
                "startedDateTime": .string(Timestamp.rfc3339(date)), "request": .object(request),
                "response": .object(response),
            ]
            return Exchange(line: call.line, entry: .success(entry), gaps: gaps)
        }

        /// The answer's body when the transcript holds it whole: a trace's data, or the text curl -v printed after
        /// the answer's headers when it is one JSON value of the length `Content-Length` gives (give or take the
        /// last line end, which the transcript's lines do not keep).
        func answerBody(_ call: Call, length: Int?) -> String? {
            guard call.answerBodyShown else { return nil }
            if form != .verbose {
                guard !call.answerBodyLossy || (try? JSONParser().parse(call.answerBody)) != nil else { return nil }
                return String(decoding: call.answerBody, as: UTF8.self)
            }
            var bytes = call.answerBody
            while let last = bytes.last, last == 0x0A || last == 0x20 { bytes.removeLast() }
            if let length, bytes.count != length, bytes.count + 1 != length { return nil }
            guard (try? JSONParser().parse(bytes)) != nil else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension HARReader {
    /// The result message of an answer whose body the capture does not hold.
    static func uncaptured(_ status: Int) -> String {
        "HTTP \(status), code not captured"
    }

    /// Reads a curl transcript's calls and hands each to `consume`, as ``read(_:data:requestID:consume:)`` hands a
    /// HAR capture's entries: the `/confirm` answers in the transcript speak for the calls near them in time.
    package func readTranscript(
        _ path: String, data: Data, requestID: String? = nil, consume: (CaptureItem) -> Void
    ) throws(InputError) {
        let transcript = try CurlTranscript(path: path, data: data)
        var confirmations: [Confirmation] = []
        for exchange in transcript.exchanges {
            guard case .success(let entry) = exchange.entry,
                let confirmation = confirmation(
                    of: entry, number: exchange.line, place: "the call on line \(exchange.line)")
            else { continue }
            confirmations.append(confirmation)
        }
        confirmations.sort { ($0.time, $0.entry) < ($1.time, $1.entry) }
        for exchange in transcript.exchanges {
            let location = SourceLocation(file: path, number: exchange.line)
            switch exchange.entry {
            case .failure(let problem):
                Self.hand(.failure(problem), requestID: requestID, consume: consume)
            case .success(let entry):
                switch record(of: entry, index: exchange.line, fallbackID: "line-\(exchange.line)") {
                case .success(let timed):
                    // Each curl run may send another certificate (--cert): a /confirm answer speaks for its own.
                    var request = captured(
                        timed, location: location, confirmations: confirmations, certificateFromConfirmation: false)
                    request.gaps.merge(exchange.gaps) { _, new in new }
                    if request.gaps[.resultCode] != nil {
                        request.record.response.resultMessage = Self.uncaptured(request.record.response.httpStatus)
                    }
                    Self.hand(.success(request), requestID: requestID, consume: consume)
                case .failure(let problem):
                    Self.hand(
                        .failure(InputProblem(location: location, message: problem.message)), requestID: requestID,
                        consume: consume)
                }
            }
        }
    }
}
