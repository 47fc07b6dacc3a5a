import Foundation

/// The runtime behaviour of functions and operators, dispatching on values. Unknowns and errors propagate, unknown
/// before error (as CEL merges them).
enum Operations {
    /// ``exceptional(_:)`` for two operands, without building an array when neither is exceptional.
    @inline(__always)
    static func exceptional(_ a: Value, _ b: Value) -> Value? {
        guard a.isExceptional || b.isExceptional else { return nil }
        let both: [Value] = [a, b]
        return exceptional(both)
    }

    /// String equality as CEL has it: code point by code point, without Unicode normalisation (Swift's `==` would
    /// call "é" and "e\u{301}" equal). Equal UTF-8 bytes are equal code points.
    static func sameCodePoints(_ x: String, _ y: String) -> Bool {
        let (a, b) = (unsafeBitCast(x, to: (UInt64, UInt64).self), unsafeBitCast(y, to: (UInt64, UInt64).self))
        // The same bits are the same string: a short text held in place, or the same storage.
        if a == b { return true }
        // Two short texts held in place (up to 15 bytes) are equal only with the same bits: the bytes in order, then
        // zeros, and a last byte made of the length and flags that follow from the bytes.
        if a.1 & b.1 & smallStringFlag != 0 { return false }
        guard x.utf8.count == y.utf8.count else { return false }
        let compared = x.utf8.withContiguousStorageIfAvailable { a in
            y.utf8.withContiguousStorageIfAvailable { b in
                a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
            }
        }
        if let compared, let result = compared { return result }
        return x.utf8.elementsEqual(y.utf8)
    }

    /// The bit of a string's second word that tells a short text held in place (the standard library's `isSmall`, on
    /// 64-bit platforms).
    private static let smallStringFlag: UInt64 = 0x2000_0000_0000_0000

    /// The first unknown (all unknowns merged) or else the first error among `values`; `nil` when all are values.
    static func exceptional(_ values: [Value]) -> Value? {
        var unknown: Unknown?
        var error: Value?
        for value in values {
            switch value {
            case .unknown(let found): unknown = unknown.map { $0.merged(with: found) } ?? found
            case .error: if error == nil { error = value }
            default: break
            }
        }
        if let unknown { return .unknown(unknown) }
        return error
    }

    static func noOverload(_ name: String, _ values: [Value]) -> Value {
        let shown = Library.operatorNames[name] ?? name
        return .error(
            EvaluationError(
                .noSuchOverload,
                "no such overload: \(shown) applied to (\(values.map(\.typeName).joined(separator: ", ")))")
        )
    }

    // MARK: - Equality and ordering

    static func equals(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.int(let x), .double(let y)): return Double(x) == y && Int64(exactly: y) == x
        case (.double(let x), .int(let y)): return x == Double(y) && Int64(exactly: x) == y
        case (.string(let x), .string(let y)): return sameCodePoints(x, y)
        case (.timestamp(let x), .timestamp(let y)): return x == y
        case (.duration(let x), .duration(let y)): return x == y
        case (.list(let x), .list(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equals($0, $1) }
        case (.map(let x), .map(let y)):
            guard x.count == y.count else { return false }
            for entry in x.entries {
                guard let other = y.value(for: entry.key), equals(entry.value, other) else { return false }
            }
            return true
        case (.object(let x), .object(let y)):
            guard x.type === y.type else { return false }
            return zip(x.fields, y.fields).allSatisfy { left, right in
                switch (left, right) {
                case (nil, nil): return true
                case (let l?, let r?): return equals(l, r)
                default: return false
                }
            }
        default: return false
        }
    }

    /// -1, 0, 1, or `nil` when the values are not ordered (different types, NaN).
    static func compare(_ a: Value, _ b: Value) -> Int? {
        func order<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        switch (a, b) {
        case (.int(let x), .int(let y)): return order(x, y)
        case (.double(let x), .double(let y)): return x.isNaN || y.isNaN ? nil : order(x, y)
        case (.int(let x), .double(let y)): return y.isNaN ? nil : order(Double(x), y)
        case (.double(let x), .int(let y)): return x.isNaN ? nil : order(x, Double(y))
        case (.string(let x), .string(let y)):
            // UTF-8 byte order is code-point order.
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x.utf8.elementsEqual(y.utf8) ? 0 : 1)
        case (.bool(let x), .bool(let y)): return order(x ? 1 : 0, y ? 1 : 0)
        case (.timestamp(let x), .timestamp(let y)): return order(x, y)
        case (.duration(let x), .duration(let y)): return order(x, y)
        default: return nil
        }
    }

    /// The comparison operators, decided when an expression is compiled rather than on every evaluation.
    enum Relation: String, Sendable {
        case equal = "_==_"
        case notEqual = "_!=_"
        case less = "_<_"
        case lessOrEqual = "_<=_"
        case greater = "_>_"
        case greaterOrEqual = "_>=_"
    }

    /// `relation` of two values of one plain type (strings, integers, timestamps), decided without copying them or
    /// making a value; `nil` for any other pair (absent, exceptional, mixed or other types), which
    /// ``relation(_:_:_:)-(Relation,_,_)`` decides.
    @inline(__always)
    static func holds(_ relation: Relation, _ a: Value?, _ b: Value?) -> Bool? {
        switch (a, b) {
        case (.string(let x)?, .string(let y)?): holds(relation, x, y)
        case (.int(let x)?, .int(let y)?): holds(relation, x, y)
        case (.timestamp(let x)?, .timestamp(let y)?): holds(relation, x, y)
        default: nil
        }
    }

    /// `relation` of two strings, as ``relation(_:_:_:)-(Relation,_,_)`` has it: equality code point by code point,
    /// order by UTF-8 bytes (code-point order).
    static func holds(_ relation: Relation, _ x: String, _ y: String) -> Bool {
        switch relation {
        case .equal: return sameCodePoints(x, y)
        case .notEqual: return !sameCodePoints(x, y)
        default:
            let order = x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x.utf8.elementsEqual(y.utf8) ? 0 : 1)
            return holds(relation, order: order)
        }
    }

    /// `relation` of two values of one ordered type whose equality is its order's (integers, timestamps).
    @inline(__always)
    static func holds<T: Comparable>(_ relation: Relation, _ x: T, _ y: T) -> Bool {
        holds(relation, order: x < y ? -1 : (x == y ? 0 : 1))
    }

    @inline(__always)
    static func holds(_ relation: Relation, order: Int) -> Bool {
        switch relation {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }

    static func relation(_ name: String, _ a: Value, _ b: Value) -> Value {
        guard let relation = Relation(rawValue: name) else { return noOverload(name, [a, b]) }
        return Self.relation(relation, a, b)
    }

    static func relation(_ relation: Relation, _ a: Value, _ b: Value) -> Value {
        if let exceptional = exceptional(a, b) { return exceptional }
        switch relation {
        case .equal: return .bool(equals(a, b))
        case .notEqual: return .bool(!equals(a, b))
        default: break
        }
        guard let order = compare(a, b) else {
            if case .double(let x) = a, x.isNaN { return .bool(false) }
            if case .double(let y) = b, y.isNaN { return .bool(false) }
            return noOverload(relation.rawValue, [a, b])
        }
        switch relation {
        case .less: return .bool(order < 0)
        case .lessOrEqual: return .bool(order <= 0)
        case .greater: return .bool(order > 0)
        default: return .bool(order >= 0)
        }
    }

    // MARK: - Arithmetic

    static func overflow() -> Value { .error(EvaluationError(.overflow, "return error for overflow")) }

    static func arithmetic(_ name: String, _ a: Value, _ b: Value) -> Value {
        if let exceptional = exceptional(a, b) { return exceptional }
        switch (name, a, b) {
        case ("_+_", .int(let x), .int(let y)):
            let (result, overflow) = x.addingReportingOverflow(y)
            return overflow ? self.overflow() : .int(result)
        case ("_-_", .int(let x), .int(let y)):
            let (result, overflow) = x.subtractingReportingOverflow(y)
            return overflow ? self.overflow() : .int(result)
        case ("_*_", .int(let x), .int(let y)):
            let (result, overflow) = x.multipliedReportingOverflow(by: y)
            return overflow ? self.overflow() : .int(result)
        case ("_/_", .int(let x), .int(let y)):
            if y == 0 { return .error(EvaluationError(.divisionByZero, "division by zero")) }
            let (result, overflow) = x.dividedReportingOverflow(by: y)
            return overflow ? self.overflow() : .int(result)
        case ("_%_", .int(let x), .int(let y)):
            if y == 0 { return .error(EvaluationError(.divisionByZero, "modulus by zero")) }
            let (result, overflow) = x.remainderReportingOverflow(dividingBy: y)
            return overflow ? self.overflow() : .int(result)
        case ("_+_", .double(let x), .double(let y)): return .double(x + y)
        case ("_-_", .double(let x), .double(let y)): return .double(x - y)
        case ("_*_", .double(let x), .double(let y)): return .double(x * y)
        case ("_/_", .double(let x), .double(let y)): return .double(x / y)
        case ("_+_", .string(let x), .string(let y)): return .string(x + y)
        case ("_+_", .list(let x), .list(let y)): return .list(x + y)
        case ("_+_", .timestamp(let t), .duration(let d)), ("_+_", .duration(let d), .timestamp(let t)):
            return add(t, d)
        case ("_-_", .timestamp(let t), .duration(let d)):
            return add(t, CELDuration(seconds: -d.seconds, nanos: -d.nanos))
        case ("_-_", .timestamp(let x), .timestamp(let y)):
            // CEL keeps a difference of times within what int64 nanoseconds can hold (about ±292 years).
            let seconds = x.seconds - y.seconds
            guard abs(seconds) < Int64.max / 1_000_000_000 else { return range() }
            return durationValue(seconds: seconds, nanos: Int64(x.nanos) - Int64(y.nanos))
        case ("_+_", .duration(let x), .duration(let y)):
            let (seconds, overflow) = x.seconds.addingReportingOverflow(y.seconds)
            return overflow ? range() : durationValue(seconds: seconds, nanos: Int64(x.nanos) + Int64(y.nanos))
        case ("_-_", .duration(let x), .duration(let y)):
            let (seconds, overflow) = x.seconds.subtractingReportingOverflow(y.seconds)
            return overflow ? range() : durationValue(seconds: seconds, nanos: Int64(x.nanos) - Int64(y.nanos))
        default:
            return noOverload(name, [a, b])
        }
    }

    static func range() -> Value { .error(EvaluationError(.outOfRange, "range")) }

    static func durationValue(seconds: Int64, nanos: Int64) -> Value {
        guard let duration = CELDuration.checked(seconds: seconds, nanos: nanos) else { return range() }
        return .duration(duration)
    }

    static func add(_ time: CELTime, _ duration: CELDuration) -> Value {
        var seconds = time.seconds + duration.seconds
        var nanos = Int64(time.nanos) + Int64(duration.nanos)
        if nanos >= 1_000_000_000 {
            seconds += 1
            nanos -= 1_000_000_000
        } else if nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        }
        guard let result = CELTime.checked(seconds: seconds, nanos: Int32(nanos)) else { return range() }
        return .timestamp(result)
    }

    static func negate(_ value: Value) -> Value {
        switch value {
        case .int(let x):
            return x == .min ? overflow() : .int(-x)
        case .double(let x): return .double(-x)
        case .duration(let d): return .duration(CELDuration(seconds: -d.seconds, nanos: -d.nanos))
        case .unknown, .error: return value
        default: return noOverload("-_", [value])
        }
    }

    // MARK: - Containers

    static func index(_ container: Value, _ key: Value) -> Value {
        if let exceptional = exceptional(container, key) { return exceptional }
        // The container first, then the key: a switch over the pair would copy both.
        switch container {
        case .list(let items):
            if case .int(let position) = key {
                guard position >= 0, position < items.count else {
                    return .error(EvaluationError(.outOfRange, "index out of range: \(position)"))
                }
                return items[Int(position)]
            }
            if case .double(let position) = key {
                guard let exact = Int64(exactly: position), exact >= 0, exact < items.count else {
                    return .error(EvaluationError(.invalidArgument, "invalid list index: \(position)"))
                }
                return items[Int(exact)]
            }
        case .map(let map):
            guard MapKey(key) != nil else {
                return .error(EvaluationError(.invalidArgument, "unsupported key type \(key.typeName)"))
            }
            return map.value(for: key) ?? .error(EvaluationError(.noSuchKey, "no such key: \(render(key))"))
        default:
            break
        }
        return noOverload("_[_]", [container, key])
    }

    static func contains(_ element: Value, _ container: Value) -> Value {
        if let exceptional = exceptional(element, container) { return exceptional }
        switch container {
        case .list(let items):
            // The items compared where they lie, not copied out one by one.
            return items.withUnsafeBufferPointer { items in
                var sawUnknown: Unknown?
                for index in items.indices {
                    if case .unknown(let unknown) = items[index] {
                        sawUnknown = sawUnknown.map { $0.merged(with: unknown) } ?? unknown
                        continue
                    }
                    if equals(element, items[index]) { return .bool(true) }
                }
                return sawUnknown.map(Value.unknown) ?? .bool(false)
            }
        case .map(let map): return .bool(map.value(for: element) != nil)
        default: return noOverload("@in", [element, container])
        }
    }

    /// How many Unicode scalars `text` holds: its UTF-8 bytes that do not continue a scalar, counted in one pass
    /// over its storage rather than by decoding every scalar.
    static func scalarCount(_ text: String) -> Int {
        text.utf8.withContiguousStorageIfAvailable { bytes in
            var count = 0
            for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
            return count
        } ?? text.unicodeScalars.count
    }

    static func size(_ value: Value) -> Value {
        switch value {
        case .string(let text): return .int(Int64(scalarCount(text)))
        case .list(let items): return .int(Int64(items.count))
        case .map(let map): return .int(Int64(map.count))
        case .unknown, .error: return value
        default: return noOverload("size", [value])
        }
    }

    /// `operand.field` on objects and maps. `readAbsent` is set when the field has no value: only then does the
    /// strict reading differ.
    static func select(_ operand: Value, _ field: String, strict: Bool, readAbsent: inout Bool) -> Value {
        switch operand {
        case .object(let object):
            guard let position = object.type.index(of: field) else {
                return .error(EvaluationError(.noSuchField, "no such field '\(field)' on \(object.type.name)"))
            }
            if let value = object.fields[position] { return value }
            readAbsent = true
            if strict { return .error(EvaluationError.absent(field, of: object.type.name)) }
            return defaultValue(object.type.fields[position].type)
        case .map(let map):
            return map.value(for: .string(field)) ?? .error(EvaluationError(.noSuchKey, "no such key: '\(field)'"))
        case .unknown, .error:
            return operand
        case .int:
            return .error(EvaluationError(.noSuchField, "type 'int64_type' does not support field selection"))
        default:
            return .error(EvaluationError(.noSuchField, "type '\(operand.typeName)' does not support field selection"))
        }
    }

    /// `has(operand.field)`.
    static func presence(_ operand: Value, _ field: String) -> Value {
        switch operand {
        case .object(let object):
            guard let position = object.type.index(of: field) else {
                return .error(EvaluationError(.noSuchField, "no such field '\(field)' on \(object.type.name)"))
            }
            switch object.fields[position] {
            case nil: return .bool(false)
            case .unknown(let unknown)?: return .unknown(unknown)
            default: return .bool(true)
            }
        case .map(let map): return .bool(map.value(for: .string(field)) != nil)
        case .unknown, .error: return operand
        default:
            return .error(EvaluationError(.noSuchField, "type '\(operand.typeName)' does not support field selection"))
        }
    }

    /// The value an absent field reads as (proto3's default values).
    static func defaultValue(_ type: CELType) -> Value {
        switch type {
        case .int: return .int(0)
        case .double: return .double(0)
        case .string: return .string("")
        case .bool: return .bool(false)
        case .timestamp: return .timestamp(CELTime(seconds: 0))
        case .duration: return .duration(CELDuration(seconds: 0))
        case .list: return .list([])
        case .map: return .map(MapValue())
        case .null, .object, .parameter: return .null
        }
    }

    // MARK: - Conversions

    static func convert(_ name: String, _ value: Value) -> Value {
        if case .unknown = value { return value }
        if case .error = value { return value }
        switch (name, value) {
        case ("int", .int): return value
        case ("int", .double(let number)):
            guard number.isFinite, number > -9.223372036854775808e18, number < 9.223372036854775808e18 else {
                return range()
            }
            return .int(Int64(number))
        case ("int", .string(let text)):
            guard let number = Int64(text) else {
                return .error(EvaluationError(.conversion, "cannot convert '\(text)' to int"))
            }
            return .int(number)
        case ("int", .timestamp(let time)): return .int(time.seconds)
        case ("double", .double): return value
        case ("double", .int(let number)): return .double(Double(number))
        case ("double", .string(let text)):
            guard !text.lowercased().hasPrefix("0x"), let number = Double(text) else {
                return .error(EvaluationError(.conversion, "cannot convert '\(text)' to double"))
            }
            return .double(number)
        case ("string", .string): return value
        case ("string", .int(let number)): return .string(String(number))
        case ("string", .double(let number)): return .string(format(number))
        case ("string", .bool(let flag)): return .string(flag ? "true" : "false")
        case ("string", .timestamp(let time)): return .string(time.rfc3339)
        case ("string", .duration(let duration)): return .string(duration.text)
        case ("timestamp", .timestamp): return value
        case ("timestamp", .string(let text)):
            guard let time = CELTime(rfc3339: text) else { return range() }
            return .timestamp(time)
        case ("timestamp", .int(let seconds)):
            guard let time = CELTime.checked(seconds: seconds, nanos: 0) else { return range() }
            return .timestamp(time)
        case ("duration", .duration): return value
        case ("duration", .string(let text)):
            guard let duration = CELDuration(text: text) else { return range() }
            return .duration(duration)
        default:
            return noOverload(name, [value])
        }
    }

    /// Doubles the way CEL writes them: shortest round-trip form, no exponent for ordinary magnitudes.
    static func format(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        if number == number.rounded(), abs(number) < 1e21 {
            let text = String(format: "%.0f", number)
            return number == 0 && number.sign == .minus ? "-0" : text
        }
        let text = "\(number)"
        if text.contains("e"), abs(number) >= 1e-6, abs(number) < 1e21 {
            var decimal = String(format: "%.17f", number)
            while decimal.hasSuffix("0") { decimal.removeLast() }
            // Keep the shortest representation that round-trips.
            for digits in 1...17 {
                let candidate = String(format: "%.\(digits)f", number)
                if Double(candidate) == number { return candidate }
            }
            return decimal
        }
        return text
    }

    // MARK: - Strings and SKM extensions

    static func render(_ value: Value) -> String {
        Format.text(value)
    }
}
