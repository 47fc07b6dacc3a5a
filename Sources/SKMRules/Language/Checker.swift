import Foundation

/// Type-checks an expression against a fact schema: every name declared, every field existing, every function
/// applied to types it accepts. The result types of all nodes let the compiler pick fast paths.
struct Checker {
    let schema: FactSchema
    let definitions: Definitions
    private(set) var types: [Int: CELType] = [:]
    private(set) var problems: [(message: String, span: Span)] = []
    private var substitutions: [Int: CELType] = [:]
    private var nextParameter = 0
    private var scopes: [[String: CELType]] = []

    init(schema: FactSchema, definitions: Definitions = Definitions()) {
        self.schema = schema
        self.definitions = definitions
    }

    mutating func check(_ expression: Expression) -> CELType {
        let type = visit(expression)
        for (id, found) in types { types[id] = resolve(found) }
        return resolve(type)
    }

    private mutating func fail(_ message: String, _ span: Span) -> CELType {
        problems.append((message, span))
        return fresh()
    }

    private mutating func fresh() -> CELType {
        nextParameter += 1
        return .parameter(nextParameter)
    }

    func resolve(_ type: CELType) -> CELType {
        switch type {
        case .parameter(let id): return substitutions[id].map(resolve) ?? type
        case .list(let element): return .list(resolve(element))
        case .map(let key, let value): return .map(resolve(key), resolve(value))
        default: return type
        }
    }

    /// Makes `a` and `b` the same type, binding parameters; false when they cannot be.
    mutating func unify(_ a: CELType, _ b: CELType) -> Bool {
        let a = resolve(a)
        let b = resolve(b)
        switch (a, b) {
        case (.parameter(let x), .parameter(let y)) where x == y: return true
        case (.parameter(let x), _):
            if occurs(x, in: b) { return false }
            substitutions[x] = b
            return true
        case (_, .parameter(let y)):
            if occurs(y, in: a) { return false }
            substitutions[y] = a
            return true
        case (.list(let x), .list(let y)): return unify(x, y)
        case (.map(let k1, let v1), .map(let k2, let v2)): return unify(k1, k2) && unify(v1, v2)
        case (.null, .object), (.object, .null): return true
        default: return a == b
        }
    }

    private func occurs(_ parameter: Int, in type: CELType) -> Bool {
        switch resolve(type) {
        case .parameter(let id): return id == parameter
        case .list(let element): return occurs(parameter, in: element)
        case .map(let key, let value): return occurs(parameter, in: key) || occurs(parameter, in: value)
        default: return false
        }
    }

    /// An overload's signature with fresh parameters.
    private mutating func instantiate(_ overload: Library.Overload) -> ([CELType], CELType) {
        var mapping: [Int: CELType] = [:]
        func replace(_ type: CELType) -> CELType {
            switch type {
            case .parameter(let id) where id < 0:
                if let existing = mapping[id] { return existing }
                nextParameter += 1
                let made = CELType.parameter(nextParameter)
                mapping[id] = made
                return made
            case .list(let element): return .list(replace(element))
            case .map(let key, let value): return .map(replace(key), replace(value))
            default: return type
            }
        }
        return (overload.parameters.map(replace), replace(overload.result))
    }

    private mutating func visit(_ expression: Expression) -> CELType {
        let type = infer(expression)
        types[expression.id] = type
        return type
    }

    private mutating func infer(_ expression: Expression) -> CELType {
        switch expression.kind {
        case .literal(let value):
            switch value {
            case .null: return .null
            case .bool: return .bool
            case .int: return .int
            case .double: return .double
            case .string: return .string
            default: return fresh()
            }

        case .identifier(let name):
            for scope in scopes.reversed() {
                if let type = scope[name] { return type }
            }
            if let variable = schema.variable(name) { return variable.type }
            if let definition = definitions.definition(name) { return definition.type }
            var message = "undeclared reference to '\(name)'"
            let names = schema.variables.map(\.name) + scopes.flatMap(\.keys) + definitions.items.map(\.name)
            if let guess = suggestion(for: name, among: names) { message += "; did you mean '\(guess)'?" }
            return fail(message, expression.span)

        case .select(let operand, let field, let testOnly):
            let operandTypeVisited = visit(operand)
            let operandType = resolve(operandTypeVisited)
            let fieldSpan = Span(
                max(expression.span.start, expression.span.end - field.utf8.count - (testOnly ? 1 : 0)),
                expression.span.end)
            let fieldType: CELType
            switch operandType {
            case .object(let name):
                guard let object = schema.objects[name] else { return fail("unknown type '\(name)'", expression.span) }
                guard let declared = object.field(field) else {
                    var message = "undefined field '\(field)' of \(name)"
                    if let guess = suggestion(for: field, among: object.fields.map(\.name)) {
                        message += "; did you mean '\(guess)'?"
                    }
                    return fail(message, fieldSpan)
                }
                fieldType = declared.type
            case .map(let key, let value):
                guard unify(key, .string) else {
                    return fail("field selection on a map needs string keys, not \(resolve(key))", expression.span)
                }
                fieldType = value
            case .parameter:
                return fail("cannot select field '\(field)' of a value whose type is not known", expression.span)
            default:
                return fail("type '\(operandType)' does not support field selection", expression.span)
            }
            return testOnly ? .bool : fieldType

        case .list(let elements):
            let element = fresh()
            for item in elements {
                let itemType = visit(item)
                if !unify(element, itemType) {
                    return fail(
                        "unsupported: list elements of different types (\(resolve(element)), \(resolve(itemType))) need dyn, which SKM's language leaves out",
                        item.span)
                }
            }
            return .list(element)

        case .map(let entries):
            let key = fresh()
            let value = fresh()
            for entry in entries {
                let keyTypeVisited = visit(entry.key)
                let keyType = resolve(keyTypeVisited)
                switch keyType {
                case .int, .string, .bool, .parameter: break
                default: return fail("map keys must be int, string or bool, not \(keyType)", entry.key.span)
                }
                if !unify(key, keyType) {
                    return fail(
                        "unsupported: map keys of different types need dyn, which SKM's language leaves out",
                        entry.key.span)
                }
                let valueType = visit(entry.value)
                if !unify(value, valueType) {
                    return fail(
                        "unsupported: map values of different types (\(resolve(value)), \(resolve(valueType))) need dyn, which SKM's language leaves out",
                        entry.value.span)
                }
            }
            return .map(key, value)

        case .comprehension(let comprehension):
            let rangeTypeVisited = visit(comprehension.range)
            let rangeType = resolve(rangeTypeVisited)
            let variableType: CELType
            switch rangeType {
            case .list(let element): variableType = element
            case .map(let key, _): variableType = key
            case .parameter: variableType = fresh()
            default:
                return fail(
                    "\(comprehension.macro.rawValue)() needs a list or a map, not \(rangeType)",
                    comprehension.range.span)
            }
            scopes.append([comprehension.variable: variableType])
            defer { scopes.removeLast() }
            let bodyTypes = comprehension.body.map { visit($0) }
            switch comprehension.macro {
            case .all, .exists, .existsOne:
                if !unify(bodyTypes[0], .bool) {
                    return fail(
                        "the predicate of \(comprehension.macro.rawValue)() must be a bool", comprehension.body[0].span)
                }
                return .bool
            case .filter:
                if !unify(bodyTypes[0], .bool) {
                    return fail("the predicate of filter() must be a bool", comprehension.body[0].span)
                }
                return .list(variableType)
            case .map:
                if bodyTypes.count == 2 && !unify(bodyTypes[0], .bool) {
                    return fail("the filter of map() must be a bool", comprehension.body[0].span)
                }
                return .list(bodyTypes.last!)
            }

        case .call(let function, let target, let arguments):
            if let what = Library.unsupported[function] {
                return fail(
                    "unsupported: \(function)() — \(what) is not part of SKM's condition language", expression.span)
            }
            var argumentTypes: [CELType] = []
            if let target { argumentTypes.append(visit(target)) }
            for argument in arguments { argumentTypes.append(visit(argument)) }
            guard let candidates = Library.overloads[function] else {
                var message = "undeclared reference to function '\(function)'"
                if let guess = suggestion(
                    for: function, among: Library.overloads.keys.filter { !Library.isOperator($0) })
                {
                    message += "; did you mean '\(guess)'?"
                }
                return fail(message, expression.span)
            }
            for overload in candidates
            where overload.receiver == (target != nil) && overload.parameters.count == argumentTypes.count {
                let saved = substitutions
                let (parameters, result) = instantiate(overload)
                if zip(parameters, argumentTypes).allSatisfy({ unify($0, $1) }) {
                    return result
                }
                substitutions = saved
            }
            let shown = argumentTypes.map { resolve($0).description }.joined(separator: ", ")
            let name = Library.operatorNames[function] ?? function
            if function == "_?_:_" {
                return fail(
                    "unsupported: the branches of ?: have different types (\(shown.split(separator: ",").dropFirst().joined(separator: ",").trimmingCharacters(in: .whitespaces))); that needs dyn",
                    expression.span)
            }
            return fail(
                "found no matching overload for '\(name)' applied to '\(target != nil ? "receiver " : "")(\(shown))'",
                expression.span)
        }
    }
}
