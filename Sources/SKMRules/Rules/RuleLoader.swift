import Foundation
import SKMPrimitives

extension RuleSet {
    /// Loads rule files: each path is a rule file or a directory of them. A directory may hold `definitions.yaml`
    /// (shared named expressions) and `fixtures/<name>.yaml` (fact sets tests start from).
    ///
    /// Every problem in every file is collected; a set with any error is refused as a whole, so nothing is
    /// half-loaded.
    package static func load(paths: [URL], configuration: Configuration) -> Result<RuleSet, Diagnostics> {
        var loader = RuleLoader(configuration: configuration)
        return loader.load(paths)
    }

    /// Every key a rule file may use: the rule's, a check's and a test's.
    package static var ruleFileKeys: [String] {
        var keys: [String] = []
        for key in RuleLoader.ruleKeys + RuleLoader.checkKeys + RuleLoader.hintKeys + RuleLoader.testKeys
        where !keys.contains(key) {
            keys.append(key)
        }
        return keys
    }
}

struct RuleLoader {
    let configuration: Configuration
    var diagnostics: [Diagnostic] = []
    var definitions = Definitions()
    var fixtures: [String: YAMLNode] = [:]
    var fixtureDirectories: [URL] = []
    var digest = FNV1a()

    typealias Configuration = RuleSet.Configuration

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    static let ruleKeys = [
        "id", "title", "error", "order", "applies_to", "guide", "severity", "summary", "references", "when", "checks",
        "hints", "tests",
    ]
    static let checkKeys = [
        "id", "title", "failure", "order", "when", "assert", "explain", "fix", "severity", "by_elimination", "event",
        "remedy",
    ]
    static let hintKeys = ["id", "title", "about", "holds", "needs", "explain", "fix"]
    static let testKeys = ["name", "base", "facts", "set", "expect"]
    static let expectKeys = ["fails", "warns", "unknown", "passes", "not_applicable"]

    mutating func load(_ paths: [URL]) -> Result<RuleSet, Diagnostics> {
        var ruleFiles: [URL] = []
        var definitionFiles: [URL] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
                diagnostics.append(
                    Diagnostic(file: path.path, line: 1, column: 1, message: "no such file or directory"))
                continue
            }
            if isDirectory.boolValue {
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: path.path)) ?? []).sorted()
                for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                    let file = path.appendingPathComponent(name)
                    if name.hasPrefix("definitions.") { definitionFiles.append(file) } else { ruleFiles.append(file) }
                }
                fixtureDirectories.append(path.appendingPathComponent("fixtures"))
            } else if path.lastPathComponent.hasPrefix("definitions.") {
                definitionFiles.append(path)
            } else {
                ruleFiles.append(path)
                let directory = path.deletingLastPathComponent()
                fixtureDirectories.append(directory.appendingPathComponent("fixtures"))
                let definitions = directory.appendingPathComponent("definitions.yaml")
                if FileManager.default.fileExists(atPath: definitions.path), !definitionFiles.contains(definitions) {
                    definitionFiles.append(definitions)
                }
            }
        }
        for file in definitionFiles { loadDefinitions(file) }
        var rules: [Rule] = []
        var seen: [String: String] = [:]
        for file in ruleFiles {
            guard let (rule, idNode, reader) = loadRule(file) else { continue }
            if let other = seen[rule.id] {
                diagnostics.append(reader.diagnostic("duplicate rule id '\(rule.id)' (also in \(other))", at: idNode))
                continue
            }
            seen[rule.id] = file.path
            rules.append(rule)
        }
        if ruleFiles.isEmpty && diagnostics.isEmpty {
            diagnostics.append(
                Diagnostic(file: paths.first?.path ?? ".", line: 1, column: 1, message: "no rule files found"))
        }
        if diagnostics.contains(where: { $0.severity == .error }) { return .failure(Diagnostics(diagnostics)) }
        return .success(
            RuleSet(
                configuration: configuration, definitions: definitions, rules: rules,
                digest: String(format: "%016llx", digest.value)))
    }

    /// `bytes` with each CR LF, and each CR alone, written as LF: the line breaks YAML reads.
    static func withLineFeeds(_ bytes: Data) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var afterReturn = false
        for byte in bytes {
            if byte == 0x0A && afterReturn {
                afterReturn = false
                continue
            }
            afterReturn = byte == 0x0D
            output.append(afterReturn ? 0x0A : byte)
        }
        return output
    }

    mutating func readFile(_ file: URL) -> (String, YAMLNode)? {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            diagnostics.append(
                Diagnostic(file: file.path, line: 1, column: 1, message: "cannot read: \(error.localizedDescription)"))
            return nil
        }
        // A Windows editor's "Unicode" (UTF-16 after a byte order mark) is read as the text it holds.
        let utf8 = ByteOrderMark.utf8Text(of: data)
        // FNV-1a over every file read, in load order, as UTF-8 with LF line endings: identifies the rule set a report
        // came from, the same however its files were saved (a Windows checkout writes CR LF).
        digest.combine(file.lastPathComponent.utf8)
        digest.combine(Self.withLineFeeds(utf8))
        guard let text = String(data: utf8, encoding: .utf8) else {
            diagnostics.append(
                Diagnostic(file: file.path, line: 1, column: 1, message: "not UTF-8 text (nor UTF-16 after its mark)"))
            return nil
        }
        do throws(YAMLReader.Failure) {
            guard let node = try YAMLReader.read(text) else {
                diagnostics.append(Diagnostic(file: file.path, line: 1, column: 1, message: "empty file"))
                return nil
            }
            return (text, node)
        } catch {
            let lines = text.lines
            let sourceLine = error.line - 1 < lines.count && error.line >= 1 ? String(lines[error.line - 1]) : nil
            diagnostics.append(
                Diagnostic(
                    file: file.path, line: error.line, column: error.column, message: error.message,
                    sourceLine: sourceLine))
            return nil
        }
    }

    mutating func loadDefinitions(_ file: URL) {
        guard let (text, node) = readFile(file) else { return }
        var top = MappingReader(
            node, file: file.path, fileText: text, context: "the definitions file", allowed: ["definitions"])
        defer { diagnostics += top.diagnostics }
        guard let list = top.required("definitions") else { return }
        guard case .sequence(let items) = list.kind else {
            top.diagnostics.append(top.diagnostic("'definitions' must be a list", at: list))
            return
        }
        for item in items {
            var entry = MappingReader(
                item, file: file.path, fileText: text, context: "a definition",
                allowed: ["name", "expression", "description"])
            defer { diagnostics += entry.diagnostics }
            guard let (name, nameNode) = entry.string("name"), let (_, expressionNode) = entry.string("expression")
            else {
                continue
            }
            let description = entry.string("description", required: false)?.0 ?? ""
            if configuration.schema.variable(name) != nil || definitions.definition(name) != nil {
                entry.diagnostics.append(entry.diagnostic("'\(name)' is already defined", at: nameNode))
                continue
            }
            if case .failure(let found) = definitions.add(
                name: name, source: entry.source(of: expressionNode), schema: configuration.schema,
                documentation: description)
            {
                entry.diagnostics += found.items
            }
        }
    }

    mutating func fixture(_ name: String) -> YAMLNode? {
        if let known = fixtures[name] { return known }
        for directory in fixtureDirectories {
            let file = directory.appendingPathComponent("\(name).yaml")
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            guard let (text, node) = readFile(file) else { return nil }
            var reader = MappingReader(
                node, file: file.path, fileText: text, context: "fixture '\(name)'", allowed: ["description", "facts"])
            let facts = reader.required("facts")
            diagnostics += reader.diagnostics
            if let facts {
                // Check the fixture's facts once, against the schema.
                var factReader = FactReader(schema: configuration.schema, file: file.path, fileText: text)
                _ = factReader.activation(facts)
                diagnostics += factReader.diagnostics
                fixtures[name] = facts
            }
            return facts
        }
        return nil
    }

    /// Whether `id` is a letter followed by letters, digits and '-', the letters ASCII and all upper or all lower
    /// case: how rule ids (`SKM-INVALID-APPKEY`) and check and hint ids (`appkey-exists`) are written.
    static func isWellFormedID(_ id: String, upperCase: Bool) -> Bool {
        let letters = upperCase ? UInt8(ascii: "A")...UInt8(ascii: "Z") : UInt8(ascii: "a")...UInt8(ascii: "z")
        guard let first = id.utf8.first, letters.contains(first) else { return false }
        return id.utf8.allSatisfy {
            letters.contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-")
        }
    }

    mutating func loadRule(_ file: URL) -> (Rule, YAMLNode, MappingReader)? {
        guard let (text, node) = readFile(file) else { return nil }
        var reader = MappingReader(node, file: file.path, fileText: text, context: "the rule", allowed: Self.ruleKeys)
        defer { diagnostics += reader.diagnostics }

        let id = reader.string("id")
        if let (value, node) = id, !Self.isWellFormedID(value, upperCase: true) {
            reader.diagnostics.append(
                reader.diagnostic("rule id '\(value)' must be upper case letters, digits and '-'", at: node))
        }
        let title = reader.string("title")
        let order = reader.integer("order")
        var errorReference: Rule.ErrorReference?
        if let errorNode = reader.required("error") {
            var errorReader = MappingReader(
                errorNode, file: file.path, fileText: text, context: "'error'", allowed: ["message", "code"])
            if let (message, messageNode) = errorReader.string("message"),
                let (code, codeNode) = errorReader.integer("code")
            {
                if let expected = configuration.catalogue[code] {
                    if expected != message {
                        errorReader.diagnostics.append(
                            errorReader.diagnostic(
                                "error code \(code) is '\(expected)', not '\(message)'", at: messageNode))
                    } else {
                        errorReference = Rule.ErrorReference(message: message, code: code)
                    }
                } else {
                    var text = "unknown error code \(code)"
                    if let match = configuration.catalogue.first(where: { $0.value == message }) {
                        text += "; '\(message)' is \(match.key)"
                    }
                    errorReader.diagnostics.append(errorReader.diagnostic(text, at: codeNode))
                }
            }
            reader.diagnostics += errorReader.diagnostics
        }
        var appliesTo: Set<String> = []
        for (tag, tagNode) in reader.strings("applies_to") ?? [] {
            if configuration.knownTags.contains(tag) || tag == "any" {
                appliesTo.insert(tag)
            } else {
                var message = "unknown operation or category '\(tag)' in applies_to"
                if let guess = suggestion(for: tag, among: configuration.knownTags) {
                    message += "; did you mean '\(guess)'?"
                }
                reader.diagnostics.append(reader.diagnostic(message, at: tagNode))
            }
        }
        let severity = readSeverity(&reader, "severity") ?? .error
        var when: Program?
        if let (_, whenNode) = reader.string("when", required: false) {
            when = compile(reader.source(of: whenNode), expecting: .bool, &reader)
        }

        var checks: [Check] = []
        var checkIDs: [String: YAMLNode] = [:]
        if let checksNode = reader.required("checks") {
            if case .sequence(let items) = checksNode.kind, !items.isEmpty {
                for item in items {
                    guard let check = loadCheck(item, file: file, text: text, ruleOrder: order?.0 ?? 0, &reader) else {
                        continue
                    }
                    if checkIDs[check.id] != nil {
                        reader.diagnostics.append(reader.diagnostic("duplicate check id '\(check.id)'", at: item))
                    }
                    checkIDs[check.id] = item
                    checks.append(check)
                }
            } else {
                reader.diagnostics.append(reader.diagnostic("'checks' must be a non-empty list", at: checksNode))
            }
        }

        var hints: [Hint] = []
        var hintIDs: [String: YAMLNode] = [:]
        if let hintsNode = reader.value("hints") {
            if case .sequence(let items) = hintsNode.kind {
                for item in items {
                    guard let hint = loadHint(item, file: file, text: text, checks: checkIDs, &reader) else { continue }
                    if hintIDs[hint.id] != nil || checkIDs[hint.id] != nil {
                        reader.diagnostics.append(reader.diagnostic("duplicate id '\(hint.id)'", at: item))
                    }
                    hintIDs[hint.id] = item
                    hints.append(hint)
                }
            } else {
                reader.diagnostics.append(reader.diagnostic("'hints' must be a list", at: hintsNode))
            }
        }

        var tests: [RuleTest] = []
        if let testsNode = reader.value("tests") {
            if case .sequence(let items) = testsNode.kind {
                for item in items {
                    if let test = loadTest(item, file: file, text: text, checks: checkIDs, hints: hintIDs, &reader) {
                        tests.append(test)
                    }
                }
            } else {
                reader.diagnostics.append(reader.diagnostic("'tests' must be a list", at: testsNode))
            }
        }

        guard let (idValue, idNode) = id, let (titleValue, _) = title, let (orderValue, _) = order,
            let errorReference, !checks.isEmpty
        else { return nil }
        let rule = Rule(
            id: idValue, title: titleValue, error: errorReference, order: orderValue, appliesTo: appliesTo,
            guide: reader.string("guide", required: false)?.0, severity: severity,
            summary: reader.string("summary", required: false)?.0 ?? "",
            references: (reader.strings("references", required: false) ?? []).map(\.0), file: file.path, when: when,
            checks: checks, hints: hints, tests: tests)
        reader.diagnostics += renderingProblems(rule, text: text)
        return (rule, idNode, reader)
    }
}
