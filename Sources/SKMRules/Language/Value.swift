import Foundation
import SKMPrimitives

/// A runtime value of the condition language.
///
/// Besides CEL's values there are two outcomes that are not values: ``unknown`` (a fact the capture does not hold,
/// with what would settle it) and ``error`` (the expression failed, e.g. division by zero). `&&` and `||` absorb
/// both as CEL does.
package enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case list([Value])
    // The two large payloads are boxed, so that a value is two words and a tag: values are copied on every read.
    indirect case map(MapValue)
    case timestamp(CELTime)
    case duration(CELDuration)
    case object(ObjectValue)
    case unknown(Unknown)
    indirect case error(EvaluationError)

    package var isUnknown: Bool {
        if case .unknown = self { return true }
        return false
    }

    package var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// `unknown` or `error`: not a value to compute with.
    var isExceptional: Bool {
        switch self {
        case .unknown, .error: return true
        default: return false
        }
    }

    package var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var intValue: Int64? {
        if case .int(let number) = self { return number }
        return nil
    }

    /// The runtime type's name, for error messages.
    package var typeName: String {
        switch self {
        case .null: return "null_type"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .list: return "list"
        case .map: return "map"
        case .timestamp: return "timestamp"
        case .duration: return "duration"
        case .object(let object): return object.type.name
        case .unknown: return "unknown"
        case .error: return "error"
        }
    }
}

/// Facts the capture does not hold, with what would settle each.
package struct Unknown: Sendable, Hashable {
    /// Each entry: the fact (`request.client.ip`) and how to learn it (`give --client-ip`).
    package var facts: [Fact]

    package struct Fact: Sendable, Hashable {
        package var path: String
        package var settle: String

        package init(path: String, settle: String) {
            self.path = path
            self.settle = settle
        }
    }

    package init(_ facts: [Fact]) {
        self.facts = facts
    }

    package init(path: String, settle: String) {
        self.facts = [Fact(path: path, settle: settle)]
    }

    func merged(with other: Unknown) -> Unknown {
        var merged = facts
        for fact in other.facts where !merged.contains(fact) { merged.append(fact) }
        return Unknown(merged)
    }
}

/// Why evaluation failed. The reasons follow cel-go's, so that a rule author finds them in its documentation.
package struct EvaluationError: CodedError, Sendable {
    package enum Code: String, ErrorCode {
        /// A field read without a value under strict evaluation (``absentField`` names it).
        case absent
        case noSuchOverload, overflow, divisionByZero, outOfRange, invalidArgument, noSuchKey, noSuchField, conversion
        /// A name or function the program does not know.
        case unbound
        /// A construct SKM's condition language does not support.
        case unsupported
    }

    package var code: Code
    package var reason: String
    /// The field read without a value, under strict evaluation (`deletionAt` of a `Key`).
    package var absentField: String?
    package var file: String
    package var line: UInt

    package init(
        _ code: Code, _ reason: String, absentField: String? = nil, file: String = #fileID, line: UInt = #line
    ) {
        (self.code, self.reason, self.absentField, self.file, self.line) = (code, reason, absentField, file, line)
    }

    /// The error strict evaluation gives for reading `field` of `type` when it has no value.
    static func absent(_ field: String, of type: String, line: UInt = #line) -> EvaluationError {
        EvaluationError(.absent, "\(type).\(field) has no value", absentField: "\(type).\(field)", line: line)
    }
}

/// A map value: insertion-ordered entries with a key index. Keys are ints, strings or bools.
package struct MapValue: Sendable {
    package private(set) var entries: [(key: Value, value: Value)]
    private var index: [MapKey: Int]

    package init() {
        entries = []
        index = [:]
    }

    /// Builds a map; a repeated or unsupported key is an error.
    package init(_ pairs: [(Value, Value)]) throws(EvaluationError) {
        self.init()
        for (key, value) in pairs {
            guard let mapKey = MapKey(key) else {
                throw EvaluationError(.invalidArgument, "unsupported key type \(key.typeName)")
            }
            guard index[mapKey] == nil else { throw EvaluationError(.invalidArgument, "Failed with repeated key") }
            index[mapKey] = entries.count
            entries.append((key, value))
        }
    }

    package var count: Int { entries.count }

    package func value(for key: Value) -> Value? {
        guard let mapKey = MapKey(key), let position = index[mapKey] else { return nil }
        return entries[position].value
    }

    package var keys: [Value] { entries.map(\.key) }
}

/// A hashable map key. Numeric keys compare by value (`1` and `1.0` are the same key).
enum MapKey: Hashable {
    case int(Int64)
    case string(String)
    case bool(Bool)

    init?(_ value: Value) {
        switch value {
        case .int(let number): self = .int(number)
        case .string(let text): self = .string(text)
        case .bool(let flag): self = .bool(flag)
        case .double(let number):
            guard number.rounded() == number, let exact = Int64(exactly: number) else { return nil }
            self = .int(exact)
        default: return nil
        }
    }
}

/// A fact object: the values of the fields its type declares. A field may be absent (never set) or unknown.
package final class ObjectValue: Sendable {
    package let type: ObjectType
    /// One per declared field, in declaration order; `nil` when absent.
    package let fields: [Value?]

    package init(type: ObjectType, fields: [Value?]) {
        precondition(fields.count == type.fields.count)
        self.type = type
        self.fields = fields
    }

    /// An object of `type` built from named values. A name the type does not declare is a mistake in the code that
    /// builds the object; debug builds note it (``UndeclaredFields``) so that a test catches it, and it is dropped.
    package convenience init(type: ObjectType, values: [String: Value]) {
        self.init(type: type, fields: type.fields.map { values[$0.name] })
        #if DEBUG
            for name in values.keys where type.index(of: name) == nil { UndeclaredFields.note("\(type.name).\(name)") }
        #endif
    }

    package subscript(name: String) -> Value? {
        type.index(of: name).flatMap { fields[$0] }
    }
}

/// A point in time with nanosecond precision, years 0001 to 9999 (CEL's `google.protobuf.Timestamp`).
package struct CELTime: Sendable, Hashable, Comparable {
    package var seconds: Int64
    package var nanos: Int32

    package static let minimumSeconds: Int64 = -62_135_596_800  // 0001-01-01T00:00:00Z
    package static let maximumSeconds: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z

    package init(seconds: Int64, nanos: Int32 = 0) {
        self.seconds = seconds
        self.nanos = nanos
    }

    /// Checks the range; `nil` outside years 0001–9999.
    static func checked(seconds: Int64, nanos: Int32) -> CELTime? {
        guard seconds >= minimumSeconds, seconds <= maximumSeconds else { return nil }
        return CELTime(seconds: seconds, nanos: nanos)
    }

    package static func < (lhs: CELTime, rhs: CELTime) -> Bool {
        (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
    }
}

/// A signed span of time with nanosecond precision, up to about ±10000 years (CEL's `google.protobuf.Duration`).
package struct CELDuration: Sendable, Hashable, Comparable {
    package var seconds: Int64
    /// Same sign as `seconds` (or zero), magnitude below 10⁹.
    package var nanos: Int32

    package static let maximumSeconds: Int64 = 315_576_000_000

    package init(seconds: Int64, nanos: Int32 = 0) {
        self.seconds = seconds
        self.nanos = nanos
    }

    /// Normalises and checks the range; `nil` when out of range.
    static func checked(seconds: Int64, nanos: Int64) -> CELDuration? {
        var seconds = seconds
        var nanos = nanos
        seconds = seconds.addingReportingOverflow(nanos / 1_000_000_000).partialValue
        nanos %= 1_000_000_000
        if seconds > 0 && nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        } else if seconds < 0 && nanos > 0 {
            seconds += 1
            nanos -= 1_000_000_000
        }
        guard abs(seconds) <= maximumSeconds else { return nil }
        return CELDuration(seconds: seconds, nanos: Int32(nanos))
    }

    package static func < (lhs: CELDuration, rhs: CELDuration) -> Bool {
        (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
    }

    /// Seconds as a floating-point number.
    package var totalSeconds: Double { Double(seconds) + Double(nanos) / 1e9 }
}

/// The field names given to ``ObjectValue/init(type:values:)`` that their type does not declare (`Type.field`), as
/// debug builds note them: the schema and the code that builds facts must never drift apart.
package enum UndeclaredFields {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var names: Set<String> = []

    static func note(_ name: String) {
        lock.withLock { _ = names.insert(name) }
    }

    /// Every name noted so far in this process.
    package static var noted: Set<String> { lock.withLock { names } }
}
