import Foundation

/// A compiled regular expression, shared read-only between evaluations.
final class CompiledRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws {
        regex = try Regex(pattern)
    }

    func matches(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }
}

/// Turns a checked (or unchecked) expression into closures. Field selections on declared object types resolve to
/// field positions here, so evaluation does no name lookups on the hot path.
struct Generator {
    let schema: FactSchema
    let definitions: Definitions
    let types: [Int: CELType]
    let source: Source
    let checked: Bool
    /// Whether the closures record evidence. A program gets one set of closures of each kind, so that evaluation
    /// without evidence pays nothing for it.
    let recording: Bool
    /// A value the discriminating fact is known to have (``Assumption``): testers made under it read the tests of
    /// that fact as constants.
    var assumption: Assumption?
    /// How many nodes the testers made so far read as constants under ``assumption``.
    var decidedNodes = 0
    var problems: [(message: String, span: Span)] = []
    /// How many nodes the closures record evidence for: at most that many values are recorded per evaluation.
    private(set) var recordedNodes = 0

    init(
        schema: FactSchema, definitions: Definitions, types: [Int: CELType], source: Source, checked: Bool,
        recording: Bool
    ) {
        self.schema = schema
        self.definitions = definitions
        self.types = types
        self.source = source
        self.checked = checked
        self.recording = recording
    }

    func text(of expression: Expression) -> String {
        let bytes = Array(source.text.utf8)
        let start = min(expression.span.start, bytes.count)
        let end = min(max(expression.span.end, start), bytes.count)
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Wraps `evaluator` so that, when evidence is recorded, its value is kept under the expression's text.
    ///
    /// Outside comprehension bodies every node runs at most once per evaluation (each parent calls each child at
    /// most once), so nothing is recorded twice; inside them nothing is recorded.
    mutating func recorded(_ expression: Expression, _ evaluator: @escaping Evaluator) -> Evaluator {
        guard recording else { return evaluator }
        recordedNodes += 1
        let label = text(of: expression)
        return { frame in
            let value = evaluator(&frame)
            if frame.recording, frame.comprehensionDepth == 0 {
                frame.evidence.append(Evidence(expression: label, value: value))
            }
            return value
        }
    }

    /// One step of a field path: the object type expected and the field's position in it.
    struct Hop {
        var type: ObjectIdentifier
        var position: Int
    }

    /// A chain of field selections from a fact (`request.client.ip`), read in one closure without a call per field.
    struct FieldPath {
        var variable: Int
        var hops: [Hop]
        var fields: [String]
        var fallbacks: [Value]
        /// The dotted path of each step (`request.client.ip`), for strict evaluation's errors.
        var paths: [String]
        /// Whether the path reads a per-request value (``ObjectType/Field/perRequest``).
        var perRequest: Bool

        var evaluator: Evaluator {
            let read = reader
            guard perRequest else { return read }
            return { frame in
                frame.activation.reads?.notePerRequest()
                return read(&frame)
            }
        }

        private var reader: Evaluator {
            let variable = variable
            let hops = hops
            let fields = fields
            let fallbacks = fallbacks
            let paths = paths
            if hops.count == 1 {
                let type = hops[0].type
                let position = hops[0].position
                let field = fields[0]
                let fallback = fallbacks[0]
                let path = paths[0]
                return { frame in
                    if let read = frame.activation.field(of: variable, type: type, at: position) {
                        if let value = read { return value }
                        frame.readAbsent = true
                        return frame.strict
                            ? .error(EvaluationError(.absent, "\(path) has no value", absentField: path)) : fallback
                    }
                    // A deferred fact: made, then read as in place, so that a missing field is named the same way.
                    let value = frame.activation.value(variable)
                    if case .object(let object) = value, ObjectIdentifier(object.type) == type {
                        if let found = object.fields[position] { return found }
                        frame.readAbsent = true
                        return frame.strict
                            ? .error(EvaluationError(.absent, "\(path) has no value", absentField: path)) : fallback
                    }
                    return Operations.select(value, field, strict: frame.strict, readAbsent: &frame.readAbsent)
                }
            }
            let types = hops.map(\.type)
            let positions = hops.map(\.position)
            return { frame in
                // Read in place when every object on the way has its type and every field a value; anything else
                // takes the general path, hop by hop.
                if let found = frame.activation.path(of: variable, types: types, positions: positions) { return found }
                var value = frame.activation.value(variable)
                for index in hops.indices {
                    if case .object(let object) = value, ObjectIdentifier(object.type) == hops[index].type {
                        if let found = object.fields[hops[index].position] {
                            value = found
                        } else {
                            frame.readAbsent = true
                            if frame.strict {
                                return .error(
                                    EvaluationError(.absent, "\(paths[index]) has no value", absentField: paths[index]))
                            }
                            value = fallbacks[index]
                        }
                    } else {
                        // Unknowns, errors and maps take the general path.
                        value = Operations.select(
                            value, fields[index], strict: frame.strict, readAbsent: &frame.readAbsent)
                    }
                }
                return value
            }
        }
    }

    /// The field path `expression` is, when it is one: selections on declared object types down to a fact.
    func fieldPath(_ expression: Expression, scope: [String]) -> FieldPath? {
        var steps: [(type: ObjectType, position: Int, field: String)] = []
        var node = expression
        while case .select(let operand, let field, false) = node.kind {
            guard case .object(let typeName)? = types[operand.id], let object = schema.objects[typeName],
                let position = object.index(of: field)
            else { return nil }
            steps.append((object, position, field))
            node = operand
        }
        guard case .identifier(let name) = node.kind, !scope.contains(name),
            let variable = schema.index(ofVariable: name),
            !steps.isEmpty
        else { return nil }
        steps.reverse()
        var paths: [String] = []
        var prefix = name
        for step in steps {
            prefix += "." + step.field
            paths.append(prefix)
        }
        return FieldPath(
            variable: variable, hops: steps.map { Hop(type: ObjectIdentifier($0.type), position: $0.position) },
            fields: steps.map(\.field),
            fallbacks: steps.map { Operations.defaultValue($0.type.fields[$0.position].type) }, paths: paths,
            perRequest: steps.contains { $0.type.fields[$0.position].perRequest }
                || exposesPerRequest(steps.last!.type.fields[steps.last!.position].type))
    }

    /// `has()` of field `position` (named `field`) of `value`: read from the fields when it is an object of `type`,
    /// else as the general reading has it (a map's key, an unknown, an error).
    static func presence(of value: Value, type: ObjectIdentifier, position: Int, field: String) -> Value {
        guard case .object(let found) = value, ObjectIdentifier(found.type) == type else {
            return Operations.presence(value, field)
        }
        switch found.fields[position] {
        case nil: return .bool(false)
        case .unknown(let unknown)?: return .unknown(unknown)
        default: return .bool(true)
        }
    }

    /// The operand of a `has()` when it is a fact (`request`) or a chain of fields from one (`request.client`) whose
    /// every object has a declared type: the variable, the types of the objects on the way (the fact's first, then
    /// `holder`, the one whose field is tested), the positions of the fields read on the way, and whether reading
    /// the operand reads a per-request field.
    struct PresenceChain {
        var variable: Int
        var types: [ObjectIdentifier]
        var positions: [Int]
        var perRequest: Bool
    }

    func presenceChain(_ operand: Expression, holder: ObjectType, scope: [String]) -> PresenceChain? {
        if case .identifier(let name) = operand.kind, !scope.contains(name),
            let variable = schema.index(ofVariable: name)
        {
            return PresenceChain(
                variable: variable, types: [ObjectIdentifier(holder)], positions: [], perRequest: false)
        }
        guard let path = fieldPath(operand, scope: scope) else { return nil }
        return PresenceChain(
            variable: path.variable, types: path.hops.map(\.type) + [ObjectIdentifier(holder)],
            positions: path.hops.map(\.position), perRequest: path.perRequest)
    }

    /// Whether reading field `position` of `object` reads a per-request field: the field itself, or one it holds.
    func readsPerRequest(_ object: ObjectType, at position: Int) -> Bool {
        object.fields[position].perRequest || exposesPerRequest(object.fields[position].type)
    }

    /// Whether a value of `type` holds a per-request field, at any depth: reading it whole reads that field.
    func exposesPerRequest(_ type: CELType, depth: Int = 0) -> Bool {
        guard depth < 8 else { return true }
        switch type {
        case .object(let name):
            guard let object = schema.objects[name] else { return false }
            return object.hasPerRequestFields || object.fields.contains { exposesPerRequest($0.type, depth: depth + 1) }
        case .list(let element): return exposesPerRequest(element, depth: depth + 1)
        case .map(let key, let value):
            return exposesPerRequest(key, depth: depth + 1) || exposesPerRequest(value, depth: depth + 1)
        default: return false
        }
    }

    /// The operand of a field selection: a fact read without noting a per-request read, which the selection
    /// itself notes when the field it reads is one.
    private mutating func generateBase(_ operand: Expression, scope: [String]) -> Evaluator {
        if case .identifier(let name) = operand.kind, !scope.contains(name), let index = schema.index(ofVariable: name)
        {
            return { frame in frame.activation.value(index) }
        }
        return generate(operand, scope: scope, record: false)
    }

    /// `evaluator`, noting a per-request read each time it runs when `perRequest` holds.
    private func noting(_ perRequest: Bool, _ evaluator: @escaping Evaluator) -> Evaluator {
        guard perRequest else { return evaluator }
        return { frame in
            frame.activation.reads?.notePerRequest()
            return evaluator(&frame)
        }
    }

    /// The value of a list or map made of literals only, computed once at compile time.
    static func constant(_ expression: Expression) -> Value? {
        switch expression.kind {
        case .literal(let value): return value
        case .list(let elements):
            var values: [Value] = []
            for element in elements {
                guard let value = constant(element) else { return nil }
                values.append(value)
            }
            return .list(values)
        case .map(let entries):
            var pairs: [(Value, Value)] = []
            for entry in entries {
                guard let key = constant(entry.key), let value = constant(entry.value) else { return nil }
                pairs.append((key, value))
            }
            return (try? MapValue(pairs)).map(Value.map)
        default: return nil
        }
    }

    /// The closures that evaluate `expression`. `record`: whether the node records evidence, which it does only in
    /// the closures that record (``recording``); the others take the paths that read values where they lie
    /// wherever a node would have recorded (a comprehension's range, what lies under it).
    mutating func generate(_ expression: Expression, scope: [String], record: Bool) -> Evaluator {
        let record = record && recording
        if assumption != nil, !record, !expression.isLiteral, let specialized = specialized(expression, scope: scope) {
            return specialized
        }
        switch expression.kind {
        case .literal(let value):
            return { _ in value }

        case .identifier(let name):
            if let local = scope.lastIndex(of: name) {
                return { frame in frame.locals[frame.localsBase + local] }
            }
            if let index = schema.index(ofVariable: name) {
                return noting(exposesPerRequest(schema.variables[index].type)) { frame in frame.activation.value(index)
                }
            }
            if let index = definitions.index(of: name) {
                if let constant = Self.constant(definitions.items[index].program.expression) {
                    // A list or map of literals: its value, made once here.
                    let evaluator: Evaluator = { _ in constant }
                    return record ? recorded(expression, evaluator) : evaluator
                }
                let body = (record ? nil : specializedBody(of: index)) ?? definitions.items[index].program.evaluator
                let known = definitions.items.count
                let evaluator: Evaluator = { frame in
                    // A definition depends on the facts alone, so its value is kept for the rest of the activation:
                    // one value for both readings when it read no field without a value, else one for each.
                    let strict = frame.strict
                    if let cache = frame.cache {
                        let slot = cache._withUnsafeGuaranteedRef { $0.slot(of: index, strict: strict) }
                        if slot != 0 {
                            if slot < 0 { frame.readAbsent = true }
                            return cache._withUnsafeGuaranteedRef { $0.value(at: slot) }
                        }
                    }
                    // It runs with its own comprehension variables and records no evidence of its own.
                    let (value, readAbsent) = frame.asDefinition(body)
                    frame.cache?._withUnsafeGuaranteedRef {
                        $0.keep(value, strict: strict, readAbsent: readAbsent, at: index, of: known)
                    }
                    return value
                }
                return record ? recorded(expression, evaluator) : evaluator
            }
            return { frame in
                frame.activation.named[name]
                    ?? .error(EvaluationError(.unbound, "undeclared reference to '\(name)' (in container '')"))
            }

        case .select(let operand, let field, let testOnly):
            let base = generateBase(operand, scope: scope)
            if testOnly {
                if case .object(let typeName)? = types[operand.id], let object = schema.objects[typeName],
                    let position = object.index(of: field)
                {
                    let type = ObjectIdentifier(object)
                    guard let chain = presenceChain(operand, holder: object, scope: scope) else {
                        return recorded(expression) { frame in
                            Self.presence(of: base(&frame), type: type, position: position, field: field)
                        }
                    }
                    // A field of a fact or of an object a chain of fields from one reaches (`has(request.client.ip)`):
                    // tested where it lies, without copying the objects on the way; else as any operand.
                    return recorded(expression) { frame in
                        if chain.perRequest { frame.activation.reads?.notePerRequest() }
                        if let found = frame.activation.presence(
                            of: chain.variable, types: chain.types, positions: chain.positions, field: position)
                        {
                            return found
                        }
                        return Self.presence(of: base(&frame), type: type, position: position, field: field)
                    }
                }
                return recorded(expression) { frame in Operations.presence(base(&frame), field) }
            }
            var evaluator: Evaluator
            if let path = fieldPath(expression, scope: scope) {
                evaluator = path.evaluator
            } else if case .object(let typeName)? = types[operand.id], let object = schema.objects[typeName],
                let position = object.index(of: field)
            {
                let fallback = Operations.defaultValue(object.fields[position].type)
                let typeName = object.name
                let perRequest = readsPerRequest(object, at: position)
                if case .identifier(let name) = operand.kind, let local = scope.lastIndex(of: name) {
                    // A field of a comprehension variable (`e.status`), read in place.
                    evaluator = noting(perRequest) { frame in
                        if case .object(let found) = frame.locals[frame.localsBase + local], found.type === object {
                            if let present = found.fields[position] { return present }
                            frame.readAbsent = true
                            return frame.strict ? .error(EvaluationError.absent(field, of: typeName)) : fallback
                        }
                        return Operations.select(
                            frame.locals[frame.localsBase + local], field, strict: frame.strict,
                            readAbsent: &frame.readAbsent)
                    }
                    return record ? recorded(expression, evaluator) : evaluator
                }
                evaluator = noting(perRequest) { frame in
                    let value = base(&frame)
                    if case .object(let found) = value, found.type === object {
                        if let present = found.fields[position] { return present }
                        frame.readAbsent = true
                        return frame.strict ? .error(EvaluationError.absent(field, of: typeName)) : fallback
                    }
                    return Operations.select(value, field, strict: frame.strict, readAbsent: &frame.readAbsent)
                }
            } else {
                evaluator = { frame in
                    let value = base(&frame)
                    // A type known only now: whether the field is per request is asked of the value.
                    if case .object(let object) = value, object.type.hasPerRequestFields,
                        object.type.field(field)?.perRequest ?? false
                    {
                        frame.activation.reads?.notePerRequest()
                    }
                    let selected = Operations.select(
                        value, field, strict: frame.strict, readAbsent: &frame.readAbsent)
                    if case .object(let object) = selected, object.type.hasPerRequestFields {
                        frame.activation.reads?.notePerRequest()
                    }
                    return selected
                }
            }
            return record ? recorded(expression, evaluator) : evaluator

        case .list(let elements):
            if let constant = Self.constant(expression) { return { _ in constant } }
            let items = OperandList(elements.map { Operand(generate($0, scope: scope, record: record)) })
            let count = items.count
            let each = items.each
            return { frame in
                var values: [Value] = []
                values.reserveCapacity(count)
                each(&frame) { values.append($0) }
                if let exceptional = Operations.exceptional(values) { return exceptional }
                return .list(values)
            }

        case .map(let entries):
            if let constant = Self.constant(expression) { return { _ in constant } }
            let pairs = entries.map {
                (generate($0.key, scope: scope, record: record), generate($0.value, scope: scope, record: record))
            }
            return { frame in
                var values: [(Value, Value)] = []
                for (key, value) in pairs { values.append((key(&frame), value(&frame))) }
                if let exceptional = Operations.exceptional(values.flatMap { [$0.0, $0.1] }) { return exceptional }
                do throws(EvaluationError) {
                    return .map(try MapValue(values))
                } catch {
                    return .error(error)
                }
            }

        case .comprehension(let comprehension):
            return recorded(expression, generateComprehension(comprehension, scope: scope))

        case .call(let function, let target, let arguments):
            if let what = Library.unsupported[function] {
                problems.append(
                    ("unsupported: \(function)() — \(what) is not part of SKM's condition language", expression.span))
                return { _ in .error(EvaluationError(.unsupported, "unsupported")) }
            }
            let evaluator = generateCall(
                function, target: target, arguments: arguments, expression: expression, scope: scope, record: record)
            if record && !Library.isOperator(function) {
                return recorded(expression, evaluator)
            }
            return evaluator
        }
    }

    private mutating func generateComprehension(_ comprehension: Expression.Comprehension, scope: [String]) -> Evaluator
    {
        let range = generate(comprehension.range, scope: scope, record: true)
        let inner = scope + [comprehension.variable]
        // The body's closures held apart, never in an array: each is called from here without a reference count
        // (one read out of an array would be counted up and down for every element), and without the two
        // reabstraction thunks an array's most general form would put around every call. `step` for `all`,
        // `exists`, `exists_one` and `filter` and the filter of a two-part `map`, `transform` for the value `map`
        // makes.
        let step = generate(comprehension.body[0], scope: inner, record: false)
        let filtersFirst = comprehension.body.count == 2
        let transform = filtersFirst ? generate(comprehension.body[1], scope: inner, record: false) : step
        let macro = comprehension.macro
        return { frame in
            let rangeValue = range(&frame)
            let elements: [Value]
            switch rangeValue {
            case .list(let items): elements = items
            case .map(let map): elements = map.keys
            case .unknown, .error: return rangeValue
            default: return Operations.noOverload(macro.rawValue, [rangeValue])
            }
            frame.comprehensionDepth += 1
            // Room for nested comprehensions at once; the frame keeps it for the rest of its evaluations.
            if frame.locals.capacity == 0 { frame.locals.reserveCapacity(4) }
            frame.locals.append(.null)
            let slot = frame.locals.count - 1
            defer {
                frame.locals.removeLast()
                frame.comprehensionDepth -= 1
            }
            var unknown: Unknown?
            var error: Value?
            func note(_ value: Value) {
                switch value {
                case .unknown(let found): unknown = unknown.map { $0.merged(with: found) } ?? found
                case .error: if error == nil { error = value }
                default: break
                }
            }
            switch macro {
            case .all, .exists:
                let decisive = macro == .exists
                for index in elements.indices {
                    frame.locals[slot] = elements[index]
                    let result = step(&frame)
                    if case .bool(let flag) = result {
                        if flag == decisive { return .bool(decisive) }
                    } else if result.isExceptional {
                        note(result)
                    } else {
                        note(Operations.noOverload(macro.rawValue, [result]))
                    }
                }
                if let unknown { return .unknown(unknown) }
                return error ?? .bool(!decisive)
            case .existsOne:
                var count = 0
                for index in elements.indices {
                    frame.locals[slot] = elements[index]
                    let result = step(&frame)
                    switch result {
                    case .bool(let flag): if flag { count += 1 }
                    case .unknown, .error: note(result)
                    default: return Operations.noOverload(macro.rawValue, [result])
                    }
                }
                if let unknown { return .unknown(unknown) }
                return error ?? .bool(count == 1)
            case .filter:
                var kept: [Value] = []
                for index in elements.indices {
                    frame.locals[slot] = elements[index]
                    let result = step(&frame)
                    switch result {
                    case .bool(let flag): if flag { kept.append(elements[index]) }
                    case .unknown, .error: note(result)
                    default: return Operations.noOverload(macro.rawValue, [result])
                    }
                }
                if let unknown { return .unknown(unknown) }
                return error ?? .list(kept)
            case .map:
                var mapped: [Value] = []
                for index in elements.indices {
                    frame.locals[slot] = elements[index]
                    if filtersFirst {
                        let keep = step(&frame)
                        switch keep {
                        case .bool(false): continue
                        case .bool(true): break
                        case .unknown, .error:
                            note(keep)
                            continue
                        default: return Operations.noOverload(macro.rawValue, [keep])
                        }
                    }
                    let value = transform(&frame)
                    if value.isExceptional { note(value) } else { mapped.append(value) }
                }
                if let unknown { return .unknown(unknown) }
                return error ?? .list(mapped)
            }
        }
    }
}
