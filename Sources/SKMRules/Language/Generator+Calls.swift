import Foundation
import SKMPrimitives

/// Calls: the operators (`_&&_`, `_+_`, comparisons, `in`, indexing) and the functions of the library.
extension Generator {
    mutating func generateCall(
        _ function: String, target: Expression?, arguments: [Expression], expression: Expression, scope: [String],
        record: Bool
    ) -> Evaluator {
        if function == "_+_", target == nil, arguments.count == 2,
            case .call("_+_", nil, let inner) = arguments[0].kind,
            inner.count == 2
        {
            return generateSum(expression, scope: scope, record: record)
        }
        if function == "_==_" || function == "_!=_", target == nil, arguments.count == 2,
            let literalIndex = arguments.firstIndex(where: {
                if case .literal(.string) = $0.kind { true } else { false }
            }),
            case .literal(.string(let literal)) = arguments[literalIndex].kind
        {
            // A comparison with a string literal: the other side compared in place, without evaluating the literal
            // or going through the general relation. A literal records no evidence, so the evidence is the same.
            let other = generate(arguments[1 - literalIndex], scope: scope, record: record)
            let relation = Operations.Relation(rawValue: function)!
            let negated = relation == .notEqual
            let literalValue = Value.string(literal)
            let literalFirst = literalIndex == 0
            let compared: @Sendable (inout Frame) -> Value = { frame in
                let value = other(&frame)
                if case .string(let text) = value { return .bool(Operations.sameCodePoints(text, literal) != negated) }
                return literalFirst
                    ? Operations.relation(relation, literalValue, value)
                    : Operations.relation(relation, value, literalValue)
            }
            // A string field of a fact or of a comprehension variable (`request.operation`, `e.status`) is compared
            // where it lies, without copying it out; anything else (absent, unknown, another type) as evaluated.
            guard !record, let field = inPlaceField(arguments[1 - literalIndex], scope: scope) else { return compared }
            return { frame in
                if let same = field.test(&frame, { Operations.sameCodePoints($0, literal) }) {
                    return .bool(same != negated)
                }
                return compared(&frame)
            }
        }
        if function == "@in", target == nil, arguments.count == 2, !record,
            let strings = constantStrings(arguments[1], scope: scope)
        {
            // Membership in a list of string literals (written out or a definition's): compared in place, without
            // evaluating the list or copying its elements. Evidence records the list, so only without it.
            let element = generate(arguments[0], scope: scope, record: false)
            let container = Self.constant(arguments[1]) ?? .list(strings.map(Value.string))
            let contained: @Sendable (inout Frame) -> Value = { frame in
                let value = element(&frame)
                guard case .string(let text) = value else { return Operations.contains(value, container) }
                return .bool(Self.listed(text, in: strings))
            }
            guard let field = inPlaceField(arguments[0], scope: scope) else { return contained }
            return { frame in
                if let found = field.test(&frame, { Self.listed($0, in: strings) }) { return .bool(found) }
                return contained(&frame)
            }
        }
        if function == "@in" || function == "_[_]", target == nil, arguments.count == 2, !record,
            let keys = constantStringMap(arguments[function == "@in" ? 1 : 0], scope: scope)
        {
            // A key looked up in a map of literals with string keys (written out or a definition's): found by a scan
            // of its keys (``NameTable``), without hashing it. Evidence records the map, so only without it.
            let contains = function == "@in"
            let key = generate(arguments[contains ? 0 : 1], scope: scope, record: false)
            let map = keys.map
            let table = keys.table
            let container = Value.map(map)
            return { frame in
                let value = key(&frame)
                guard case .string(let text) = value else {
                    return contains ? Operations.contains(value, container) : Operations.index(container, value)
                }
                guard let position = table[text] else {
                    // Not a key: false, or the general reading's error naming it.
                    return contains ? .bool(false) : Operations.index(container, value)
                }
                return contains ? .bool(true) : map.entries[position].value
            }
        }
        if let match = LiteralMatch(rawValue: function) {
            let all = (target.map { [$0] } ?? []) + arguments
            if all.count == 2, case .literal(.string(let literal)) = all[1].kind {
                return generateLiteralMatch(match, all[0], literal, scope: scope, record: record)
            }
        }
        let childRecord = record
        // Closures kept in a struct, not an array of closures: an array would hold them at the most general
        // abstraction and every call would go through two reabstraction thunks.
        var all: [Operand] = []
        if let target { all.append(Operand(generate(target, scope: scope, record: childRecord))) }
        for argument in arguments { all.append(Operand(generate(argument, scope: scope, record: childRecord))) }
        let operands = OperandList(all)

        switch (function, operands.count) {
        case ("_&&_", 2), ("_||_", 2):
            let decisive = function == "_||_"
            let left = operands[0]
            let right = operands[1]
            return { frame in
                let a = left(&frame)
                if case .bool(let flag) = a, flag == decisive { return .bool(decisive) }
                let b = right(&frame)
                if case .bool(let flag) = b, flag == decisive { return .bool(decisive) }
                if case .bool = a, case .bool = b { return .bool(!decisive) }
                if let exceptional = Operations.exceptional(a, b) { return exceptional }
                return Operations.noOverload(function, [a, b])
            }
        case ("!_", 1):
            let operand = operands[0]
            return { frame in
                let value = operand(&frame)
                if case .bool(let flag) = value { return .bool(!flag) }
                if value.isExceptional { return value }
                return Operations.noOverload("!_", [value])
            }
        case ("-_", 1):
            let operand = operands[0]
            return { frame in Operations.negate(operand(&frame)) }
        case ("_?_:_", 3):
            let condition = operands[0]
            let whenTrue = operands[1]
            let whenFalse = operands[2]
            return { frame in
                switch condition(&frame) {
                case .bool(true): return whenTrue(&frame)
                case .bool(false): return whenFalse(&frame)
                case let value where value.isExceptional: return value
                case let value: return Operations.noOverload("_?_:_", [value])
                }
            }
        case ("_==_", 2), ("_!=_", 2), ("_<_", 2), ("_<=_", 2), ("_>_", 2), ("_>=_", 2):
            let left = operands[0]
            let right = operands[1]
            let relation = Operations.Relation(rawValue: function)!
            // Without evidence, a field operand is read where it lies instead of copied out (the other operand runs
            // first: evaluation has no effect the order could change, only flags and the definitions it caches).
            // Only the payloads are taken out, and compared by functions that make and release nothing, so that the
            // optimiser leaves them where they lie; any other pair of values goes to the general relation.
            let fields =
                record
                ? (nil, nil) : (inPlaceField(arguments[0], scope: scope), inPlaceField(arguments[1], scope: scope))
            switch fields {
            case (let first?, let second?):
                return { frame in
                    if let a = first.holder(&frame), let b = second.holder(&frame),
                        let holds = a._withUnsafeGuaranteedRef({ a in
                            b._withUnsafeGuaranteedRef { b in
                                Operations.holds(relation, a.fields[first.position], b.fields[second.position])
                            }
                        })
                    {
                        return .bool(holds)
                    }
                    return Operations.relation(relation, left(&frame), right(&frame))
                }
            case (let field?, nil), (nil, let field?):
                // One side read in place, the other evaluated first; `fieldFirst` keeps the operands in their order.
                let fieldFirst = fields.0 != nil
                let other = fieldFirst ? right : left
                return { frame in
                    let value = other(&frame)
                    if let holder = field.holder(&frame),
                        let holds = holder._withUnsafeGuaranteedRef({
                            fieldFirst
                                ? Operations.holds(relation, $0.fields[field.position], value)
                                : Operations.holds(relation, value, $0.fields[field.position])
                        })
                    {
                        return .bool(holds)
                    }
                    return fieldFirst
                        ? Operations.relation(relation, left(&frame), value)
                        : Operations.relation(relation, value, right(&frame))
                }
            case (nil, nil):
                break
            }
            return { frame in Operations.relation(relation, left(&frame), right(&frame)) }
        case ("_+_", 2), ("_-_", 2), ("_*_", 2), ("_/_", 2), ("_%_", 2):
            let left = operands[0]
            let right = operands[1]
            return { frame in Operations.arithmetic(function, left(&frame), right(&frame)) }
        case ("@in", 2):
            let element = operands[0]
            let container = operands[1]
            return { frame in Operations.contains(element(&frame), container(&frame)) }
        case ("_[_]", 2):
            let container = operands[0]
            let key = operands[1]
            return { frame in Operations.index(container(&frame), key(&frame)) }
        case ("size", 1):
            let operand = operands[0]
            return { frame in Operations.size(operand(&frame)) }
        case ("int", 1), ("double", 1), ("string", 1), ("timestamp", 1), ("duration", 1):
            if case .literal(let literal) = arguments[0].kind {
                // `duration('168h')`: converted once here, not parsed again on every evaluation.
                let converted = Operations.convert(function, literal)
                return { _ in converted }
            }
            let operand = operands[0]
            return { frame in Operations.convert(function, operand(&frame)) }
        case ("matches", 2):
            var compiled: CompiledRegex?
            if case .literal(.string(let pattern)) = arguments.last?.kind {
                do {
                    compiled = try CompiledRegex(pattern)
                } catch {
                    problems.append(("invalid regular expression: \(error)", arguments.last!.span))
                }
            }
            let subject = operands[0]
            let pattern = operands[1]
            let literal = compiled
            return { frame in
                let text = subject(&frame)
                let patternValue = pattern(&frame)
                if let exceptional = Operations.exceptional(text, patternValue) { return exceptional }
                guard case .string(let string) = text, case .string(let source) = patternValue else {
                    return Operations.noOverload("matches", [text, patternValue])
                }
                if let literal { return .bool(literal.matches(string)) }
                guard let regex = try? CompiledRegex(source) else {
                    return .error(EvaluationError(.invalidArgument, "invalid regular expression '\(source)'"))
                }
                return .bool(regex.matches(string))
            }
        default:
            break
        }
        if let implementation = Self.stringFunctions[function], operands.count == implementation.arity {
            switch implementation {
            case .unary(let body):
                let operand = operands[0]
                return { frame in
                    let value = operand(&frame)
                    if value.isExceptional { return value }
                    return body(value) ?? Operations.noOverload(function, [value])
                }
            case .binary(let body):
                let first = operands[0]
                let second = operands[1]
                return { frame in
                    let a = first(&frame)
                    let b = second(&frame)
                    if let exceptional = Operations.exceptional(a, b) { return exceptional }
                    return body(a, b) ?? Operations.noOverload(function, [a, b])
                }
            }
        }
        let described = target == nil ? "\(function)()" : "receiver \(function)()"
        let each = operands.each
        return { frame in
            var values: [Value] = []
            each(&frame) { values.append($0) }
            if let exceptional = Operations.exceptional(values), Library.overloads[function] != nil {
                return exceptional
            }
            return .error(EvaluationError(.unbound, "unbound function \(described)"))
        }
    }

    /// `a + b + c + …` (a chain of `_+_` down its left side) as one call: every term evaluated in order, strings
    /// joined in one buffer, anything else added pairwise from the left as the nested calls would.
    private mutating func generateSum(_ expression: Expression, scope: [String], record: Bool) -> Evaluator {
        var terms: [Expression] = []
        var node = expression
        while case .call("_+_", nil, let arguments) = node.kind, arguments.count == 2 {
            terms.append(arguments[1])
            node = arguments[0]
        }
        terms.append(node)
        terms.reverse()
        let operands = OperandList(terms.map { Operand(generate($0, scope: scope, record: record)) })
        let count = operands.count
        let each = operands.each
        return { frame in
            // The terms' values on the stack: a template's sums run for every request.
            withUnsafeTemporaryAllocation(of: Value.self, capacity: count) { values in
                var length = 0
                var allStrings = true
                var filled = 0
                each(&frame) { value in
                    if case .string(let text) = value { length += text.utf8.count } else { allStrings = false }
                    (values.baseAddress! + filled).initialize(to: value)
                    filled += 1
                }
                defer { values.baseAddress!.deinitialize(count: filled) }
                guard allStrings else {
                    if let joined = Self.concatenated(UnsafeBufferPointer(rebasing: values[..<filled])) {
                        return joined
                    }
                    return values.dropFirst().reduce(values[0]) { Operations.arithmetic("_+_", $0, $1) }
                }
                // Written once, at its length: appending term by term costs String's growth checks per term.
                let joined = String(joiningValidUTF8: length) { output in
                    var written = 0
                    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
                        guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
                        (output.baseAddress! + written).initialize(from: start, count: bytes.count)
                        written += bytes.count
                    }
                    for case .string(let text) in values { text.withUTF8Bytes(write) }
                    return written
                }
                return .string(joined)
            }
        }
    }

    /// The terms of a sum joined into one list when every term is a list (`(a ? ['x'] : []) + (b ? ['y'] : [])`):
    /// the one list that is not empty as it is, else all of them in one allocation, where adding pairwise would
    /// make a list per term. `nil` when a term is not a list.
    private static func concatenated(_ terms: UnsafeBufferPointer<Value>) -> Value? {
        var count = 0
        var nonEmpty = 0
        var only = 0
        for (index, term) in terms.enumerated() {
            guard case .list(let items) = term else { return nil }
            if !items.isEmpty {
                count += items.count
                nonEmpty += 1
                only = index
            }
        }
        if nonEmpty <= 1 { return terms.isEmpty ? .list([]) : terms[only] }
        var joined: [Value] = []
        joined.reserveCapacity(count)
        for case .list(let items) in terms { joined.append(contentsOf: items) }
        return .list(joined)
    }

    /// `startsWith`, `endsWith` and `contains` with a string literal (`f.startsWith('description:')`).
    ///
    /// Compared as UTF-8 bytes: UTF-8 encodes no scalar inside another and every scalar starts with a byte no other
    /// position holds, so one text begins, ends or holds another byte for byte exactly when it does scalar for scalar,
    /// as CEL compares them. A comprehension variable or a field one selection from a fact or from one is read where
    /// it lies, without copying the text out; evaluated with evidence, the receiver is evaluated as every operand is.
    private mutating func generateLiteralMatch(
        _ match: LiteralMatch, _ receiver: Expression, _ literal: String, scope: [String], record: Bool
    ) -> Evaluator {
        let function = match.rawValue
        let part = Array(literal.utf8)
        let literalValue = Value.string(literal)
        let operand = generate(receiver, scope: scope, record: record)
        let general: Evaluator = { frame in
            let value = operand(&frame)
            if case .string(let text) = value { return .bool(match.test(text, part)) }
            if value.isExceptional { return value }
            return Operations.noOverload(function, [value, literalValue])
        }
        guard !record else { return general }
        if case .identifier(let name) = receiver.kind, let local = scope.lastIndex(of: name) {
            return { frame in
                if let found = frame.withLocalString(local, { match.test($0, part) }) { return .bool(found) }
                return general(&frame)
            }
        }
        if let field = inPlaceField(receiver, scope: scope) {
            return { frame in
                if let found = field.test(&frame, { match.test($0, part) }) { return .bool(found) }
                return general(&frame)
            }
        }
        return general
    }

    /// A test of a text against a literal part, byte by byte in UTF-8.
    enum LiteralMatch: String, Sendable {
        case prefix = "startsWith"
        case suffix = "endsWith"
        case infix = "contains"

        /// Whether `text` begins with, ends with or holds `part` (UTF-8).
        @inline(__always)
        func test(_ text: String, _ part: [UInt8]) -> Bool {
            if part.isEmpty { return true }
            return text.withUTF8Bytes { test($0, part) }
        }

        private func test(_ bytes: UnsafeBufferPointer<UInt8>, _ part: [UInt8]) -> Bool {
            guard bytes.count >= part.count, let base = bytes.baseAddress else { return false }
            return part.withUnsafeBufferPointer { part in
                let wanted = part.baseAddress!
                switch self {
                case .prefix: return memcmp(base, wanted, part.count) == 0
                case .suffix: return memcmp(base + bytes.count - part.count, wanted, part.count) == 0
                case .infix:
                    for start in 0...(bytes.count - part.count)
                    where base[start] == part[0] && memcmp(base + start, wanted, part.count) == 0 {
                        return true
                    }
                    return false
                }
            }
        }
    }

    /// Whether `text` is one of `strings`, code point by code point.
    @inline(__always)
    static func listed(_ text: String, in strings: [String]) -> Bool {
        let count = text.utf8.count
        for candidate in strings where candidate.utf8.count == count {
            if Operations.sameCodePoints(text, candidate) { return true }
        }
        return false
    }

    /// A field one selection away from a fact or from a comprehension variable (`request.operation`, `e.status`),
    /// which comparisons with string literals read in place; `nil` for anything else.
    func inPlaceField(_ expression: Expression, scope: [String]) -> InPlaceField? {
        if let path = fieldPath(expression, scope: scope) {
            guard path.hops.count == 1 else { return nil }
            return InPlaceField(
                base: .fact(path.variable), type: path.hops[0].type, position: path.hops[0].position,
                perRequest: path.perRequest)
        }
        guard case .select(let operand, let name, false) = expression.kind,
            case .identifier(let variable) = operand.kind, let local = scope.lastIndex(of: variable),
            case .object(let typeName)? = types[operand.id], let object = schema.objects[typeName],
            let position = object.index(of: name)
        else { return nil }
        return InPlaceField(
            base: .local(local), type: ObjectIdentifier(object), position: position,
            perRequest: readsPerRequest(object, at: position))
    }

    /// A field of an object that a comparison reads where it lies, without copying its value out.
    struct InPlaceField: Sendable {
        enum Base: Sendable {
            /// A variable of the schema, by its index.
            case fact(Int)
            /// A comprehension variable, by its slot.
            case local(Int)
        }

        let base: Base
        let type: ObjectIdentifier
        let position: Int
        /// Whether the field is a per-request one (``ObjectType/Field/perRequest``): a read is noted.
        let perRequest: Bool

        /// The object holding the field, without holding it (the activation or the comprehension does); `nil` when
        /// the base is not an object of the type.
        @inline(__always)
        func holder(_ frame: inout Frame) -> Unmanaged<ObjectValue>? {
            if perRequest { frame.activation.reads?.notePerRequest() }
            switch base {
            case .fact(let index):
                return frame.activation.object(of: index, type: type)
            case .local(let slot):
                guard case .object(let object) = frame.locals[frame.localsBase + slot],
                    ObjectIdentifier(object.type) == type
                else { return nil }
                return .passUnretained(object)
            }
        }

        /// `test` of the field's string; `nil` when the base is not an object of the type, or the field does not hold
        /// a string (absent, unknown, another type): the caller evaluates the selection as usual.
        @inline(__always)
        func test(_ frame: inout Frame, _ test: (String) -> Bool) -> Bool? {
            holder(&frame)?._withUnsafeGuaranteedRef { object in
                guard case .string(let text)? = object.fields[position] else { return nil }
                return test(text)
            }
        }
    }

    /// The value of `expression` when it is a list or map of literals, written out or as a definition (not shadowed
    /// by a comprehension variable).
    func constantValue(_ expression: Expression, scope: [String]) -> Value? {
        switch expression.kind {
        case .list, .map: return Self.constant(expression)
        case .identifier(let name) where !scope.contains(name) && schema.index(ofVariable: name) == nil:
            return definitions.index(of: name).flatMap { Self.constant(definitions.items[$0].program.expression) }
        default: return nil
        }
    }

    /// The strings of `expression` when it is a list of string literals (``constantValue(_:scope:)``).
    func constantStrings(_ expression: Expression, scope: [String]) -> [String]? {
        guard case .list(let items)? = constantValue(expression, scope: scope) else { return nil }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else { return nil }
            strings.append(text)
        }
        return strings
    }

    /// The map `expression` is when it is a map of literals whose keys are all strings (``constantValue(_:scope:)``),
    /// with a table of its keys' positions.
    func constantStringMap(
        _ expression: Expression, scope: [String]
    ) -> (map: MapValue, table: NameTable<Int>)? {
        guard case .map(let map)? = constantValue(expression, scope: scope) else { return nil }
        var positions: [String: Int] = [:]
        for (position, entry) in map.entries.enumerated() {
            guard case .string(let key) = entry.key else { return nil }
            positions[key] = position
        }
        return (map, NameTable(positions))
    }

    /// One compiled operand of a call.
    struct Operand {
        let run: Evaluator

        init(_ run: @escaping Evaluator) {
            self.run = run
        }
    }

    /// The operands of a call; `operands[i]` is the closure itself, at its natural abstraction.
    struct OperandList {
        private let items: [Operand]

        init(_ items: [Operand]) {
            self.items = items
        }

        /// A closure that runs every operand in order and hands each value to its second argument: what loops over
        /// the operands at run time go through. Up to ``chainedAtMost`` operands, one closure per operand holds the
        /// one before it: calling a closure another holds costs no reference count, where calling one read out of an
        /// array counts its context up and down. Past that (a long list written out), a loop, so that running it
        /// never nests deeper than that.
        var each: @Sendable (inout Frame, (consuming Value) -> Void) -> Void {
            guard items.count <= Self.chainedAtMost else {
                let items = items
                return { frame, take in
                    for item in items { take(item.run(&frame)) }
                }
            }
            var chain: @Sendable (inout Frame, (consuming Value) -> Void) -> Void = { _, _ in }
            for item in items {
                let previous = chain
                let run = item.run
                chain = { frame, take in
                    previous(&frame, take)
                    take(run(&frame))
                }
            }
            return chain
        }

        static let chainedAtMost = 16

        var count: Int { items.count }

        subscript(index: Int) -> Evaluator { items[index].run }
    }
}
