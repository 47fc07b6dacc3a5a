/// Which checks can run at all for a request, by the value of one discriminating fact (SKM's `request.operation`).
///
/// Most guards start with `request.operation in [...]` or `request.operation == '...'`. Since `false && x` is false
/// whatever `x` is (unknown and error included), such a guard is false for every other operation, and the check can
/// be left out of the replay without being evaluated. The index only ever leaves out checks whose guard is certainly
/// false; anything it cannot read is kept.
///
/// The steps it keeps for a value read the tests of the fact as the constants they are for that value
/// (``Assumption``): `request.operation == 'rotateKey'` is not read again for every check of every rule.
struct GuardIndex: Sendable {
    /// Steps for each value some guard names, and for every other value.
    private let stepsByValue: NameTable<[ReplayStep]>
    private let otherSteps: [ReplayStep]
    /// The variable and the field positions leading to the discriminating fact.
    private let variable: Int
    private let positions: [Int]
    /// The type of each object on the way, the variable's first: the fact is read in place along them.
    private let types: [ObjectIdentifier]
    /// The programs made for the steps of one value (``ReplayStep/init(_:when:assertion:ruleWhen:)``), which the
    /// steps read without holding.
    private let programs: [Program]

    init?(
        path: [String], schema: FactSchema, definitions: Definitions, rules: [Rule], steps: [ReplayStep]
    ) {
        guard let first = path.first, let variable = schema.index(ofVariable: first) else { return nil }
        var type = schema.variables[variable].type
        var positions: [Int] = []
        var types: [ObjectIdentifier] = []
        var perRequest = false
        for field in path.dropFirst() {
            guard case .object(let name) = type, let object = schema.objects[name],
                let position = object.index(of: field)
            else { return nil }
            positions.append(position)
            types.append(ObjectIdentifier(object))
            perRequest = perRequest || object.fields[position].perRequest
            type = object.fields[position].type
        }
        guard type == .string else { return nil }
        self.variable = variable
        self.positions = positions
        self.types = types

        let analysis = Analysis(path: path, definitions: definitions)
        let ruleRestrictions = rules.map { rule in rule.when.flatMap { analysis.restriction($0.expression) } }
        var restrictions: [Set<String>?] = []
        var named: Set<String> = []
        for step in steps {
            var restriction = ruleRestrictions[step.rule]
            if let when = step.check.when, let found = analysis.restriction(when.expression) {
                restriction = restriction.map { $0.intersection(found) } ?? found
            }
            restrictions.append(restriction)
            named.formUnion(restriction ?? [])
        }
        var stepsByValue: [String: [ReplayStep]] = [:]
        var programs: [Program] = []
        // Whether each program reads the fact, itself or through a definition: the same for every value, and most
        // read nothing a value could decide.
        var readsFact: [ObjectIdentifier: Bool] = [:]
        var definitionsReadingFact: [String: Bool] = [:]
        for value in named {
            let kept = zip(steps, restrictions).filter { $0.1?.contains(value) ?? true }.map(\.0)
            // A per-request fact would be noted as read by every test of it: it is read as usual.
            guard !perRequest else {
                stepsByValue[value] = kept
                continue
            }
            // The steps for this value read its tests as the constants they are for it: a guard it alone makes true
            // is left out, and the rest read what remains (`needsBody && has(request.body)` reads the body alone).
            let assumption = Assumption(path: path, value: value)
            var made: [ObjectIdentifier: (program: Program, decided: Bool?)?] = [:]
            func testing(_ program: Program) -> (program: Program, decided: Bool?)? {
                if let known = made[ObjectIdentifier(program)] { return known }
                let reads =
                    readsFact[ObjectIdentifier(program)]
                    ?? analysis.readsFact(program.expression, definitions: &definitionsReadingFact)
                readsFact[ObjectIdentifier(program)] = reads
                guard reads else { return nil }
                let found = program.testing(assuming: assumption, schema: schema, definitions: definitions)
                made[ObjectIdentifier(program)] = found
                if let found { programs.append(found.program) }
                return found
            }
            func guardProgram(_ program: Program?) -> Program? {
                guard let program else { return nil }
                guard let found = testing(program) else { return program }
                return found.decided == true ? nil : found.program
            }
            stepsByValue[value] = kept.map { step in
                ReplayStep(
                    step, when: guardProgram(step.check.when),
                    assertion: testing(step.check.assertion)?.program ?? step.check.assertion,
                    ruleWhen: guardProgram(rules[step.rule].when))
            }
        }
        self.stepsByValue = NameTable(stepsByValue)
        self.programs = programs
        self.otherSteps = zip(steps, restrictions).filter { $0.1 == nil }.map(\.0)
    }

    /// The steps to replay for the facts a frame reads, or `nil` when the discriminating fact is not a plain value.
    func steps(for facts: Activation.View) -> [ReplayStep]? {
        // In place, without copying the objects on the way, when every one is there with its type.
        if !positions.isEmpty, case .string(let text)? = facts.path(of: variable, types: types, positions: positions) {
            return stepsByValue[text] ?? otherSteps
        }
        var value = facts.value(variable)
        for position in positions {
            guard case .object(let object) = value, let field = object.fields[position] else { return nil }
            value = field
        }
        guard case .string(let text) = value else { return nil }
        return stepsByValue[text] ?? otherSteps
    }

    /// Reads guards for the values of the discriminating fact they can be true for.
    private struct Analysis {
        let path: [String]
        let definitions: Definitions

        /// The values of the fact for which `expression` may be true; `nil` when it may be true for any.
        func restriction(_ expression: Expression, depth: Int = 0) -> Set<String>? {
            guard depth < 32 else { return nil }
            switch expression.kind {
            case .call("_&&_", nil, let arguments) where arguments.count == 2:
                let left = restriction(arguments[0], depth: depth + 1)
                let right = restriction(arguments[1], depth: depth + 1)
                switch (left, right) {
                case (let l?, let r?): return l.intersection(r)
                case (let l?, nil): return l
                case (nil, let r?): return r
                case (nil, nil): return nil
                }
            case .call("_||_", nil, let arguments) where arguments.count == 2:
                guard let left = restriction(arguments[0], depth: depth + 1),
                    let right = restriction(arguments[1], depth: depth + 1)
                else { return nil }
                return left.union(right)
            case .call("_==_", nil, let arguments) where arguments.count == 2:
                if isFact(arguments[0]), case .literal(.string(let text)) = arguments[1].kind { return [text] }
                if isFact(arguments[1]), case .literal(.string(let text)) = arguments[0].kind { return [text] }
                return nil
            case .call("@in", nil, let arguments) where arguments.count == 2 && isFact(arguments[0]):
                return constantStrings(arguments[1], depth: depth + 1)
            case .identifier(let name):
                return definitions.definition(name).flatMap { restriction($0.program.expression, depth: depth + 1) }
            default:
                return nil
            }
        }

        /// Whether `expression` reads the discriminating fact at all, itself or through a definition (memoised in
        /// `known` by definition). Comprehension variables are not told apart from facts: a name that shadows the
        /// fact's variable counts as reading it, which only makes more work.
        func readsFact(_ expression: Expression, definitions known: inout [String: Bool], depth: Int = 0) -> Bool {
            guard depth < 32 else { return true }
            for node in expression.nodes {
                if isFact(node) { return true }
                guard case .identifier(let name) = node.kind, let definition = definitions.definition(name) else {
                    continue
                }
                if let reads = known[name] {
                    if reads { return true }
                    continue
                }
                let reads = readsFact(definition.program.expression, definitions: &known, depth: depth + 1)
                known[name] = reads
                if reads { return true }
            }
            return false
        }

        /// Whether `expression` reads the discriminating fact itself (`request.operation`).
        private func isFact(_ expression: Expression) -> Bool {
            var node = expression
            for field in path.dropFirst().reversed() {
                guard case .select(let operand, field, false) = node.kind else { return false }
                node = operand
            }
            if case .identifier(let name) = node.kind { return name == path[0] }
            return false
        }

        /// The strings of a constant list, or the keys of a constant map, written out or through a definition.
        private func constantStrings(_ expression: Expression, depth: Int) -> Set<String>? {
            guard depth < 32 else { return nil }
            var strings: Set<String> = []
            switch expression.kind {
            case .list(let elements):
                for element in elements {
                    guard case .literal(.string(let text)) = element.kind else { return nil }
                    strings.insert(text)
                }
            case .map(let entries):
                for entry in entries {
                    guard case .literal(.string(let text)) = entry.key.kind else { return nil }
                    strings.insert(text)
                }
            case .identifier(let name):
                return definitions.definition(name).flatMap { constantStrings($0.program.expression, depth: depth + 1) }
            default:
                return nil
            }
            return strings
        }
    }
}
