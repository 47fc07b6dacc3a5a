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
///
/// A request is copied into its finding, its group's examples and the shared diagnoses: its fields live in one box
/// that copies share until one of them changes, so a copy costs one reference, not one per string of its record.
package struct CapturedRequest: Sendable {
    private struct Fields {
        var record: RequestRecord
        var location: SourceLocation
        var clientAddressKnown: Bool
        var certificateKnown: Bool
        var serverTimeKnown: Bool
        var clientTime: Date?
        var clientAddressSource: String?
        var assumptions: [String] = []
        var contradictions: [String] = []
        var gaps: [CaptureGap: String] = [:]
        var timeSpan: TimeInterval = 0
        var shape: Int?
    }

    /// Mutated only through ``unique()``, when no other request refers to it.
    private final class Box: @unchecked Sendable {
        var fields: Fields

        init(_ fields: Fields) {
            self.fields = fields
        }
    }

    private var box: Box

    /// The box, copied first if another request shares it.
    private mutating func unique() -> Box {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        return box
    }

    package var record: RequestRecord {
        get { box.fields.record }
        _modify { yield &unique().fields.record }
    }
    package var location: SourceLocation {
        get { box.fields.location }
        _modify { yield &unique().fields.location }
    }
    /// A client-side capture (HAR) does not see the address the server saw; `false` until given on the command line.
    package var clientAddressKnown: Bool {
        get { box.fields.clientAddressKnown }
        set { unique().fields.clientAddressKnown = newValue }
    }
    /// Nor the client certificate the TLS layer presented.
    package var certificateKnown: Bool {
        get { box.fields.certificateKnown }
        set { unique().fields.certificateKnown = newValue }
    }
    /// Whether `record.time` is the server's clock (a request log, or a capture with the response's `Date`); a
    /// client-side capture without it has only the client's clock.
    package var serverTimeKnown: Bool {
        get { box.fields.serverTimeKnown }
        set { unique().fields.serverTimeKnown = newValue }
    }
    /// The client's clock when it sent the request, when a capture holds it besides the server's time.
    package var clientTime: Date? {
        get { box.fields.clientTime }
        set { unique().fields.clientTime = newValue }
    }
    /// Where the client's address came from when it is not the server's own log ("the /confirm answer of entry 3").
    package var clientAddressSource: String? {
        get { box.fields.clientAddressSource }
        set { unique().fields.clientAddressSource = newValue }
    }
    /// What the command line asserted about the client instead of the capture (`--client-ip 10.0.3.7`).
    package var assumptions: [String] {
        get { box.fields.assumptions }
        _modify { yield &unique().fields.assumptions }
    }
    /// Where the capture itself contradicts what the command line asserted (a `/confirm` answer that saw another
    /// address than `--client-ip`, or a certificate where `--client-cert none` says there was none): a verdict
    /// resting on the assertion cannot be confirmed.
    package var contradictions: [String] {
        get { box.fields.contradictions }
        _modify { yield &unique().fields.contradictions }
    }
    /// What the capture's kind cannot hold about the request, each with what would supply it: those facts are
    /// unknown. For ``CaptureGap/clientAddress``, ``CaptureGap/certificate`` and ``CaptureGap/serverTime`` the text
    /// says why when the matching `…Known` is false.
    package var gaps: [CaptureGap: String] {
        get { box.fields.gaps }
        _modify { yield &unique().fields.gaps }
    }
    /// How much later than `record.time` the request may have arrived: an answer's `Date` header counts whole
    /// seconds and may lag by one, so a request timed by one arrived within the two seconds after it.
    package var timeSpan: TimeInterval {
        get { box.fields.timeSpan }
        set { unique().fields.timeSpan = newValue }
    }
    /// The shape of the log line the request was read from (``LineShapes``): requests of one shape differ only in
    /// their time, id and duration. `nil` when it was read in full from a line of no kept shape.
    package var shape: Int? {
        get { box.fields.shape }
        set { unique().fields.shape = newValue }
    }

    package init(
        record: RequestRecord, location: SourceLocation, clientAddressKnown: Bool = true, certificateKnown: Bool = true,
        serverTimeKnown: Bool = true, clientTime: Date? = nil, clientAddressSource: String? = nil
    ) {
        box = Box(
            Fields(
                record: record, location: location, clientAddressKnown: clientAddressKnown,
                certificateKnown: certificateKnown, serverTimeKnown: serverTimeKnown, clientTime: clientTime,
                clientAddressSource: clientAddressSource))
    }
}

/// A successful request, read without decoding the whole line: enough to count successes per key and to filter.
package struct SuccessObservation: Sendable, Equatable {
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
