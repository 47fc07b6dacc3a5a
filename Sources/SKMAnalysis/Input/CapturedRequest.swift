import Foundation
import SKMCore
import SKMPrimitives
import SKMWire

/// Where an input item came from: a line of a request log, or an entry of a HAR capture.
package struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    package enum Unit: String, Sendable, Hashable {
        case line
        case entry
    }

    package var file: String
    package var unit: Unit
    /// 1-based.
    package var number: Int

    package init(file: String, unit: Unit = .line, number: Int) {
        self.file = file
        self.unit = unit
        self.number = number
    }

    /// `requests.jsonl:17` or `capture.har: entry 3`.
    package var description: String {
        unit == .line ? "\(file):\(number)" : "\(file): entry \(number)"
    }
}

/// One request as a capture recorded it, with what the capture could not observe.
package struct CapturedRequest: Sendable {
    package var record: RequestRecord
    package var location: SourceLocation
    /// A client-side capture (HAR) does not see the address the server saw; `false` until given on the command line.
    package var clientAddressKnown: Bool
    /// Nor the client certificate the TLS layer presented.
    package var certificateKnown: Bool
    /// Whether `record.time` is the server's clock (a request log, or a capture with the response's `Date`); a
    /// client-side capture without it has only the client's clock.
    package var serverTimeKnown: Bool
    /// The client's clock when it sent the request, when a capture holds it besides the server's time.
    package var clientTime: Date?
    /// Where the client's address came from when it is not the server's own log ("the /confirm answer of entry 3").
    package var clientAddressSource: String?
    /// What the command line asserted about the client instead of the capture (`--client-ip 10.0.3.7`).
    package var assumptions: [String] = []
    /// Where the capture itself contradicts what the command line asserted (a `/confirm` answer that saw another
    /// address than `--client-ip`, or a certificate where `--client-cert none` says there was none): a verdict
    /// resting on the assertion cannot be confirmed.
    package var contradictions: [String] = []
    /// The shape of the log line the request was read from (``LineShapes``): requests of one shape differ only in
    /// their time, id and duration. `nil` when it was read in full from a line of no kept shape.
    package var shape: Int?

    package init(
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
package struct SuccessObservation: Sendable {
    package var time: Date?
    package var appkey: String?
    package var keyId: String?
    package var operation: String?

    package init(time: Date?, appkey: String?, keyId: String?, operation: String?) {
        self.time = time
        self.appkey = appkey
        self.keyId = keyId
        self.operation = operation
    }
}

/// An input line or entry that could not be read, and why. The rest of the input is still analysed.
/// A value, not an error that is thrown: it is an `Error` only to be the failure of a reader's `Result`.
package struct InputProblem: Error, Sendable, Hashable, CustomStringConvertible {
    package var location: SourceLocation
    package var message: String
    /// The input itself is damaged here (a truncated file): what follows could not be read, so the analysis is
    /// incomplete, which the command line's exit status says.
    package var damage: Bool

    package init(location: SourceLocation, message: String, damage: Bool = false) {
        self.location = location
        self.message = message
        self.damage = damage
    }

    package var description: String { "\(location): \(message)" }
}

/// What a reader hands over, item by item.
package enum CaptureItem: Sendable {
    /// A request to diagnose (a failure), or a success read in full because the fast path could not read it.
    case request(CapturedRequest)
    case success(SuccessObservation)
    case problem(InputProblem)
}

/// An input that cannot be read at all (missing file, unreadable, not a capture); its subject is the input as it was
/// given (`<stdin>` for standard input).
package typealias InputError = CodedFailure<InputErrorCode>

package enum InputErrorCode: String, ErrorCode {
    /// No such file.
    case missing
    /// It exists but cannot be opened or read (a directory, no permission, an I/O error).
    case unreadable
    /// Over the size a capture of this format may have.
    case tooLarge
    /// Not a capture of any format SKM reads.
    case notACapture
}
