import Foundation
import SKMCore
import SKMWire

/// Where an input item came from: a line of a request log, or an entry of a HAR capture.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public enum Unit: String, Sendable, Hashable {
        case line
        case entry
    }

    public var file: String
    public var unit: Unit
    /// 1-based.
    public var number: Int

    public init(file: String, unit: Unit = .line, number: Int) {
        self.file = file
        self.unit = unit
        self.number = number
    }

    /// `requests.jsonl:17` or `capture.har: entry 3`.
    public var description: String {
        unit == .line ? "\(file):\(number)" : "\(file): entry \(number)"
    }
}

/// One request as a capture recorded it, with what the capture could not observe.
public struct CapturedRequest: Sendable {
    public var record: RequestRecord
    public var location: SourceLocation
    /// A client-side capture (HAR) does not see the address the server saw; `false` until given on the command line.
    public var clientAddressKnown: Bool
    /// Nor the client certificate the TLS layer presented.
    public var certificateKnown: Bool
    /// Whether `record.time` is the server's clock (a request log, or a capture with the response's `Date`); a
    /// client-side capture without it has only the client's clock.
    public var serverTimeKnown: Bool
    /// The client's clock when it sent the request, when a capture holds it besides the server's time.
    public var clientTime: Date?
    /// Where the client's address came from when it is not the server's own log ("the /confirm answer of entry 3").
    public var clientAddressSource: String?
    /// What the command line asserted about the client instead of the capture (`--client-ip 10.0.3.7`).
    public var assumptions: [String] = []
    /// Where the capture itself contradicts what the command line asserted (a `/confirm` answer that saw another
    /// address than `--client-ip`, or a certificate where `--client-cert none` says there was none): a verdict
    /// resting on the assertion cannot be confirmed.
    public var contradictions: [String] = []

    public init(
        record: RequestRecord, location: SourceLocation, clientAddressKnown: Bool = true, certificateKnown: Bool = true,
        serverTimeKnown: Bool = true, clientTime: Date? = nil, clientAddressSource: String? = nil
    ) {
        self.record = record
        self.location = location
        self.clientAddressKnown = clientAddressKnown
        self.certificateKnown = certificateKnown
        self.serverTimeKnown = serverTimeKnown
        self.clientTime = clientTime
        self.clientAddressSource = clientAddressSource
    }
}

/// A successful request, read without decoding the whole line: enough to count successes per key and to filter.
public struct SuccessObservation: Sendable {
    public var time: Date?
    public var appkey: String?
    public var keyId: String?
    public var operation: String?

    public init(time: Date?, appkey: String?, keyId: String?, operation: String?) {
        self.time = time
        self.appkey = appkey
        self.keyId = keyId
        self.operation = operation
    }
}

/// An input line or entry that could not be read, and why. The rest of the input is still analysed.
public struct InputProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// The input itself is damaged here (a truncated file): what follows could not be read, so the analysis is
    /// incomplete, which the command line's exit status says.
    public var damage: Bool

    public init(location: SourceLocation, message: String, damage: Bool = false) {
        self.location = location
        self.message = message
        self.damage = damage
    }

    public var description: String { "\(location): \(message)" }
}

/// What a reader hands over, item by item.
public enum CaptureItem: Sendable {
    /// A request to diagnose (a failure), or a success read in full because the fast path could not read it.
    case request(CapturedRequest)
    case success(SuccessObservation)
    case problem(InputProblem)
}

/// An input that cannot be read at all (missing file, unreadable, not a capture).
public struct InputError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
