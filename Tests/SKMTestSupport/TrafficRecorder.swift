import Foundation
import SKMCore
import SKMPrimitives
import SKMWire
import X509

/// One HTTP request as a client sends it.
package struct HTTPCall: Sendable {
    package var method: String
    package var path: String
    package var query: [String: String]
    package var headers: [(String, String)]
    package var body: String?

    package init(
        _ method: String, _ path: String, query: [String: String] = [:], headers: [(String, String)] = [],
        body: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    package func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// A JSON body from members.
    package static func json(_ members: [(String, JSONValue)]) -> String {
        var object = JSONObject()
        for (key, value) in members { object[key] = value }
        return JSONWriter().string(.object(object))
    }
}

/// Drives an engine with HTTP-shaped requests exactly as `skm serve` would (routing, body and credential parsing,
/// the request-log record) and keeps what a capture would hold: the request log's lines and a HAR document.
package final class TrafficRecorder: @unchecked Sendable {
    package let engine: Engine
    package let clock: ManualClock
    package let host: String
    /// How far the client's clock is off the server's: a HAR capture's times are the client's.
    package var clientClockOffset: TimeInterval = 0
    /// Clients whose requests a client-side capture leaves out: a HAR is captured on one client's side.
    package var harExcludedClients: Set<String> = []
    package private(set) var records: [RequestRecord] = []
    /// What decided each refusal, in the order of `records` (`nil` for a success): what the engine knows and the
    /// log does not record.
    package private(set) var decisions: [DecisionCheck?] = []
    package private(set) var harEntries: [JSONValue] = []
    private var counter = 0
    private let lock = NSLock()

    /// The server's limits on the size of a request's headers and body.
    package static let maximumHeaderBytes = 16_384
    package static let maximumBodyBytes = 262_144

    package init(engine: Engine, clock: ManualClock, host: String = "skm.example.internal") {
        self.engine = engine
        self.clock = clock
        self.host = host
    }

    /// Sends `call` from `client`; returns the record and the response envelope.
    @discardableResult
    package func send(
        _ call: HTTPCall, from client: ClientIdentity
    ) async -> (record: RequestRecord, envelope: JSONValue) {
        let time = clock.now
        let requestID = lock.withLock {
            counter += 1
            return "req-\(String(counter).leftPadded(6))"
        }
        let headerBytes = call.headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 }
        let route = APIRoute.match(method: call.method, path: call.path)
        let bodyBytes = call.body.map { Array($0.utf8) } ?? []
        var request: APIRequest?
        let headersTooLarge = headerBytes > Self.maximumHeaderBytes
        switch headersTooLarge ? .notFound(apiVersion: nil, appkey: nil) : route {
        case .api(let api):
            request = APIRequest(
                operation: api.operation, apiVersion: api.apiVersion, appkey: api.appkey, keyId: api.keyId,
                keyStoreId: api.keyStoreId, authKind: api.authKind, resourceName: api.resourceName,
                body: bodyBytes.count > Self.maximumBodyBytes
                    ? .oversized(Self.maximumBodyBytes) : .parse(bodyBytes, form: false), query: call.query,
                credentials: Credentials(headers: { call.header($0) }))
        case .token:
            request = APIRequest(
                operation: .createToken, apiVersion: .v1_3, appkey: "", body: .parse(bodyBytes, form: true),
                credentials: Credentials(basicAuthorization: call.header("Authorization")))
        default:
            request = nil
        }
        let outcome: Outcome
        if let request {
            outcome = await engine.execute(request, from: client)
        } else if headersTooLarge {
            outcome = .failure(.headersTooLarge(headerBytes, limit: Self.maximumHeaderBytes))
        } else {
            outcome = .failure(.unrouted(method: call.method, path: call.path))
        }
        let record: RequestRecord
        if let request {
            record = RequestRecord(
                request: request, client: client, outcome: outcome, authority: engine.authority, time: time,
                requestId: requestID, method: call.method, path: call.path, durationMs: 1.25,
                bodyBytes: call.body == nil ? nil : bodyBytes.count, headerBytes: headerBytes,
                token: request.credentials.bearerToken.flatMap(engine.inspectToken),
                clientDate: call.header("Date").flatMap(Timestamp.parseHTTPDate),
                credentialsRequired: engine.credentialsRequirement(of: request))
        } else {
            record = RequestRecord(
                unrouted: headersTooLarge ? .notFound(apiVersion: nil, appkey: nil) : route, client: client,
                outcome: outcome, authority: engine.authority, time: time,
                requestId: requestID, method: call.method, path: call.path, durationMs: 1.25, headerBytes: headerBytes,
                clientDate: call.header("Date").flatMap(Timestamp.parseHTTPDate))
        }
        let envelope = outcome.envelope
        lock.withLock {
            records.append(record)
            decisions.append(outcome.rejection?.check)
            if !harExcludedClients.contains(client.peerAddress ?? "") {
                harEntries.append(
                    harEntry(call, time: time, requestID: requestID, outcome: outcome, envelope: envelope))
            }
        }
        return (record, envelope)
    }

    /// The request log, one JSON line per request.
    package var requestLog: Data {
        Data(records.flatMap(\.jsonLine))
    }

    /// A HAR 1.2 document of every request, as a browser or proxy on the client's side would capture it.
    package var har: Data {
        let document: JSONValue = [
            "log": [
                "version": "1.2",
                "creator": ["name": "skm fixture recorder", "version": "1"],
                "entries": .array(harEntries),
            ]
        ]
        var bytes = JSONWriter(indented: true).bytes(document)
        bytes.append(0x0A)
        return Data(bytes)
    }

    private func harEntry(
        _ call: HTTPCall, time: Date, requestID: String, outcome: Outcome, envelope: JSONValue
    ) -> JSONValue {
        var url = "https://\(host)\(call.path)"
        if !call.query.isEmpty {
            url += "?" + call.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        }
        var request: JSONObject = [
            "method": .string(call.method), "url": .string(url), "httpVersion": "HTTP/1.1",
            "headers": .array(
                ([("Host", host)] + call.headers).map { ["name": .string($0.0), "value": .string($0.1)] }),
            "queryString": .array(
                call.query.sorted { $0.key < $1.key }.map { ["name": .string($0.key), "value": .string($0.value)] }),
            "cookies": [], "headersSize": -1, "bodySize": .int(call.body?.utf8.count ?? 0),
        ]
        if let body = call.body {
            request["postData"] = ["mimeType": "application/json", "text": .string(body)]
        }
        let text = JSONWriter().string(envelope)
        let status = outcome.error?.httpStatus ?? 200
        return [
            "startedDateTime": .string(Timestamp.rfc3339(time.addingTimeInterval(clientClockOffset))), "time": 1.25,
            "request": .object(request),
            "response": [
                "status": .int(status), "statusText": .string(status == 200 ? "OK" : "Error"),
                "httpVersion": "HTTP/1.1",
                "headers": [
                    ["name": "Content-Type", "value": "application/json;charset=UTF-8"],
                    ["name": "Date", "value": .string(Timestamp.httpDate(time))],
                    ["name": "X-Request-Id", "value": .string(requestID)],
                ],
                "cookies": [],
                "content": ["size": .int(text.utf8.count), "mimeType": "application/json", "text": .string(text)],
                "redirectURL": "", "headersSize": -1, "bodySize": .int(text.utf8.count),
            ],
            "cache": [:], "timings": ["send": 0, "wait": 1.25, "receive": 0],
        ]
    }
}

extension String {
    func leftPadded(_ length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
