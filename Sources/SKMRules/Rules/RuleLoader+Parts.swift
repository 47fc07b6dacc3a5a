import Foundation
import SKMPrimitives

/// The parts of a rule file: checks, hints, remedies, templates and tests, each read with its diagnostics.
extension RuleLoader {
    /// Renders, on each test's facts, the explanation and fix of the check it makes fail and of the hint it expects:
    /// a hole that would show nothing or an unknown is refused here, where the rule file can still be fixed.
    func renderingProblems(_ rule: Rule, text: String) -> [Diagnostic] {
        // The file's lines, split only when a problem is found: most loads find none.
        var lines: [Substring]?
        var found: [Diagnostic] = []
        // Only the rule's own evaluation is asked of this set: it needs no guard index, whose per-operation testers
        // take longest of anything in loading.
        var plain = configuration
        plain.discriminator = nil
        let set = RuleSet(configuration: plain, definitions: definitions, rules: [rule])
        for test in rule.tests {
            guard case .fails(let id, let hintID) = test.expectation else { continue }
            let outcome = set.evaluate(rule, facts: test.facts, recordingEvidence: false)
            guard let cause = outcome.cause, cause.check.id == id else { continue }
            var renderings = [("explanation of '\(id)'", cause.check.explanation.render(test.facts))]
            renderings.append(("fix of '\(id)'", cause.check.fix.render(test.facts)))
            if let hintID, let hint = rule.hints.first(where: { $0.id == hintID }) {
                renderings.append(("explanation of hint '\(hintID)'", hint.explanation.render(test.facts)))
                if let fix = hint.fix { renderings.append(("fix of hint '\(hintID)'", fix.render(test.facts))) }
            }
            for (what, rendering) in renderings {
                for problem in rendering.problems {
                    let split = lines ?? text.lines
                    lines = split
                    let sourceLine = test.line - 1 < split.count ? String(split[test.line - 1]) : nil
                    found.append(
                        Diagnostic(
                            file: rule.file, line: test.line, column: test.column,
                            message: "on the facts of test '\(test.name)', the \(what) \(problem)",
                            sourceLine: sourceLine))
                }
            }
        }
        return found
    }

    mutating func loadHint(
        _ node: YAMLNode, file: URL, text: String, checks: [String: YAMLNode], _ outer: inout MappingReader
    ) -> Hint? {
        var reader = MappingReader(node, file: file.path, fileText: text, context: "a hint", allowed: Self.hintKeys)
        defer { outer.diagnostics += reader.diagnostics }
        let id = reader.string("id")
        if let (value, idNode) = id, !Self.isWellFormedID(value, upperCase: false) {
            reader.diagnostics.append(
                reader.diagnostic("hint id '\(value)' must be lower case letters, digits and '-'", at: idNode))
        }
        let title = reader.string("title")
        var about: Set<String> = []
        for (name, nameNode) in reader.strings("about", required: false) ?? [] {
            guard checks[name] != nil else {
                var message = "no check '\(name)' in this rule"
                if let guess = suggestion(for: name, among: checks.keys) { message += "; did you mean '\(guess)'?" }
                reader.diagnostics.append(reader.diagnostic(message, at: nameNode))
                continue
            }
            about.insert(name)
        }
        var needs: [String] = []
        for (path, pathNode) in reader.strings("needs") ?? [] {
            if let problem = factPathProblem(path) {
                reader.diagnostics.append(reader.diagnostic(problem, at: pathNode))
            } else {
                needs.append(path)
            }
        }
        var holds: Program?
        if let (_, holdsNode) = reader.string("holds") {
            holds = compile(reader.source(of: holdsNode), expecting: .bool, &reader)
        }
        let explanation = reader.string("explain").flatMap { template($0.1, &reader) }
        let fix = reader.string("fix", required: false).flatMap { template($0.1, &reader) }
        guard let (idValue, _) = id, let (titleValue, _) = title, let holds, let explanation, !needs.isEmpty else {
            return nil
        }
        return Hint(
            id: idValue, title: titleValue, about: about, holds: holds, needs: needs, explanation: explanation, fix: fix
        )
    }

    /// Why `path` names no fact of the schema (`request.client.ip`), or `nil` when it does.
    func factPathProblem(_ path: String) -> String? {
        let parts = path.split(separator: ".").map(String.init)
        guard let first = parts.first, let variable = configuration.schema.variable(first) else {
            return "'\(path)' does not start with a fact variable"
        }
        var type = variable.type
        for part in parts.dropFirst() {
            if case .list(let element) = type { type = element }
            guard case .object(let name) = type, let object = configuration.schema.objects[name],
                let field = object.field(part)
            else { return "'\(path)' is not a fact: no field '\(part)' there" }
            type = field.type
        }
        return nil
    }

    mutating func loadRemedy(
        _ node: YAMLNode, file: URL, text: String, _ outer: inout MappingReader
    )
        -> RemedyTemplate?
    {
        guard case .mapping(let entries) = node.kind else {
            outer.diagnostics.append(outer.diagnostic("'remedy' must be a mapping with a 'kind'", at: node))
            return nil
        }
        let names = entries.compactMap { $0.key.scalar }.filter { $0 != "when" }
        guard let kindEntry = entries.first(where: { $0.key.scalar == "kind" }), let kind = kindEntry.value.scalar
        else {
            outer.diagnostics.append(outer.diagnostic("'remedy' needs a 'kind'", at: node))
            return nil
        }
        guard let parameters = configuration.remedies[kind] else {
            var message = "unknown remedy kind '\(kind)'"
            if let guess = suggestion(for: kind, among: configuration.remedies.keys) {
                message += "; did you mean '\(guess)'?"
            }
            outer.diagnostics.append(outer.diagnostic(message, at: kindEntry.value))
            return nil
        }
        var reader = MappingReader(
            node, file: file.path, fileText: text, context: "remedy '\(kind)'",
            allowed: ["kind", "when"] + parameters.map(\.name))
        defer { outer.diagnostics += reader.diagnostics }
        var when: Program?
        if let (_, whenNode) = reader.string("when", required: false) {
            when = compile(reader.source(of: whenNode), expecting: .bool, &reader)
        }
        var arguments: [(String, Program)] = []
        for (name, type) in parameters {
            guard let (_, argumentNode) = reader.string(name) else { continue }
            if let program = compile(reader.source(of: argumentNode), expecting: type, &reader) {
                arguments.append((name, program))
            }
        }
        guard arguments.count == parameters.count, names.count == parameters.count + 1 else { return nil }
        return RemedyTemplate(kind: kind, when: when, arguments: arguments)
    }

    mutating func readSeverity(_ reader: inout MappingReader, _ name: String) -> Severity? {
        guard let (text, node) = reader.string(name, required: false) else { return nil }
        guard let severity = Severity(rawValue: text) else {
            reader.diagnostics.append(
                reader.diagnostic("severity must be 'error' or 'warning', not '\(text)'", at: node))
            return nil
        }
        return severity
    }

    mutating func compile(_ source: Source, expecting: CELType?, _ reader: inout MappingReader) -> Program? {
        switch Compiler.compile(source, schema: configuration.schema, definitions: definitions, expecting: expecting) {
        case .success(let program): return program
        case .failure(let found):
            reader.diagnostics += found.items
            return nil
        }
    }

    mutating func template(_ node: YAMLNode, _ reader: inout MappingReader) -> Template? {
        switch Template.compile(reader.source(of: node), schema: configuration.schema, definitions: definitions) {
        case .success(let template): return template
        case .failure(let found):
            reader.diagnostics += found.items
            return nil
        }
    }

    mutating func loadCheck(
        _ node: YAMLNode, file: URL, text: String, ruleOrder: Int, _ outer: inout MappingReader
    ) -> Check? {
        var reader = MappingReader(node, file: file.path, fileText: text, context: "a check", allowed: Self.checkKeys)
        defer { outer.diagnostics += reader.diagnostics }
        let id = reader.string("id")
        if let (value, idNode) = id, !Self.isWellFormedID(value, upperCase: false) {
            reader.diagnostics.append(
                reader.diagnostic("check id '\(value)' must be lower case letters, digits and '-'", at: idNode))
        }
        var byElimination = false
        if let (flag, flagNode) = reader.string("by_elimination", required: false) {
            guard flag == "true" || flag == "false" else {
                reader.diagnostics.append(reader.diagnostic("by_elimination must be true or false", at: flagNode))
                return nil
            }
            byElimination = flag == "true"
        }
        var assertion: Program?
        if byElimination {
            if let node = reader.value("assert") {
                reader.diagnostics.append(reader.diagnostic("a check found by elimination has no 'assert'", at: node))
            }
            assertion = compile(Source(name: file.path, text: "false"), expecting: .bool, &reader)
        } else if let (_, assertNode) = reader.string("assert") {
            assertion = compile(reader.source(of: assertNode), expecting: .bool, &reader)
        }
        var when: Program?
        if let (_, whenNode) = reader.string("when", required: false) {
            when = compile(reader.source(of: whenNode), expecting: .bool, &reader)
        }
        var event: Program?
        if let (_, eventNode) = reader.string("event", required: false) {
            event = compile(reader.source(of: eventNode), expecting: nil, &reader)
        }
        let explanation = reader.string("explain").flatMap { template($0.1, &reader) }
        let fix = reader.string("fix").flatMap { template($0.1, &reader) }
        let severity = readSeverity(&reader, "severity") ?? .error
        let order = reader.integer("order", required: false)?.0 ?? ruleOrder
        let title = reader.string("title")
        let failure = reader.string("failure")
        var remedy: RemedyTemplate?
        if let remedyNode = reader.value("remedy") {
            remedy = loadRemedy(remedyNode, file: file, text: text, &reader)
        }
        guard let (idValue, _) = id, let assertion, let explanation, let fix, let (titleValue, _) = title,
            let (failureValue, _) = failure
        else { return nil }
        return Check(
            id: idValue, title: titleValue, failure: failureValue, order: order, severity: severity,
            byElimination: byElimination, when: when, assertion: assertion, explanation: explanation, fix: fix,
            event: event, remedy: remedy)
    }

    mutating func loadTest(
        _ node: YAMLNode, file: URL, text: String, checks: [String: YAMLNode], hints: [String: YAMLNode],
        _ outer: inout MappingReader
    )
        -> RuleTest?
    {
        var reader = MappingReader(node, file: file.path, fileText: text, context: "a test", allowed: Self.testKeys)
        defer { outer.diagnostics += reader.diagnostics }
        guard let (name, _) = reader.string("name") else { return nil }
        var tree: YAMLNode
        if let (base, baseNode) = reader.string("base", required: false) {
            guard let found = fixture(base) else {
                reader.diagnostics.append(
                    reader.diagnostic("no fixture '\(base)' (looked for fixtures/\(base).yaml)", at: baseNode))
                return nil
            }
            tree = found
        } else {
            tree = YAMLNode(kind: .mapping([]), line: node.line, column: node.column)
        }
        for (key, what) in [("facts", "'facts' must be a mapping"), ("set", "'set' must be a mapping of fact paths")] {
            guard let patches = reader.value(key) else { continue }
            guard case .mapping(let entries) = patches.kind else {
                reader.diagnostics.append(reader.diagnostic(what, at: patches))
                return nil
            }
            for entry in entries {
                guard let path = entry.key.scalar else { continue }
                do throws(FactPatch.PathError) {
                    try FactPatch.apply(path, entry.value, to: &tree)
                } catch {
                    reader.diagnostics.append(reader.diagnostic(error.message, at: entry.key))
                }
            }
        }
        var factReader = FactReader(schema: configuration.schema, file: file.path, fileText: text)
        let facts = factReader.activation(tree)
        reader.diagnostics += factReader.diagnostics

        guard let expectNode = reader.required("expect") else { return nil }
        var expect = MappingReader(
            expectNode, file: file.path, fileText: text, context: "'expect'", allowed: Self.expectKeys + ["hint"])
        defer { reader.diagnostics += expect.diagnostics }
        var expectation: RuleTest.Expectation?
        var expectedHint: String?
        if let (hint, hintNode) = expect.string("hint", required: false) {
            if hints[hint] == nil {
                var message = "no hint '\(hint)' in this rule"
                if let guess = suggestion(for: hint, among: hints.keys) { message += "; did you mean '\(guess)'?" }
                expect.diagnostics.append(expect.diagnostic(message, at: hintNode))
            } else {
                expectedHint = hint
            }
        }
        for key in Self.expectKeys {
            guard let (value, valueNode) = expect.string(key, required: false) else { continue }
            if expectation != nil {
                expect.diagnostics.append(
                    expect.diagnostic(
                        "'expect' takes exactly one of \(Self.expectKeys.joined(separator: ", "))", at: valueNode))
                continue
            }
            switch key {
            case "passes", "not_applicable":
                guard value == "true" else {
                    expect.diagnostics.append(expect.diagnostic("'\(key)' must be true", at: valueNode))
                    continue
                }
                expectation = key == "passes" ? .passes : .notApplicable
            default:
                guard checks[value] != nil else {
                    var message = "no check '\(value)' in this rule"
                    if let guess = suggestion(for: value, among: checks.keys) {
                        message += "; did you mean '\(guess)'?"
                    }
                    expect.diagnostics.append(expect.diagnostic(message, at: valueNode))
                    continue
                }
                expectation =
                    key == "fails"
                    ? .fails(value, hint: expectedHint) : key == "warns" ? .warns(value) : .unknown(value)
            }
        }
        if expectedHint != nil, let hintNode = expect.value("hint") {
            if case .fails? = expectation {
            } else {
                expect.diagnostics.append(
                    expect.diagnostic("'hint' goes with 'fails': the cause it explains", at: hintNode))
            }
        }
        guard let expectation else {
            if expect.diagnostics.isEmpty {
                expect.diagnostics.append(
                    expect.diagnostic(
                        "'expect' needs one of \(Self.expectKeys.joined(separator: ", "))", at: expectNode))
            }
            return nil
        }
        return RuleTest(
            name: name, facts: facts, tags: configuration.tags(facts), expectation: expectation, line: node.line,
            column: node.column)
    }
}
