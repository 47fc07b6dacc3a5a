/// A parsed expression: a tree of nodes, each with an id and the span of source it came from.
package final class Expression: Sendable {
    package enum Kind: Sendable {
        case literal(Value)
        case identifier(String)
        /// `operand.field`; `testOnly` for `has(operand.field)`.
        case select(operand: Expression, field: String, testOnly: Bool)
        /// A function or operator call (`_+_`, `_&&_`, `size`, …), with a receiver for `x.f(…)`.
        case call(function: String, target: Expression?, arguments: [Expression])
        case list([Expression])
        case map([(key: Expression, value: Expression)])
        /// `range.all(x, p)` and the other macros.
        case comprehension(Comprehension)
    }

    package enum Macro: String, Sendable {
        case all, exists
        case existsOne = "exists_one"
        case map, filter
    }

    package struct Comprehension: Sendable {
        package var macro: Macro
        package var range: Expression
        package var variable: String
        /// `[predicate]`, or for `map` `[transform]` or `[filter, transform]`.
        package var body: [Expression]
    }

    package let id: Int
    package let span: Span
    package let kind: Kind

    init(id: Int, span: Span, kind: Kind) {
        self.id = id
        self.span = span
        self.kind = kind
    }

    /// Every node below and including this one, depth first.
    var nodes: [Expression] {
        var result: [Expression] = [self]
        switch kind {
        case .literal, .identifier: break
        case .select(let operand, _, _): result += operand.nodes
        case .call(_, let target, let arguments):
            if let target { result += target.nodes }
            for argument in arguments { result += argument.nodes }
        case .list(let elements): for element in elements { result += element.nodes }
        case .map(let entries):
            for entry in entries { result += entry.key.nodes + entry.value.nodes }
        case .comprehension(let comprehension):
            result += comprehension.range.nodes
            for part in comprehension.body { result += part.nodes }
        }
        return result
    }

    /// The longest path from this node to a leaf.
    var depth: Int {
        var deepest = 0
        var stack: [(Expression, Int)] = [(self, 1)]
        while let (node, level) = stack.popLast() {
            deepest = max(deepest, level)
            switch node.kind {
            case .literal, .identifier: break
            case .select(let operand, _, _): stack.append((operand, level + 1))
            case .call(_, let target, let arguments):
                if let target { stack.append((target, level + 1)) }
                for argument in arguments { stack.append((argument, level + 1)) }
            case .list(let elements): for element in elements { stack.append((element, level + 1)) }
            case .map(let entries):
                for entry in entries {
                    stack.append((entry.key, level + 1))
                    stack.append((entry.value, level + 1))
                }
            case .comprehension(let comprehension):
                stack.append((comprehension.range, level + 1))
                for part in comprehension.body { stack.append((part, level + 1)) }
            }
        }
        return deepest
    }

    /// A dotted name (`request.client.ip`) when the expression is a chain of selections on an identifier.
    var qualifiedName: String? {
        switch kind {
        case .identifier(let name): return name
        case .select(let operand, let field, false): return operand.qualifiedName.map { "\($0).\(field)" }
        default: return nil
        }
    }
}
