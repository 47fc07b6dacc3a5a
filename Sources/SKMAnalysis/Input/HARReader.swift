import Foundation
import HTTPTypes
import SKMCore
import SKMPrimitives
import SKMWire
import X509

/// Reads HAR 1.2 captures (browsers' developer tools, mitmproxy, Charles) into request records.
///
/// The URL, headers and body give the operation, appkey, key id, MAC header, the shape of user data (a captured
/// ciphertext or signature gives its embedded version without any key) and, from the response body, the result.
/// What a client-side capture cannot know (the address the server saw, the certificate TLS presented) is marked
/// unknown unless given: `clientIP` and `clientCertificate`, or answered by a `GET …/confirm` in the same capture,
/// which echoes the address the server saw and whether a certificate came with it. The response's `Date` header
/// gives the server's time; without it the capture has only the client's clock. Bodies are read for their shape
/// only; no captured secret goes further than this reader.
package struct HARReader: Sendable {
    package static let maximumBytes = 1 << 30
    /// The largest entry read. An SKM call and its answer take a few kilobytes; parsed, an entry takes several times
    /// its size in memory, so one huge entry (a crafted array) could take gigabytes. Larger entries are skipped.
    package static let maximumEntryBytes = 16 << 20
    /// How long after an answer's `Date` header the request may have arrived: the header counts whole seconds, and
    /// a server may write one it made up to a second before (Hummingbird, nginx and others cache it).
    package static let dateHeaderSpan: TimeInterval = 2
    /// How far in time a captured `/confirm` answer speaks for the other requests of the capture.
    package static let confirmationWindow: TimeInterval = 3600

    /// The client address to assume for every entry (`--client-ip`).
    package var clientIP: String?
    /// The client certificate to assume for every entry (`--client-cert`), with the CA that should have issued it.
    package var clientCertificate: Certificate?
    /// The client presented no certificate (`--client-cert none`).
    package var noClientCertificate = false
    package var authority: Certificate?

    package init(clientIP: String? = nil, clientCertificate: Certificate? = nil, authority: Certificate? = nil) {
        self.clientIP = clientIP
        self.clientCertificate = clientCertificate
        self.authority = authority
    }

    /// What a captured `GET …/confirm` answer said the server observed.
    struct Confirmation {
        var entry: Int
        /// Where it is, in words: `entry 3`, `the call on line 17`.
        var place: String
        var time: Date
        var clientIP: String?
        var sentCertificate: Bool?
        /// When the answer says the key manager saw another MAC header than the call sent (something between them
        /// changes it): what was sent and what was seen, `nil` for none.
        var macChanged: (sent: String?, seen: String?)?
    }

    /// Whether `bytes` (the start of an input) look like a HAR document rather than JSON Lines.
    package static func looksLikeHAR(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = bytes.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }.makeIterator()
        guard iterator.next() == UInt8(ascii: "{") else { return false }
        var rest: [UInt8] = []
        while let byte = iterator.next(), rest.count < 16 {
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { continue }
            rest.append(byte)
        }
        return rest.starts(with: Array(#""log""#.utf8))
    }

    /// Reads the entries of `data` and hands each to `consume`, in order: failures in full, successes counted. With
    /// `requestID`, only the entries of that request id, in full whatever their outcome (for explaining one request).
    package func read(
        _ path: String, data: Data, requestID: String? = nil, consume: (CaptureItem) -> Void
    ) throws(InputError) {
        try forEachRequest(path, data: data) { Self.hand($0, requestID: requestID, consume: consume) }
    }

    /// Hands one entry to `consume`: a failure in full, a success counted; with `requestID`, only that request's
    /// entries, in full whatever their outcome.
    static func hand(
        _ item: Result<CapturedRequest, InputProblem>, requestID: String?, consume: (CaptureItem) -> Void
    ) {
        switch item {
        case .success(let request) where requestID != nil:
            if request.record.requestId == requestID { consume(.request(request)) }
        case .failure where requestID != nil:
            break
        case .success(let request) where request.record.response.isSuccessful:
            let record = request.record
            consume(
                .success(
                    SuccessObservation(
                        time: record.time, appkey: record.appkey, keyId: record.keyId, operation: record.operation)))
        case .success(let request):
            consume(.request(request))
        case .failure(let problem):
            consume(.problem(problem))
        }
    }

    /// Hands over every entry as a captured request, in order, with what this reader was told about the client and
    /// what the capture's own `/confirm` answers say of it.
    ///
    /// Two passes over the bytes (`data` may be a mapping of the file), each finding and parsing the entries one at a
    /// time (``HAREntryScanner``): the first keeps only the `/confirm` answers, the second hands each entry over as
    /// soon as it is read. Memory follows the largest entry and the number of `/confirm` answers, not the capture.
    func forEachRequest(
        _ path: String, data: Data, _ body: (Result<CapturedRequest, InputProblem>) -> Void
    ) throws(InputError) {
        guard data.count <= Self.maximumBytes else {
            throw InputError(
                .tooLarge, subject: path, "capture is \(data.count) bytes, over the limit of \(Self.maximumBytes)")
        }
        func parse(_ slice: UnsafeBufferPointer<UInt8>) -> JSONValue? {
            try? JSONParser(maximumDepth: 128, invalidUTF8: .replace).parse(slice)
        }
        // Pass 1: the /confirm answers, by time.
        var confirmations: [Confirmation] = []
        var number = 0
        _ = data.withUnsafeBytes { raw -> Result<Void, HAREntryScanner.Failure> in
            do throws(HAREntryScanner.Failure) {
                try HAREntryScanner(bytes: raw.bindMemory(to: UInt8.self)).forEachEntry { slice in
                    number += 1
                    guard slice.count <= Self.maximumEntryBytes, let entry = parse(slice),
                        let confirmation = confirmation(of: entry, number: number, place: "entry \(number)")
                    else { return }
                    confirmations.append(confirmation)
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        confirmations.sort { ($0.time, $0.entry) < ($1.time, $1.entry) }
        // Pass 2: every entry, handed over at once.
        number = 0
        let scanned = data.withUnsafeBytes { raw -> Result<Void, HAREntryScanner.Failure> in
            do throws(HAREntryScanner.Failure) {
                try HAREntryScanner(bytes: raw.bindMemory(to: UInt8.self)).forEachEntry { slice in
                    number += 1
                    let location = SourceLocation(file: path, unit: .entry, number: number)
                    guard slice.count <= Self.maximumEntryBytes else {
                        body(
                            .failure(
                                InputProblem(
                                    location: location,
                                    message:
                                        "entry is \(slice.count >> 20) MB, over the \(Self.maximumEntryBytes >> 20) MB "
                                        + "an SKM call could take; skipped")))
                        return
                    }
                    let entry: JSONValue
                    do {
                        entry = try JSONParser(maximumDepth: 128, invalidUTF8: .replace).parse(slice)
                    } catch {
                        body(.failure(InputProblem(location: location, message: "entry is not JSON: \(error)")))
                        return
                    }
                    switch record(of: entry, index: number) {
                    case .success(let timed):
                        body(.success(captured(timed, location: location, confirmations: confirmations)))
                    case .failure(let problem):
                        body(.failure(InputProblem(location: location, message: problem.message)))
                    }
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        switch scanned {
        case .success: break
        case .failure(.noEntries): throw InputError(.notACapture, subject: path, "not a HAR capture: no log.entries")
        case .failure(.notJSON(let why)):
            guard number > 0 else { throw InputError(.notACapture, subject: path, "not JSON: \(why)") }
            // The entries before the damage were handed over; the damage is reported after them.
            body(
                .failure(
                    InputProblem(
                        location: SourceLocation(file: path, unit: .entry, number: number + 1),
                        message: "the capture is damaged here: \(why)", damage: true)))
        }
    }

    /// What a successful `GET …/confirm` answer says the server observed; `nil` for any other entry.
    func confirmation(of entry: JSONValue, number: Int, place: String) -> Confirmation? {
        guard case .success(let timed) = record(of: entry, index: number),
            timed.record.operation == APIOperation.confirm.rawValue,
            timed.record.response.isSuccessful, let answer = Self.responseBody(entry["response"])
        else { return nil }
        let ip = answer["clientIp"]?.stringValue.flatMap { IPv4Address($0)?.description }
        let certificate = answer["clientSentCertificate"]?.boolValue ?? answer["clientSentCerfificate"]?.boolValue
        var confirmation = Confirmation(
            entry: number, place: place, time: timed.record.time, clientIP: ip, sentCertificate: certificate)
        if let seen = answer["clientMacHeader"] {
            let saw = seen.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            let sent = timed.record.client.macHeader.flatMap { $0.isEmpty ? nil : $0 }
            if saw != sent { confirmation.macChanged = (sent, saw) }
        }
        return confirmation
    }

    /// The `/confirm` answer nearest in time to `time`, within the window; `sorted` is ordered by time.
    static func nearest(to time: Date, in sorted: [Confirmation]) -> Confirmation? {
        guard !sorted.isEmpty else { return nil }
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle].time < time { low = middle + 1 } else { high = middle }
        }
        let candidates = [low - 1, low].filter { $0 >= 0 && $0 < sorted.count }.map { sorted[$0] }
        guard
            let best = candidates.min(by: {
                abs($0.time.timeIntervalSince(time)) < abs($1.time.timeIntervalSince(time))
            }),
            abs(best.time.timeIntervalSince(time)) <= confirmationWindow
        else { return nil }
        return best
    }

    /// One entry as a captured request: the client's address and certificate from the command line, else from the
    /// `/confirm` answer nearest in time.
    func captured(
        _ timed: TimedRecord, location: SourceLocation, confirmations: [Confirmation],
        certificateFromConfirmation: Bool = true
    ) -> CapturedRequest {
        var record = timed.record
        var captured = CapturedRequest(
            record: record, location: location, clientAddressKnown: clientIP != nil,
            certificateKnown: clientCertificate != nil || noClientCertificate, serverTimeKnown: timed.serverTime,
            clientTime: timed.clientTime)
        if timed.serverTime { captured.timeSpan = Self.dateHeaderSpan }
        // Addresses change: an answer counts for the requests within an hour of it.
        let nearest = Self.nearest(to: record.time, in: confirmations)
        if clientIP == nil, let nearest, let ip = nearest.clientIP {
            record.client.ip = ip
            record.client.peer = ip
            captured.clientAddressKnown = true
            captured.clientAddressSource =
                "the GET …/confirm answer of \(nearest.place) (\(Timestamp.rfc3339(nearest.time)))"
        }
        if let clientIP {
            captured.assumptions.append("--client-ip \(clientIP)")
            captured.clientAddressSource = "--client-ip"
            if let nearest, let seen = nearest.clientIP, seen != IPv4Address(clientIP)?.description {
                captured.contradictions.append(
                    "--client-ip says the server saw \(clientIP), but the capture's own GET …/confirm answer of "
                        + "\(nearest.place) (\(Timestamp.rfc3339(nearest.time))) says it saw \(seen)")
            }
        }
        if noClientCertificate {
            captured.assumptions.append("--client-cert none")
            if let nearest, nearest.sentCertificate == true {
                captured.contradictions.append(
                    "--client-cert none says the client presented no certificate, but the capture's own GET …/confirm "
                        + "answer of \(nearest.place) says it sent one")
            }
        } else if clientCertificate != nil {
            captured.assumptions.append("--client-cert")
            if let nearest, nearest.sentCertificate == false {
                captured.contradictions.append(
                    "--client-cert gives a certificate, but the capture's own GET …/confirm answer of entry "
                        + "\(nearest.entry) says the client sent none")
            }
        }
        if let changed = nearest?.macChanged, let nearest {
            func shown(_ header: String?) -> String { header.map { "'\($0.prefix(64))'" } ?? "none" }
            captured.gaps[.macHeader] =
                "the capture's own GET …/confirm answer of \(nearest.place) says the key manager saw the "
                + "X-TOAST-CLIENT-MAC-ADDR header \(shown(changed.seen)) where that call sent \(shown(changed.sent)): "
                + "something between the client and the key manager changes it; the key manager's request log shows "
                + "what it saw"
        }
        if certificateFromConfirmation, !captured.certificateKnown, let nearest, nearest.sentCertificate == false {
            record.client.cert = .absent
            captured.certificateKnown = true
        }
        captured.record = record
        return captured
    }

    /// A record with where its times came from.
    struct TimedRecord {
        var record: RequestRecord
        /// Whether `record.time` is the server's (the response's `Date`).
        var serverTime: Bool
        /// The client's time (`startedDateTime`) when the server's is known too.
        var clientTime: Date?
    }

    static func responseBody(_ response: JSONValue?) -> JSONValue? {
        guard var text = response?["content"]?["text"]?.stringValue else { return nil }
        if response?["content"]?["encoding"]?.stringValue == "base64" {
            guard let decoded = Data(base64Encoded: text).flatMap({ String(data: $0, encoding: .utf8) }) else {
                return nil
            }
            text = decoded
        }
        return (try? JSONParser(invalidUTF8: .replace).parse(text))?["body"]
    }

    struct Problem: Error {
        var message: String
    }

    func record(of entry: JSONValue, index: Int, fallbackID: String? = nil) -> Result<TimedRecord, Problem> {
        guard let request = entry["request"], let response = entry["response"] else {
            return .failure(Problem(message: "entry has no request or response"))
        }
        guard let method = request["method"]?.stringValue?.uppercased(), let url = request["url"]?.stringValue,
            let components = URLComponents(string: url)
        else {
            return .failure(Problem(message: "request.method or request.url is missing or not a URL"))
        }
        guard let started = entry["startedDateTime"]?.stringValue.flatMap(Self.parseTime) else {
            return .failure(Problem(message: "startedDateTime is missing or not an ISO 8601 time"))
        }
        // The response's Date header is the server's clock (to the second); startedDateTime is the client's.
        var serverDate: Date?
        for header in response["headers"]?.arrayValue ?? [] where header["name"]?.stringValue?.lowercased() == "date" {
            serverDate = header["value"]?.stringValue.flatMap(Timestamp.parseHTTPDate)
        }
        var headers: [(String, String)] = []
        for header in request["headers"]?.arrayValue ?? [] {
            guard let name = header["name"]?.stringValue, let value = header["value"]?.stringValue else { continue }
            headers.append((name.lowercased(), value))
        }
        // A header given more than once reaches the key manager as one, its values joined (RFC 9110, 5.3).
        func header(_ name: String) -> String? {
            let values = headers.filter { $0.0 == name }.map(\.1)
            return values.isEmpty ? nil : values.joined(separator: ", ")
        }

        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] where query[item.name] == nil { query[item.name] = item.value ?? "" }

        let bodyText = request["postData"]?["text"]?.stringValue
        let bodyBytes = bodyText.map { $0.utf8.count }
        let credentials = Credentials(headers: { header($0.lowercased()) })
        var record = RequestRecord(
            time: serverDate ?? started, requestId: Self.requestID(response) ?? fallbackID ?? "har-\(index)",
            method: method,
            path: path, response: Self.response(response))
        record.clientDate = header("date").flatMap(Timestamp.parseHTTPDate)
        record.query = RequestRecord.loggedQuery(query)
        record.headerBytes = headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 }
        record.client = RequestRecord.Client(
            ip: clientIP, peer: clientIP, forwardedFor: header(HTTPField.Name.forwardedFor.canonicalName),
            macHeader: header(HTTPField.Name.clientMACAddress.canonicalName),
            tls: components.scheme?.lowercased() == "https",
            cert: clientCertificate.map { RequestRecord.CertificateObservation($0, issuer: authority) } ?? .absent)
        let timed = { (record: RequestRecord) in
            TimedRecord(record: record, serverTime: serverDate != nil, clientTime: serverDate == nil ? nil : started)
        }

        switch APIRoute.match(method: method, path: path) {
        case .api(let call):
            let parsed = APIRequest(
                operation: call.operation, apiVersion: call.apiVersion, appkey: call.appkey, keyId: call.keyId,
                keyStoreId: call.keyStoreId, authKind: call.authKind, resourceName: call.resourceName,
                body: Self.body(bodyText, form: false), query: query, credentials: credentials)
            record.describe(parsed, bodyBytes: bodyBytes)
        case .token:
            let parsed = APIRequest(
                operation: .createToken, apiVersion: .v1_3, appkey: "", body: Self.body(bodyText, form: true),
                credentials: Credentials(basicAuthorization: header(HTTPField.Name.authorization.canonicalName)))
            record.describe(parsed, bodyBytes: bodyBytes)
            record.apiVersion = nil
            record.appkey = nil
            return .success(timed(record))
        case .notFound(let version, let appkey):
            record.apiVersion = version?.rawValue
            record.appkey = appkey
            record.body = bodyBytes.map { RequestRecord.Body(bytes: $0, json: false) }
        case .health, .metrics:
            return .failure(Problem(message: "\(path) is not an SKM API call; skipped"))
        }
        return .success(timed(record))
    }

    static func body(_ text: String?, form: Bool) -> RequestBody {
        guard let text else { return .none }
        return .parse(Array(text.utf8), form: form)
    }

    /// The result, from the response envelope; a response without one is described by its HTTP status.
    static func response(_ response: JSONValue) -> RequestRecord.Response {
        let status = response["status"]?.intValue ?? 0
        var text = response["content"]?["text"]?.stringValue
        if response["content"]?["encoding"]?.stringValue == "base64", let encoded = text {
            text = Data(base64Encoded: encoded).flatMap { String(data: $0, encoding: .utf8) }
        }
        if let text, let envelope = try? JSONParser(invalidUTF8: .replace).parse(text),
            let header = envelope["header"], let code = header["resultCode"]?.intValue
        {
            let successful = header["isSuccessful"]?.boolValue ?? (code == 0)
            return RequestRecord.Response(
                httpStatus: status, resultCode: code,
                resultMessage: header["resultMessage"]?.stringValue ?? (successful ? "success" : ""),
                isSuccessful: successful, keyVersion: envelope["body"]?["keyVersion"]?.intValue)
        }
        let successful = (200..<300).contains(status)
        return RequestRecord.Response(
            httpStatus: status, resultCode: successful ? 0 : -1,
            resultMessage: successful ? "success" : "HTTP \(status) without an SKM envelope",
            isSuccessful: successful)
    }

    static func requestID(_ response: JSONValue) -> String? {
        for header in response["headers"]?.arrayValue ?? []
        where header["name"]?.stringValue?.lowercased() == HTTPField.Name.requestID.canonicalName {
            return header["value"]?.stringValue
        }
        return nil
    }

    /// HAR times are ISO 8601 with a zone offset and often milliseconds.
    static func parseTime(_ text: String) -> Date? {
        if let date = Timestamp.parse(text) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
