/// What a condition came to, when a caller needs no more: true, false, or anything else (an unknown, an error, a
/// value of another type), which the caller then evaluates as usual to learn.
enum Truth: UInt8 {
    case no, yes, other

    @inline(__always)
    init(_ flag: Bool) {
        self = flag ? .yes : .no
    }

    @inline(__always)
    init(of value: Value) {
        if case .bool(let flag) = value { self = flag ? .yes : .no } else { self = .other }
    }
}

typealias Tester = @Sendable (inout Frame) -> Truth

/// Conditions read for their truth alone: the replay's guards and assertions, which are evaluated for every check
/// of every rule before the logged one. Each node hands on a byte where the evaluator hands on a value, which every
/// parent copies and destroys; the leaves read the facts where they lie.
///
/// A tester visits the nodes the plain evaluator visits, in its order, and notes the same reads (per-request fields,
/// absent fields, definitions kept in the cache). So when it comes to `.other`, evaluating the expression gives
/// what evaluating it alone would have given.
extension Generator {
    mutating func generateTruth(_ expression: Expression, scope: [String]) -> Tester {
        precondition(!recording, "a tester reads no evidence")
        if assumption != nil, !expression.isLiteral, let decided = decided(expression, scope: scope) {
            decidedNodes += 1
            let truth = Truth(decided)
            return { _ in truth }
        }
        switch expression.kind {
        case .literal(let value):
            let truth = Truth(of: value)
            return { _ in truth }

        case .call(let function, nil, let arguments)
        where (function == "_&&_" || function == "_||_") && arguments.count == 2:
            // A chain (`a && b && c`, however nested) read as one node: the first operand that decides, decides.
            let decisive: Truth = function == "_||_" ? .yes : .no
            var operands: [TesterOperand] = []
            for operand in Self.junctionOperands(function, expression) {
                if assumption != nil, let flag = decided(operand, scope: scope) {
                    decidedNodes += 1
                    // `true` in `&&` decides nothing and reads nothing; `false` decides, and nothing after it is read.
                    guard Truth(flag) == decisive else { continue }
                    operands.append(TesterOperand { _ in decisive })
                    break
                }
                operands.append(TesterOperand(generateTruth(operand, scope: scope)))
            }
            return Self.junction(operands, decisive: decisive)

        case .call("!_", nil, let arguments) where arguments.count == 1:
            let operand = generateTruth(arguments[0], scope: scope)
            return { frame in
                switch operand(&frame) {
                case .yes: .no
                case .no: .yes
                case .other: .other
                }
            }

        case .call("_?_:_", nil, let arguments) where arguments.count == 3:
            let condition = generateTruth(arguments[0], scope: scope)
            let whenTrue = generateTruth(arguments[1], scope: scope)
            let whenFalse = generateTruth(arguments[2], scope: scope)
            return { frame in
                switch condition(&frame) {
                case .yes: whenTrue(&frame)
                case .no: whenFalse(&frame)
                case .other: .other
                }
            }

        case .call(let function, nil, let arguments)
        where Operations.Relation(rawValue: function) != nil && arguments.count == 2:
            if let tester = relationTruth(expression, function, arguments, scope: scope) { return tester }

        case .call(let function, let target, let arguments) where LiteralMatch(rawValue: function) != nil:
            let all = (target.map { [$0] } ?? []) + arguments
            if all.count == 2, case .literal(.string(let literal)) = all[1].kind,
                let tester = literalMatchTruth(
                    expression, LiteralMatch(rawValue: function)!, all[0], literal, scope: scope)
            {
                return tester
            }

        case .call("@in", nil, let arguments) where arguments.count == 2:
            if let field = inPlaceField(arguments[0], scope: scope),
                let strings = constantStrings(arguments[1], scope: scope)
            {
                let evaluator = generate(expression, scope: scope, record: false)
                return { frame in
                    if let found = field.test(&frame, { Self.listed($0, in: strings) }) { return Truth(found) }
                    return Truth(of: evaluator(&frame))
                }
            }
            if case .identifier(let name) = arguments[0].kind, let local = scope.lastIndex(of: name),
                let list = heldField(arguments[1], scope: scope)
            {
                // A comprehension variable's text in a list field (`f in request.body.fields`): the list's items
                // compared where they lie, as the evaluator compares them (an unknown item leaves a text not found
                // in the others neither in nor out).
                let evaluator = generate(expression, scope: scope, record: false)
                return { frame in
                    if let holder = list.holder(&frame),
                        let found = holder._withUnsafeGuaranteedRef({ object -> Truth? in
                            guard case .list(let items)? = object.fields[list.position] else { return nil }
                            return frame.withLocalString(local) { Self.membership(of: $0, in: items) }
                        })
                    {
                        return found
                    }
                    return Truth(of: evaluator(&frame))
                }
            }

        case .select(let operand, let field, true):
            if case .object(let typeName)? = types[operand.id], let object = schema.objects[typeName],
                let position = object.index(of: field),
                let chain = presenceChain(operand, holder: object, scope: scope)
            {
                let evaluator = generate(expression, scope: scope, record: false)
                if chain.positions.isEmpty {
                    // A field of the fact itself (`has(request.client)`), the most common: no chain to walk.
                    let variable = chain.variable
                    let type = chain.types[0]
                    let perRequest = chain.perRequest
                    return { frame in
                        if perRequest { frame.activation.reads?.notePerRequest() }
                        if let found = frame.activation.presenceTruth(of: variable, type: type, field: position) {
                            return found
                        }
                        return Truth(of: evaluator(&frame))
                    }
                }
                return { frame in
                    if chain.perRequest { frame.activation.reads?.notePerRequest() }
                    if let found = frame.activation.presenceTruth(
                        of: chain.variable, types: chain.types, positions: chain.positions, field: position)
                    {
                        return found
                    }
                    return Truth(of: evaluator(&frame))
                }
            }

        case .select(_, _, false):
            if let path = fieldPath(expression, scope: scope) {
                let evaluator = generate(expression, scope: scope, record: false)
                let variable = path.variable
                let types = path.hops.map(\.type)
                let positions = path.hops.map(\.position)
                let perRequest = path.perRequest
                if path.hops.count == 1 {
                    // A field of the fact itself (`key.exists`), the most common: no chain to walk.
                    let type = types[0]
                    let position = positions[0]
                    return { frame in
                        if perRequest { frame.activation.reads?.notePerRequest() }
                        if let found = frame.activation.truth(of: variable, type: type, at: position) { return found }
                        return Truth(of: evaluator(&frame))
                    }
                }
                return { frame in
                    if perRequest { frame.activation.reads?.notePerRequest() }
                    // A field without a value, or a fact read another way, as the evaluator reads it.
                    if let found = frame.activation.truth(of: variable, types: types, positions: positions) {
                        return found
                    }
                    return Truth(of: evaluator(&frame))
                }
            }

        case .identifier(let name):
            if !scope.contains(name), schema.index(ofVariable: name) == nil, let index = definitions.index(of: name),
                Self.constant(definitions.items[index].program.expression) == nil
            {
                // A definition: its kept value read where it lies. The first time, its own tester reads it, as its
                // evaluator would run (with its own comprehension variables), and a true or false is kept as that
                // bool, with whether it read a field without a value; anything else is computed and kept by the
                // evaluator.
                let evaluator = generate(expression, scope: scope, record: false)
                let body = definitions.items[index].program.tester
                let known = definitions.items.count
                return { frame in
                    let strict = frame.strict
                    guard let cache = frame.cache else { return Truth(of: evaluator(&frame)) }
                    let slot = cache._withUnsafeGuaranteedRef { $0.slot(of: index, strict: strict) }
                    if slot != 0 {
                        if slot < 0 { frame.readAbsent = true }
                        return cache._withUnsafeGuaranteedRef { $0.truth(at: slot) }
                    }
                    let (truth, readAbsent) = frame.asDefinition(body)
                    guard truth != .other else { return Truth(of: evaluator(&frame)) }
                    cache._withUnsafeGuaranteedRef {
                        $0.keep(.bool(truth == .yes), strict: strict, readAbsent: readAbsent, at: index, of: known)
                    }
                    return truth
                }
            }

        case .comprehension(let comprehension) where comprehension.macro == .all || comprehension.macro == .exists:
            return comprehensionTruth(comprehension, scope: scope)

        default:
            break
        }
        let evaluator = generate(expression, scope: scope, record: false)
        return { frame in Truth(of: evaluator(&frame)) }
    }

    /// A comparison that reads a field where it lies: with a string literal (`request.operation == 'encrypt'`), or
    /// with another field or any operand (`key.appkey == request.appkey`), as ``generateCall`` reads it without
    /// evidence. `nil` for a comparison of another kind.
    private mutating func relationTruth(
        _ expression: Expression, _ function: String, _ arguments: [Expression], scope: [String]
    ) -> Tester? {
        let relation = Operations.Relation(rawValue: function)!
        if let tester = emptinessTruth(expression, relation, arguments, scope: scope) { return tester }
        if relation == .equal || relation == .notEqual,
            let literalIndex = arguments.firstIndex(where: {
                if case .literal(.string) = $0.kind { true } else { false }
            }),
            case .literal(.string(let literal)) = arguments[literalIndex].kind
        {
            guard let field = inPlaceField(arguments[1 - literalIndex], scope: scope) else { return nil }
            let negated = relation == .notEqual
            let evaluator = generate(expression, scope: scope, record: false)
            return { frame in
                if let same = field.test(&frame, { Operations.sameCodePoints($0, literal) }) {
                    return Truth(same != negated)
                }
                return Truth(of: evaluator(&frame))
            }
        }
        for (pathIndex, literalIndex) in [(0, 1), (1, 0)] {
            // A chain of fields from a fact against a literal (`request.body.bytes <= 262144`), read where it lies.
            guard case .literal(let literal) = arguments[literalIndex].kind,
                let path = fieldPath(arguments[pathIndex], scope: scope), path.hops.count > 1
            else { continue }
            let evaluator = generate(expression, scope: scope, record: false)
            let (variable, perRequest) = (path.variable, path.perRequest)
            let types = path.hops.map(\.type)
            let positions = path.hops.map(\.position)
            let pathFirst = pathIndex == 0
            return { frame in
                if perRequest { frame.activation.reads?.notePerRequest() }
                if let holds = frame.activation.field(
                    of: variable, types: types, positions: positions,
                    {
                        pathFirst
                            ? Operations.holds(relation, $0, literal) : Operations.holds(relation, literal, $0)
                    })
                {
                    return Truth(holds)
                }
                return Truth(of: evaluator(&frame))
            }
        }
        let fields = (inPlaceField(arguments[0], scope: scope), inPlaceField(arguments[1], scope: scope))
        switch fields {
        case (let first?, let second?):
            let evaluator = generate(expression, scope: scope, record: false)
            return { frame in
                if let a = first.holder(&frame), let b = second.holder(&frame),
                    let holds = a._withUnsafeGuaranteedRef({ a in
                        b._withUnsafeGuaranteedRef { b in
                            Operations.holds(relation, a.fields[first.position], b.fields[second.position])
                        }
                    })
                {
                    return Truth(holds)
                }
                return Truth(of: evaluator(&frame))
            }
        case (let field?, nil), (nil, let field?):
            // The other operand first, then the field where it lies, as the evaluator takes them.
            let fieldFirst = fields.0 != nil
            let other = generate(arguments[fieldFirst ? 1 : 0], scope: scope, record: false)
            let read = generate(arguments[fieldFirst ? 0 : 1], scope: scope, record: false)
            return { frame in
                let value = other(&frame)
                if let holder = field.holder(&frame),
                    let holds = holder._withUnsafeGuaranteedRef({
                        fieldFirst
                            ? Operations.holds(relation, $0.fields[field.position], value)
                            : Operations.holds(relation, value, $0.fields[field.position])
                    })
                {
                    return Truth(holds)
                }
                return Truth(
                    of: fieldFirst
                        ? Operations.relation(relation, read(&frame), value)
                        : Operations.relation(relation, value, read(&frame)))
            }
        case (nil, nil):
            return nil
        }
    }

    /// Whether `text` is one of `items`, as ``Operations/contains(_:_:)`` finds it: `.other` when it is not found and
    /// an item is unknown.
    static func membership(of text: String, in items: [Value]) -> Truth {
        items.withUnsafeBufferPointer { items in
            var sawUnknown = false
            for index in items.indices {
                switch items[index] {
                case .string(let item): if Operations.sameCodePoints(text, item) { return .yes }
                case .unknown: sawUnknown = true
                default: break
                }
            }
            return sawUnknown ? .other : .no
        }
    }

    /// A field read where it lies, through the object that holds it: of a fact, of a comprehension variable, or at
    /// the end of a chain of fields from a fact.
    struct HeldField {
        enum Holder {
            case field(InPlaceField)
            /// A chain of fields from a fact: the variable, the type of each object on the way (the fact's first),
            /// and the position of each field.
            case chain(variable: Int, types: [ObjectIdentifier], positions: [Int])
        }

        let holder: Holder
        let position: Int
        let perRequest: Bool

        /// The object holding the field, without holding it; `nil` when one on the way is missing or of another type.
        /// A per-request read is noted, as the evaluator notes it.
        @inline(__always)
        func holder(_ frame: inout Frame) -> Unmanaged<ObjectValue>? {
            switch holder {
            case .field(let field):
                return field.holder(&frame)
            case .chain(let variable, let types, let positions):
                if perRequest { frame.activation.reads?.notePerRequest() }
                return frame.activation.holder(of: variable, types: types, positions: positions)
            }
        }
    }

    func heldField(_ expression: Expression, scope: [String]) -> HeldField? {
        if let field = inPlaceField(expression, scope: scope) {
            return HeldField(holder: .field(field), position: field.position, perRequest: field.perRequest)
        }
        guard let path = fieldPath(expression, scope: scope), path.hops.count > 1 else { return nil }
        return HeldField(
            holder: .chain(
                variable: path.variable, types: path.hops.map(\.type), positions: path.hops.map(\.position)),
            position: path.hops[path.hops.count - 1].position, perRequest: path.perRequest)
    }

    /// `size(x) == 0` or `size(x) != 0` (either way round), when whether `x` is empty can be read without making it:
    /// a list of literals, a filter read element by element as the evaluator reads it, a choice of those, or a
    /// definition made of them (`size(missingBodyFields) == 0`). `nil` for anything else.
    private mutating func emptinessTruth(
        _ expression: Expression, _ relation: Operations.Relation, _ arguments: [Expression], scope: [String]
    ) -> Tester? {
        guard relation == .equal || relation == .notEqual,
            let sizeIndex = arguments.firstIndex(where: {
                if case .call("size", nil, let operands) = $0.kind, operands.count == 1 { true } else { false }
            }),
            case .literal(.int(0)) = arguments[1 - sizeIndex].kind,
            case .call(_, _, let operands) = arguments[sizeIndex].kind,
            let empty = generateEmptiness(operands[0], scope: scope)
        else { return nil }
        let evaluator = generate(expression, scope: scope, record: false)
        let negated = relation == .notEqual
        return { frame in
            switch empty(&frame) {
            case .yes: negated ? .no : .yes
            case .no: negated ? .yes : .no
            case .other: Truth(of: evaluator(&frame))
            }
        }
    }

    /// Whether the list `expression` makes is empty (`.yes`), not empty (`.no`), or neither is known (`.other`: not a
    /// list, an unknown, an error), read without making the list; `nil` when it is not of a kind read so. A filter's
    /// test is read for each element in turn, as the evaluator reads it, and the first that is neither true nor false
    /// ends the reading (the caller evaluates the whole, which reads it again and on).
    private mutating func generateEmptiness(_ expression: Expression, scope: [String], depth: Int = 0) -> Tester? {
        guard depth < 8 else { return nil }
        if assumption != nil, !expression.isLiteral, let value = decidedValue(expression, scope: scope) {
            guard case .list(let items) = value else { return nil }
            decidedNodes += 1
            let truth = Truth(items.isEmpty)
            return { _ in truth }
        }
        if case .list(let items)? = Self.constant(expression) {
            let truth = Truth(items.isEmpty)
            return { _ in truth }
        }
        switch expression.kind {
        case .call("_?_:_", nil, let arguments) where arguments.count == 3:
            if assumption != nil, case .bool(let condition)? = decidedValue(arguments[0], scope: scope) {
                decidedNodes += 1
                return generateEmptiness(arguments[condition ? 1 : 2], scope: scope, depth: depth + 1)
            }
            guard let whenTrue = generateEmptiness(arguments[1], scope: scope, depth: depth + 1),
                let whenFalse = generateEmptiness(arguments[2], scope: scope, depth: depth + 1)
            else { return nil }
            let condition = generateTruth(arguments[0], scope: scope)
            return { frame in
                switch condition(&frame) {
                case .yes: whenTrue(&frame)
                case .no: whenFalse(&frame)
                case .other: .other
                }
            }

        case .comprehension(let comprehension) where comprehension.macro == .filter && comprehension.body.count == 1:
            let range = generate(comprehension.range, scope: scope, record: false)
            let step = generateTruth(comprehension.body[0], scope: scope + [comprehension.variable])
            return { frame in
                let elements: [Value]
                switch range(&frame) {
                case .list(let items): elements = items
                case .map(let map): elements = map.keys
                default: return .other
                }
                return frame.withComprehensionVariable { frame, slot in
                    var kept = false
                    for index in elements.indices {
                        frame.locals[slot] = elements[index]
                        switch step(&frame) {
                        case .yes: kept = true
                        case .no: break
                        case .other: return .other
                        }
                    }
                    return kept ? .no : .yes
                }
            }

        case .identifier(let name):
            guard !scope.contains(name), schema.index(ofVariable: name) == nil,
                let index = definitions.index(of: name)
            else { return nil }
            // The definition's kept value when the request's cache has it; else its body read the same way, as a
            // definition runs (with comprehension variables of its own), and kept by nothing.
            let program = definitions.items[index].program
            var generator = Generator(
                schema: schema, definitions: definitions, types: program.types, source: program.source,
                checked: program.resultType != nil, recording: false)
            generator.assumption = assumption
            guard let body = generator.generateEmptiness(program.expression, scope: [], depth: depth + 1) else {
                return nil
            }
            decidedNodes += generator.decidedNodes
            return { frame in
                let strict = frame.strict
                if let cache = frame.cache {
                    let slot = cache._withUnsafeGuaranteedRef { $0.slot(of: index, strict: strict) }
                    if slot != 0 {
                        if slot < 0 { frame.readAbsent = true }
                        return cache._withUnsafeGuaranteedRef { $0.emptiness(at: slot) }
                    }
                }
                return frame.asDefinition(body).0
            }

        default:
            return nil
        }
    }

    /// `startsWith`, `endsWith` or `contains` with a literal, on a comprehension variable or a field one selection
    /// from a fact or from one, read where it lies (as ``generateLiteralMatch`` reads it); `nil` on anything else.
    private mutating func literalMatchTruth(
        _ expression: Expression, _ match: LiteralMatch, _ receiver: Expression, _ literal: String, scope: [String]
    ) -> Tester? {
        let part = Array(literal.utf8)
        if case .identifier(let name) = receiver.kind, let local = scope.lastIndex(of: name) {
            let evaluator = generate(expression, scope: scope, record: false)
            return { frame in
                if let found = frame.withLocalString(local, { match.test($0, part) }) { return Truth(found) }
                return Truth(of: evaluator(&frame))
            }
        }
        guard let field = inPlaceField(receiver, scope: scope) else { return nil }
        let evaluator = generate(expression, scope: scope, record: false)
        return { frame in
            if let found = field.test(&frame, { match.test($0, part) }) { return Truth(found) }
            return Truth(of: evaluator(&frame))
        }
    }

    /// `all` and `exists` (`store.ipv4s.exists(e, e.status != 'DELETED' && …)`), each element's predicate read for
    /// its truth, as ``generateComprehension`` runs them: the first element that decides, decides; else an element
    /// that was neither true nor false leaves the whole neither.
    private mutating func comprehensionTruth(_ comprehension: Expression.Comprehension, scope: [String]) -> Tester {
        let range = generate(comprehension.range, scope: scope, record: false)
        let step = generateTruth(comprehension.body[0], scope: scope + [comprehension.variable])
        let decisive: Truth = comprehension.macro == .exists ? .yes : .no
        let otherwise: Truth = decisive == .yes ? .no : .yes
        return { frame in
            let elements: [Value]
            switch range(&frame) {
            case .list(let items): elements = items
            case .map(let map): elements = map.keys
            default: return .other
            }
            return frame.withComprehensionVariable { frame, slot in
                var undecided = false
                for index in elements.indices {
                    frame.locals[slot] = elements[index]
                    switch step(&frame) {
                    case decisive: return decisive
                    case .other: undecided = true
                    default: break
                    }
                }
                return undecided ? .other : otherwise
            }
        }
    }

    /// The truth of `expression` when ``assumption`` decides it alone (``decidedValue(_:scope:depth:)``).
    func decided(_ expression: Expression, scope: [String], depth: Int = 0) -> Bool? {
        if case .bool(let flag)? = decidedValue(expression, scope: scope, depth: depth) { return flag }
        return nil
    }

    /// The value of `expression` when ``assumption`` decides it alone: the discriminating fact, literals, `has()` of
    /// the fact, comparisons of texts so decided, `in` a list or map of literals, `!`, `&&`, `||`, choices
    /// (`c ? a : b`) whose condition is so decided, and definitions made of them (`bodyShapeKey`, `needsBody`).
    /// Decided only as the evaluator would compute it, left to right, so that reading the constant instead leaves out
    /// nothing the evaluator would have noted: the fact's test reads a value that is there, is not a per-request
    /// field, and is not deferred past the index that read it first.
    func decidedValue(_ expression: Expression, scope: [String], depth: Int = 0) -> Value? {
        guard let assumption, depth < 32 else { return nil }
        if assumption.isFact(expression, scope: scope) { return .string(assumption.value) }
        switch expression.kind {
        case .literal(let value):
            return value
        case .call("!_", nil, let arguments) where arguments.count == 1:
            guard case .bool(let flag)? = decidedValue(arguments[0], scope: scope, depth: depth + 1) else { return nil }
            return .bool(!flag)
        case .call(let function, nil, let arguments)
        where (function == "_&&_" || function == "_||_") && arguments.count == 2:
            let decisive = function == "_||_"
            guard case .bool(let left)? = decidedValue(arguments[0], scope: scope, depth: depth + 1) else { return nil }
            if left == decisive { return .bool(decisive) }
            guard case .bool(let right)? = decidedValue(arguments[1], scope: scope, depth: depth + 1) else {
                return nil
            }
            return .bool(right)
        case .call(let function, nil, let arguments)
        where (function == "_==_" || function == "_!=_") && arguments.count == 2:
            guard case .string(let left)? = decidedValue(arguments[0], scope: scope, depth: depth + 1),
                case .string(let right)? = decidedValue(arguments[1], scope: scope, depth: depth + 1)
            else { return nil }
            return .bool(Operations.sameCodePoints(left, right) == (function == "_==_"))
        case .call("@in", nil, let arguments) where arguments.count == 2:
            guard case .string(let element)? = decidedValue(arguments[0], scope: scope, depth: depth + 1) else {
                return nil
            }
            if let strings = constantStrings(arguments[1], scope: scope) {
                return .bool(Self.listed(element, in: strings))
            }
            if let keys = constantStringMap(arguments[1], scope: scope) { return .bool(keys.table[element] != nil) }
            return nil
        case .call("_?_:_", nil, let arguments) where arguments.count == 3:
            guard case .bool(let condition)? = decidedValue(arguments[0], scope: scope, depth: depth + 1) else {
                return nil
            }
            return decidedValue(arguments[condition ? 1 : 2], scope: scope, depth: depth + 1)
        case .call("_[_]", nil, let arguments) where arguments.count == 2:
            // A key so decided, of a map of literals that has it (`requiredBodyFields[bodyShapeKey]`).
            guard case .string(let key)? = decidedValue(arguments[1], scope: scope, depth: depth + 1),
                case .map(let map)? = constantValue(arguments[0], scope: scope)
            else { return nil }
            return map.value(for: .string(key))
        case .select(let operand, let field, true):
            // `has()` of the fact: it holds a value.
            return assumption.path.last == field && assumption.isFact(operand, scope: scope, dropping: 1)
                ? .bool(true) : nil
        case .identifier(let name):
            guard !scope.contains(name), schema.index(ofVariable: name) == nil,
                let index = definitions.index(of: name)
            else { return nil }
            return decidedValue(definitions.items[index].program.expression, scope: [], depth: depth + 1)
        default:
            return nil
        }
    }
}

extension Generator {
    /// Under ``assumption``, the evaluator of a node it decides (``decidedValue(_:scope:depth:)``): the value, made
    /// once here; or of a choice whose condition it decides: the branch taken. `nil` for any other node. The
    /// evaluators of the steps made for one value of the discriminating fact read its tests as the constants they
    /// are, as their testers do, and note every read the general evaluators note.
    mutating func specialized(_ expression: Expression, scope: [String]) -> Evaluator? {
        if let value = decidedValue(expression, scope: scope) {
            decidedNodes += 1
            return { _ in value }
        }
        if case .call("_?_:_", nil, let arguments) = expression.kind, arguments.count == 3,
            case .bool(let condition)? = decidedValue(arguments[0], scope: scope)
        {
            decidedNodes += 1
            return generate(arguments[condition ? 1 : 2], scope: scope, record: false)
        }
        return nil
    }

    /// Under ``assumption``, definition `index`'s body made under it, when the assumption decides a part of it
    /// (`missingBodyFields` lists the members of one operation's body); `nil` otherwise. Made once per assumption.
    /// It computes the value the general body does, which the request's cache keeps for every reading.
    mutating func specializedBody(of index: Int) -> Evaluator? {
        guard let assumption else { return nil }
        if let known = assumption.definitions.bodies[index] { return known?.run }
        let program = definitions.items[index].program
        var generator = Generator(
            schema: schema, definitions: definitions, types: program.types, source: program.source,
            checked: program.resultType != nil, recording: false)
        generator.assumption = assumption
        let body = generator.generate(program.expression, scope: [], record: false)
        let found = generator.decidedNodes > 0 ? body : nil
        assumption.definitions.bodies[index] = .some(found.map(Operand.init))
        if found != nil { decidedNodes += 1 }
        return found
    }

    /// Whether ``assumption`` may decide a part of `expression` or of a definition it reads: when not, nothing
    /// made under it would differ from the program's own closures.
    func mayDecide(_ expression: Expression) -> Bool {
        guard let assumption else { return false }
        for node in expression.nodes where !node.isLiteral {
            if decided(node, scope: []) != nil { return true }
            guard case .identifier(let name) = node.kind, schema.index(ofVariable: name) == nil,
                let index = definitions.index(of: name)
            else { continue }
            if let known = assumption.definitions.mayDecide[index] {
                if known { return true }
                continue
            }
            let found = mayDecide(definitions.items[index].program.expression)
            assumption.definitions.mayDecide[index] = found
            if found { return true }
        }
        return false
    }
}

/// What the generators under one ``Assumption`` share: the definitions' bodies made under it, each made once.
final class AssumedDefinitions {
    /// By definition: its body made under the assumption, or `nil` when the assumption decides no part of it.
    /// Held in a struct: a closure held in a dictionary would be called through two reabstraction thunks.
    var bodies: [Int: Generator.Operand?] = [:]
    /// By definition: whether the assumption may decide a part of it.
    var mayDecide: [Int: Bool] = [:]
}

/// A tester held in a struct: an array of testers would hold them at the most general abstraction, and every call
/// would go through two reabstraction thunks.
struct TesterOperand {
    let run: Tester

    init(_ run: @escaping Tester) {
        self.run = run
    }
}

extension Generator {
    /// The operands of a chain of `function` (`_&&_` or `_||_`), however it nests, left to right.
    static func junctionOperands(_ function: String, _ expression: Expression) -> [Expression] {
        guard case .call(function, nil, let arguments) = expression.kind, arguments.count == 2 else {
            return [expression]
        }
        return junctionOperands(function, arguments[0]) + junctionOperands(function, arguments[1])
    }

    /// The truth of a chain of `&&` (`decisive` `.no`) or `||` (`.yes`) of `operands`, read left to right as nested
    /// pairs are: the first that is `decisive` decides and nothing after it is read; else `.other` if one was
    /// neither true nor false, else the other bool. Up to four operands in one closure, which holds each apart (one
    /// read out of an array would be counted up and down for every call); more, in groups of four, as a chain of
    /// chains reads the same.
    static func junction(_ operands: [TesterOperand], decisive: Truth) -> Tester {
        let otherwise: Truth = decisive == .yes ? .no : .yes
        switch operands.count {
        case 0:
            return { _ in otherwise }
        case 1:
            return operands[0].run
        case 2:
            let (first, second) = (operands[0].run, operands[1].run)
            return { frame in
                let a = first(&frame)
                if a == decisive { return decisive }
                let b = second(&frame)
                if b == decisive { return decisive }
                return a == .other || b == .other ? .other : otherwise
            }
        case 3:
            let (first, second, third) = (operands[0].run, operands[1].run, operands[2].run)
            return { frame in
                let a = first(&frame)
                if a == decisive { return decisive }
                let b = second(&frame)
                if b == decisive { return decisive }
                let c = third(&frame)
                if c == decisive { return decisive }
                return a == .other || b == .other || c == .other ? .other : otherwise
            }
        case 4:
            let (first, second, third, fourth) = (
                operands[0].run, operands[1].run, operands[2].run, operands[3].run
            )
            return { frame in
                let a = first(&frame)
                if a == decisive { return decisive }
                let b = second(&frame)
                if b == decisive { return decisive }
                let c = third(&frame)
                if c == decisive { return decisive }
                let d = fourth(&frame)
                if d == decisive { return decisive }
                return a == .other || b == .other || c == .other || d == .other ? .other : otherwise
            }
        default:
            let groups = stride(from: 0, to: operands.count, by: 4).map {
                TesterOperand(junction(Array(operands[$0..<min($0 + 4, operands.count)]), decisive: decisive))
            }
            return junction(groups, decisive: decisive)
        }
    }
}

/// A value the discriminating fact (a chain of fields from a fact, `request.operation`) is known to have: the
/// replay's steps for one value of it (``GuardIndex``) read its tests as constants.
package struct Assumption {
    /// The variable, then the fields on the way.
    let path: [String]
    let value: String
    let definitions = AssumedDefinitions()

    package init(path: [String], value: String) {
        self.path = path
        self.value = value
    }

    /// Whether `expression` reads the fact, less its last `dropping` fields, from the variable itself (not a
    /// comprehension variable of the same name).
    func isFact(_ expression: Expression, scope: [String], dropping: Int = 0) -> Bool {
        var node = expression
        for field in path.dropFirst().dropLast(dropping).reversed() {
            guard case .select(let operand, field, false) = node.kind else { return false }
            node = operand
        }
        guard case .identifier(let name) = node.kind else { return false }
        return name == path[0] && !scope.contains(name)
    }
}

extension Expression {
    /// Whether the expression is a literal.
    var isLiteral: Bool {
        if case .literal = kind { return true }
        return false
    }
}
