import Foundation
import SKMCore
import SKMPrimitives
import SKMWire

/// Reads a line of the JSON access log of a reverse proxy in front of the key manager: nginx's
/// (`log_format … escape=json`) or Envoy's (`json_format`), one object a line, with the fields docs/analysis.md maps.
///
/// A proxy sees the call from outside: the method, the path, the HTTP status, when and from where. It never holds
/// the key manager's result code (only the answer's body has it), the request's body or its credentials, and what it
/// logs of the client (its address, its certificate, a header) is what reached the proxy, not what the key manager
/// checked. Those are ``CaptureGap``s, each with what would supply it, so a failure read from an access log is never
/// confirmed: it is grouped, replayed against the state and left for the key manager's own log to settle.
package struct AccessLogReader: Sendable {
    package enum Flavour: String, Sendable {
        case nginx
        case envoy
    }

    /// What the command line gives about the client (`--client-ip`, `--client-cert`).
    package var assumptions: HARReader

    package init(assumptions: HARReader = HARReader()) {
        self.assumptions = assumptions
    }

    /// The proxy whose access log a parsed line is from, or `nil` when it is not an access log's line (the key
    /// manager's own request log has a `response` object; an access log has `status` or `response_code`).
    package static func flavour(of line: JSONValue) -> Flavour? {
        guard case .object(let object) = line, object["response"] == nil else { return nil }
        if object["response_code"] != nil || object["start_time"] != nil { return .envoy }
        // A line without its status is still nginx's, to be refused for lacking it.
        if object["status"] != nil || object["request_method"] != nil,
            object["request_uri"] != nil || object["request"] != nil || object["uri"] != nil
        {
            return .nginx
        }
        return nil
    }

    /// The item a line of an access log holds: a success counted, a failure to diagnose, or why it cannot be read;
    /// `nil` for a call that is not to the API (a health check, the metrics), which a proxy logs as often as any.
    package func item(_ line: JSONValue, flavour: Flavour, location: SourceLocation, full: Bool = false) -> CaptureItem?
    {
        guard case .object(let object) = line else {
            return .problem(InputProblem(location: location, message: "not a JSON object"))
        }
        let fields = Fields(object: object, flavour: flavour)
        switch fields.entry(line: location.number) {
        case .failure(let problem):
            return .problem(InputProblem(location: location, message: problem.message))
        case .success(let entry):
            if let path = fields.call?.target.split(separator: "?").first, ["/health", "/metrics"].contains(path) {
                return nil
            }
            let timed: HARReader.TimedRecord
            switch assumptions.record(of: entry, index: location.number, fallbackID: "line-\(location.number)") {
            case .success(let record): timed = record
            case .failure(let problem): return .problem(InputProblem(location: location, message: problem.message))
            }
            var record = timed.record
            record.durationMs = fields.durationMs ?? 0
            if record.response.isSuccessful, !full {
                return .success(
                    SuccessObservation(
                        time: record.time, appkey: record.appkey, keyId: record.keyId, operation: record.operation))
            }
            var request = assumptions.captured(
                HARReader.TimedRecord(record: record, serverTime: false), location: location, confirmations: [])
            request.gaps = fields.gaps(status: record.response.httpStatus, requestID: fields.requestID)
            request.record.response.resultMessage = HARReader.uncaptured(record.response.httpStatus)
            return .request(request)
        }
    }

    /// A line's members under the names each proxy's documented format gives them.
    struct Fields {
        let object: JSONObject
        let flavour: Flavour

        /// The first of `keys` with a value: a missing value is `null`, `""` or `-` in both proxies' logs.
        func text(_ keys: String...) -> String? {
            for key in keys {
                switch object[key] {
                case .string(let value) where !value.isEmpty && value != "-": return value
                case .int(let value): return String(value)
                case .double(let value): return String(value)
                default: continue
                }
            }
            return nil
        }

        /// The first of `keys` with a finite number (a JSON number, or a string of one).
        func number(_ keys: String...) -> Double? {
            for key in keys {
                let value: Double?
                switch object[key] {
                case .int(let number): value = Double(number)
                case .double(let number): value = number
                case .string(let text): value = Double(text)
                default: value = nil
                }
                if let value, value.isFinite { return value }
            }
            return nil
        }

        /// A time no earlier than 1970 and no later than 9999, as logs hold.
        static func plausible(_ date: Date?) -> Date? {
            guard let date, (0...253_402_300_799).contains(date.timeIntervalSince1970) else { return nil }
            return date
        }

        /// Whether the format records a member at all (its value may say it was absent).
        func records(_ key: String) -> Bool { object[key] != nil }

        var requestID: String? {
            text("skm_request_id", "upstream_http_x_request_id", "sent_http_x_request_id")
        }

        /// The duration in milliseconds, when it is one (from 0 to a day).
        var durationMs: Double? {
            let value: Double?
            switch flavour {
            case .nginx: value = number("request_time").map { $0 * 1000 }
            case .envoy: value = number("duration")
            }
            guard let value, (0...86_400_000).contains(value) else { return nil }
            return value
        }

        var macKey: String {
            flavour == .nginx ? "http_x_toast_client_mac_addr" : "x_toast_client_mac_addr"
        }

        /// When the request arrived: Envoy logs it; nginx logs when the answer was sent, less its duration.
        var start: Date? {
            switch flavour {
            case .envoy:
                return Self.plausible(text("start_time").flatMap(HARReader.parseTime))
            case .nginx:
                let duration = (durationMs ?? 0) / 1000
                if let msec = number("msec") {
                    // Whole milliseconds, as nginx writes both.
                    return Self.plausible(Date(timeIntervalSince1970: ((msec - duration) * 1000).rounded() / 1000))
                }
                if let end = text("time_iso8601", "time", "timestamp", "@timestamp").flatMap(HARReader.parseTime) {
                    return Self.plausible(end.addingTimeInterval(-duration))
                }
                return Self.plausible(
                    text("time_local").flatMap(Self.parseLocalTime).map { $0.addingTimeInterval(-duration) })
            }
        }

        /// nginx's `$time_local`: `01/Dec/2026:09:30:42 +0000`.
        static func parseLocalTime(_ text: String) -> Date? {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
            return formatter.date(from: text)
        }

        /// The method and the target (path and query) as the proxy received them.
        var call: (method: String, target: String)? {
            switch flavour {
            case .envoy:
                guard let method = text("method"), let path = text("path", "x_envoy_original_path") else {
                    return nil
                }
                return (method, path)
            case .nginx:
                if let method = text("request_method", "method"), let target = text("request_uri") {
                    return (method, target)
                }
                if let method = text("request_method", "method"), let uri = text("uri") {
                    return (method, uri + (text("args", "query_string").map { "?" + $0 } ?? ""))
                }
                let parts = text("request")?.split(separator: " ") ?? []
                guard parts.count == 3 else { return nil }
                return (String(parts[0]), String(parts[1]))
            }
        }

        /// The address the proxy saw the call come from (Envoy logs it with its port).
        var proxyAddress: String? {
            switch flavour {
            case .nginx: return text("remote_addr")
            case .envoy:
                guard let address = text("downstream_remote_address", "downstream_direct_remote_address") else {
                    return nil
                }
                if let colon = address.lastIndex(of: ":"), IPv4Address(String(address[..<colon])) != nil {
                    return String(address[..<colon])
                }
                return address
            }
        }

        /// The HAR entry the line describes.
        func entry(line: Int) -> Result<JSONValue, HARReader.Problem> {
            let statusKey = flavour == .nginx ? "status" : "response_code"
            guard let call else {
                return .failure(
                    HARReader.Problem(
                        message:
                            flavour == .nginx
                            ? "no request_method and request_uri (nor request): not a call nginx logged; skipped"
                            : "no method and path: not a call Envoy logged; skipped"))
            }
            guard let value = number(statusKey) else {
                return .failure(
                    HARReader.Problem(
                        message: "no \(statusKey): the line does not say how the call was answered; skipped"))
            }
            guard let status = Int(exactly: value), status == 0 || (100...599).contains(status) else {
                return .failure(HARReader.Problem(message: "\(statusKey) is not an HTTP status; skipped"))
            }
            guard status > 0 else {
                return .failure(
                    HARReader.Problem(
                        message:
                            "\(statusKey) is 0: the proxy sent no answer (the client or the key manager went away"
                            + (text("response_flags").map { ", response flags \($0.prefix(32))" } ?? "") + "); skipped")
                )
            }
            guard let start else {
                return .failure(
                    HARReader.Problem(
                        message: (flavour == .nginx ? "no msec, time_iso8601 or time_local" : "no start_time")
                            + " from 1970 to 9999: the line does not say when the call was made; skipped"))
            }
            // A proxy that serves the key manager under a prefix (location /skm/ { proxy_pass …/; }) strips it.
            var target = call.target
            if !target.hasPrefix("/keymanager/"), let range = target.range(of: "/keymanager/") {
                target = String(target[range.lowerBound...])
            }
            var headers: [JSONValue] = []
            if let mac = text(macKey) { headers.append(["name": "X-TOAST-CLIENT-MAC-ADDR", "value": .string(mac)]) }
            if let forwarded = text("http_x_forwarded_for", "x_forwarded_for") {
                headers.append(["name": "X-Forwarded-For", "value": .string(forwarded)])
            }
            let scheme = text("scheme")?.lowercased() == "https" ? "https" : "http"
            var answerHeaders: [JSONValue] = []
            if let requestID { answerHeaders.append(["name": "X-Request-Id", "value": .string(requestID)]) }
            let entry: JSONValue = [
                "startedDateTime": .string(Timestamp.rfc3339(start)),
                "request": [
                    "method": .string(call.method.uppercased()), "url": .string("\(scheme)://proxy\(target)"),
                    "headers": .array(headers),
                ],
                "response": ["status": .int(status), "headers": .array(answerHeaders)],
            ]
            return .success(entry)
        }

        /// What the line cannot show, with what would supply it.
        func gaps(status: Int, requestID: String?) -> [CaptureGap: String] {
            let proxy = flavour == .nginx ? "nginx" : "Envoy"
            let inLog =
                requestID == nil
                ? "the key manager's request log at this time (log the request id to find its line: "
                    + (flavour == .nginx
                        ? "\"upstream_http_x_request_id\":\"$upstream_http_x_request_id\""
                        : "\"skm_request_id\":\"%RESP(X-REQUEST-ID)%\"") + ")"
                : "the key manager's request log (the line of this request's id)"
            var gaps: [CaptureGap: String] = [
                .resultCode: "\(proxy)'s access log holds the HTTP status (\(status)), not the key manager's result "
                    + "code, which only the answer's body carries: \(inLog) has it, as does a capture of the call "
                    + "(HAR, curl --trace-ascii)",
                .requestBody: "an access log holds no request body: \(inLog) describes it",
                .credentials: "an access log holds no credentials: \(inLog) records which were given",
                .serverTime: "\(proxy)'s access log holds the proxy's clock, not the key manager's: \(inLog) has it",
                .clientAddress: (proxyAddress.map { "the proxy saw the call come from \($0), but " } ?? "")
                    + "the key manager checks the address it sees, the proxy's own unless it trusts the proxy's "
                    + "X-Forwarded-For: give the address it checked with --client-ip, or read \(inLog)",
                .certificate: "\(proxy) ends the client's TLS, and its access log does not show what the key manager "
                    + "saw: give the certificate with --client-cert FILE (or --client-cert none), or read \(inLog)",
            ]
            if !records(macKey) {
                gaps[.macHeader] =
                    "this access log does not record the X-TOAST-CLIENT-MAC-ADDR header: add "
                    + (flavour == .nginx
                        ? "\"http_x_toast_client_mac_addr\":\"$http_x_toast_client_mac_addr\" to its log_format"
                        : "\"x_toast_client_mac_addr\":\"%REQ(X-TOAST-CLIENT-MAC-ADDR)%\" to its json_format")
                    + ", or read \(inLog)"
            }
            return gaps
        }
    }
}
