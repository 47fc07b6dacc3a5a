/// Parses CEL source into an ``Expression``. Recursive descent with CEL's precedence; the nesting depth is bounded
/// so that a pathological expression gets a diagnostic, not a stack overflow.
package struct Parser {
    /// The deepest nesting of parentheses, calls, lists, maps, unary operators and conditionals accepted.
    package static let maximumNesting = 100
    /// The longest expression accepted, in bytes.
    package static let maximumLength = 16 * 1024
    /// The most nodes an expression may have.
    package static let maximumNodes = 5000

    private var tokens: [Token] = []
    private var position = 0
    private var nextID = 1
    private var nesting = 0

    package init() {}

    /// Parses `source`; failures are reported as one diagnostic at the offending place.
    package static func parse(_ source: Source) -> Result<Expression, Diagnostic> {
        var parser = Parser()
        return parser.run(source)
    }

    mutating func run(_ source: Source) -> Result<Expression, Diagnostic> {
        guard source.text.utf8.count <= Self.maximumLength else {
            return .failure(
                Diagnostic(
                    "expression is \(source.text.utf8.count) bytes long, over the limit of \(Self.maximumLength)",
                    at: Span(0, 0), in: source))
        }
        do throws(SyntaxError) {
            var lexer = Lexer(source.text)
            tokens = try lexer.tokens()
            if let unsupported = tokens.first(where: {
                if case .unsupported = $0.kind { return true } else { return false }
            }),
                case .unsupported(let what) = unsupported.kind
            {
                throw SyntaxError(
                    message: "unsupported: \(what)s are not part of SKM's condition language (no uint or bytes types)",
                    span: unsupported.span)
            }
            let expression = try parseExpression()
            guard case .end = current.kind else {
                throw SyntaxError(message: "unexpected \(describe(current)) after the expression", span: current.span)
            }
            if nextID > Self.maximumNodes {
                throw SyntaxError(message: "expression has more than \(Self.maximumNodes) parts", span: Span(0, 0))
            }
            return .success(expression)
        } catch {
            return .failure(Diagnostic(error.message, at: error.span, in: source))
        }
    }

    private var current: Token { tokens[position] }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .int, .double: return "number"
        case .string: return "string"
        case .identifier(let name): return "'\(name)'"
        case .reserved(let word): return "reserved word '\(word)'"
        case .unsupported(let what): return what
        case .symbol(let symbol): return "'\(symbol)'"
        case .end: return "end of expression"
        }
    }

    private func isSymbol(_ symbol: String) -> Bool {
        if case .symbol(let found) = current.kind { return found == symbol }
        return false
    }

    private func isIdentifier(_ word: String) -> Bool {
        if case .identifier(let found) = current.kind { return found == word }
        return false
    }

    private mutating func expect(_ symbol: String, _ context: String) throws(SyntaxError) -> Token {
        guard isSymbol(symbol) else {
            throw SyntaxError(
                message: "expected '\(symbol)' \(context), found \(describe(current))", span: current.span)
        }
        defer { position += 1 }
        return current
    }

    private mutating func make(_ kind: Expression.Kind, _ span: Span) -> Expression {
        defer { nextID += 1 }
        return Expression(id: nextID, span: span, kind: kind)
    }

    private mutating func call(_ function: String, _ arguments: [Expression], _ span: Span) -> Expression {
        make(.call(function: function, target: nil, arguments: arguments), span)
    }

    private mutating func enter(_ span: Span) throws(SyntaxError) {
        nesting += 1
        if nesting > Self.maximumNesting {
            throw SyntaxError(message: "expression nested deeper than \(Self.maximumNesting) levels", span: span)
        }
    }

    private mutating func leave() { nesting -= 1 }

    // expr := or ['?' or ':' expr]
    private mutating func parseExpression() throws(SyntaxError) -> Expression {
        try enter(current.span)
        defer { leave() }
        let condition = try parseOr()
        guard isSymbol("?") else { return condition }
        position += 1
        let whenTrue = try parseOr()
        _ = try expect(":", "in a conditional expression")
        let whenFalse = try parseExpression()
        return call("_?_:_", [condition, whenTrue, whenFalse], Span(condition.span.start, whenFalse.span.end))
    }

    private mutating func parseOr() throws(SyntaxError) -> Expression {
        var left = try parseAnd()
        while isSymbol("||") {
            position += 1
            let right = try parseAnd()
            left = call("_||_", [left, right], Span(left.span.start, right.span.end))
        }
        return left
    }

    private mutating func parseAnd() throws(SyntaxError) -> Expression {
        var left = try parseRelation()
        while isSymbol("&&") {
            position += 1
            let right = try parseRelation()
            left = call("_&&_", [left, right], Span(left.span.start, right.span.end))
        }
        return left
    }

    private static let relations: [String: String] = [
        "==": "_==_", "!=": "_!=_", "<": "_<_", "<=": "_<=_", ">": "_>_", ">=": "_>=_",
    ]

    private mutating func parseRelation() throws(SyntaxError) -> Expression {
        var left = try parseAddition()
        while true {
            let function: String
            if case .symbol(let symbol) = current.kind, let name = Self.relations[symbol] {
                function = name
            } else if isIdentifier("in") {
                function = "@in"
            } else {
                return left
            }
            position += 1
            let right = try parseAddition()
            left = call(function, [left, right], Span(left.span.start, right.span.end))
        }
    }

    private mutating func parseAddition() throws(SyntaxError) -> Expression {
        var left = try parseMultiplication()
        while isSymbol("+") || isSymbol("-") {
            let function = isSymbol("+") ? "_+_" : "_-_"
            position += 1
            let right = try parseMultiplication()
            left = call(function, [left, right], Span(left.span.start, right.span.end))
        }
        return left
    }

    private mutating func parseMultiplication() throws(SyntaxError) -> Expression {
        var left = try parseUnary()
        while isSymbol("*") || isSymbol("/") || isSymbol("%") {
            let function = isSymbol("*") ? "_*_" : isSymbol("/") ? "_/_" : "_%_"
            position += 1
            let right = try parseUnary()
            left = call(function, [left, right], Span(left.span.start, right.span.end))
        }
        return left
    }

    private mutating func parseUnary() throws(SyntaxError) -> Expression {
        let start = current.span.start
        if isSymbol("!") {
            try enter(current.span)
            defer { leave() }
            position += 1
            let operand = try parseUnary()
            return call("!_", [operand], Span(start, operand.span.end))
        }
        if isSymbol("-") {
            try enter(current.span)
            defer { leave() }
            position += 1
            // A negative integer literal is one literal, so that -9223372036854775808 fits.
            if case .int(let magnitude) = current.kind, !nextIsMemberAccess() {
                let span = Span(start, current.span.end)
                position += 1
                guard magnitude <= UInt64(Int64.max) + 1 else {
                    throw SyntaxError(message: "integer literal out of range", span: span)
                }
                let value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
                return try parseMemberSuffix(make(.literal(.int(value)), span))
            }
            let operand = try parseUnary()
            return call("-_", [operand], Span(start, operand.span.end))
        }
        return try parseMember()
    }

    /// Whether the token after the current one starts a member access (`-1.size()` is not a literal).
    private func nextIsMemberAccess() -> Bool {
        guard position + 1 < tokens.count, case .symbol(let symbol) = tokens[position + 1].kind else { return false }
        return symbol == "." || symbol == "["
    }

    private mutating func parseMember() throws(SyntaxError) -> Expression {
        try parseMemberSuffix(try parsePrimary())
    }

    private mutating func parseMemberSuffix(_ base: Expression) throws(SyntaxError) -> Expression {
        var expression = base
        while true {
            if isSymbol(".") {
                position += 1
                let nameToken = current
                let name: String
                switch nameToken.kind {
                case .identifier(let word), .reserved(let word): name = word
                default:
                    throw SyntaxError(message: "expected a field or method name after '.'", span: nameToken.span)
                }
                position += 1
                if isSymbol("(") {
                    try enter(current.span)
                    position += 1
                    let arguments = try parseArguments(closing: ")")
                    let end = try expect(")", "to close the argument list").span.end
                    leave()
                    expression = try member(call: name, target: expression, arguments, Span(expression.span.start, end))
                } else {
                    expression = make(
                        .select(operand: expression, field: name, testOnly: false),
                        Span(expression.span.start, nameToken.span.end))
                }
            } else if isSymbol("[") {
                try enter(current.span)
                position += 1
                let index = try parseExpression()
                let end = try expect("]", "to close the index").span.end
                leave()
                expression = call("_[_]", [expression, index], Span(expression.span.start, end))
            } else {
                return expression
            }
        }
    }

    private mutating func parseArguments(closing: String) throws(SyntaxError) -> [Expression] {
        var arguments: [Expression] = []
        if isSymbol(closing) { return arguments }
        while true {
            arguments.append(try parseExpression())
            guard isSymbol(",") else { return arguments }
            position += 1
            if isSymbol(closing) { return arguments }
        }
    }

    /// `target.name(arguments)`: a macro (`all`, `exists`, `exists_one`, `map`, `filter`) or a method call.
    private mutating func member(
        call name: String, target: Expression, _ arguments: [Expression], _ span: Span
    )
        throws(SyntaxError) -> Expression
    {
        if let macro = Expression.Macro(rawValue: name) {
            let counts: [Int] = macro == .map ? [2, 3] : [2]
            guard counts.contains(arguments.count) else {
                throw SyntaxError(
                    message: "\(name)() takes \(counts.map(String.init).joined(separator: " or ")) arguments",
                    span: span)
            }
            guard case .identifier(let variable) = arguments[0].kind else {
                throw SyntaxError(
                    message: "the first argument of \(name)() must be a variable name", span: arguments[0].span)
            }
            return make(
                .comprehension(
                    .init(macro: macro, range: target, variable: variable, body: Array(arguments.dropFirst()))),
                span)
        }
        return make(.call(function: name, target: target, arguments: arguments), span)
    }

    private mutating func parsePrimary() throws(SyntaxError) -> Expression {
        let token = current
        switch token.kind {
        case .int(let magnitude):
            position += 1
            guard magnitude <= UInt64(Int64.max) else {
                throw SyntaxError(message: "integer literal out of range", span: token.span)
            }
            return make(.literal(.int(Int64(magnitude))), token.span)
        case .double(let value):
            position += 1
            return make(.literal(.double(value)), token.span)
        case .string(let text):
            position += 1
            return make(.literal(.string(text)), token.span)
        case .identifier(let name):
            position += 1
            switch name {
            case "true": return make(.literal(.bool(true)), token.span)
            case "false": return make(.literal(.bool(false)), token.span)
            case "null": return make(.literal(.null), token.span)
            case "in": throw SyntaxError(message: "unexpected 'in'", span: token.span)
            default: break
            }
            guard isSymbol("(") else { return make(.identifier(name), token.span) }
            try enter(current.span)
            position += 1
            let arguments = try parseArguments(closing: ")")
            let end = try expect(")", "to close the argument list").span.end
            leave()
            let span = Span(token.span.start, end)
            if name == "has" {
                guard arguments.count == 1, case .select(let operand, let field, false) = arguments[0].kind else {
                    throw SyntaxError(
                        message: "has() takes one field selection, like has(request.client.macHeader)", span: span)
                }
                return make(.select(operand: operand, field: field, testOnly: true), span)
            }
            return make(.call(function: name, target: nil, arguments: arguments), span)
        case .reserved(let word):
            throw SyntaxError(message: "reserved word '\(word)' cannot be used as a name", span: token.span)
        case .symbol("("):
            try enter(token.span)
            position += 1
            let inner = try parseExpression()
            _ = try expect(")", "to close the parenthesis")
            leave()
            return inner
        case .symbol("["):
            try enter(token.span)
            position += 1
            let elements = try parseArguments(closing: "]")
            let end = try expect("]", "to close the list").span.end
            leave()
            return make(.list(elements), Span(token.span.start, end))
        case .symbol("{"):
            try enter(token.span)
            position += 1
            var entries: [(key: Expression, value: Expression)] = []
            while !isSymbol("}") {
                let key = try parseExpression()
                _ = try expect(":", "between a map key and its value")
                let value = try parseExpression()
                entries.append((key, value))
                guard isSymbol(",") else { break }
                position += 1
            }
            let end = try expect("}", "to close the map").span.end
            leave()
            return make(.map(entries), Span(token.span.start, end))
        case .symbol("."):
            throw SyntaxError(message: "qualified names starting with '.' are not supported", span: token.span)
        case .end:
            throw SyntaxError(message: "unexpected end of expression", span: token.span)
        default:
            throw SyntaxError(message: "unexpected \(describe(token))", span: token.span)
        }
    }
}
