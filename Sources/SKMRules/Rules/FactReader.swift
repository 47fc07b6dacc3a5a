import Foundation
import SKMPrimitives

/// Builds fact values from YAML (rule tests and their fixtures), typed by the schema.
///
/// A field tagged `!unknown "what would settle it"` is unknown; `!absent` (or leaving it out) leaves it unset.
/// Times are RFC 3339 text, durations Go-style (`168h`).
struct FactReader {
    let schema: FactSchema
    let file: String
    let fileText: String
    var diagnostics: [Diagnostic] = []

    init(schema: FactSchema, file: String, fileText: String) {
        self.schema = schema
        self.file = file
        self.fileText = fileText
    }

    mutating func problem(_ message: String, _ node: YAMLNode) {
        let lines = fileText.lines
        let text = node.line - 1 < lines.count ? String(lines[node.line - 1]) : nil
        diagnostics.append(
            Diagnostic(file: file, line: node.line, column: node.column, message: message, sourceLine: text))
    }

    /// The activation for a `facts` mapping of variable names.
    mutating func activation(_ node: YAMLNode) -> Activation {
        var values: [String: Value] = [:]
        guard case .mapping(let entries) = node.kind else {
            problem("facts must be a mapping of variable names", node)
            return Activation(schema: schema, values: [:])
        }
        for entry in entries {
            guard let name = entry.key.scalar else { continue }
            guard let variable = schema.variable(name) else {
                var message = "unknown fact '\(name)'"
                if let guess = suggestion(for: name, among: schema.variables.map(\.name)) {
                    message += "; did you mean '\(guess)'?"
                }
                problem(message, entry.key)
                continue
            }
            if let value = self.value(entry.value, type: variable.type, path: name) { values[name] = value }
        }
        return Activation(schema: schema, values: values)
    }

    /// A typed value, `nil` for `!absent`.
    mutating func value(_ node: YAMLNode, type: CELType, path: String) -> Value? {
        if let tag = node.tag {
            if tag == "!absent" { return nil }
            if tag == "!unknown" { return .unknown(Unknown(path: path, settle: node.scalar ?? "")) }
        }
        switch (type, node.kind) {
        case (.object(let name), .mapping(let entries)):
            guard let object = schema.objects[name] else { return nil }
            var fields = [Value?](repeating: nil, count: object.fields.count)
            for entry in entries {
                guard let field = entry.key.scalar else { continue }
                guard let position = object.index(of: field) else {
                    var message = "unknown field '\(field)' of \(name) at \(path)"
                    if let guess = suggestion(for: field, among: object.fields.map(\.name)) {
                        message += "; did you mean '\(guess)'?"
                    }
                    problem(message, entry.key)
                    continue
                }
                fields[position] = value(entry.value, type: object.fields[position].type, path: "\(path).\(field)")
            }
            return .object(ObjectValue(type: object, fields: fields))
        case (.list(let element), .sequence(let items)):
            var values: [Value] = []
            for (index, item) in items.enumerated() {
                if let value = value(item, type: element, path: "\(path)[\(index)]") { values.append(value) }
            }
            return .list(values)
        case (.map(let keyType, let valueType), .mapping(let entries)):
            var pairs: [(Value, Value)] = []
            for entry in entries {
                guard let key = value(entry.key, type: keyType, path: path),
                    let item = value(entry.value, type: valueType, path: "\(path)[\(entry.key.scalar ?? "")]")
                else { continue }
                pairs.append((key, item))
            }
            do throws(EvaluationError) {
                return .map(try MapValue(pairs))
            } catch {
                problem("\(path): \(error.reason)", node)
                return nil
            }
        case (_, .scalar(let text, let style, _)):
            let plain = style == .plain
            if plain && (text == "~" || text == "null"), type == .null || isObject(type) { return .null }
            switch type {
            case .string: return .string(text)
            case .int:
                if let number = Int64(text) { return .int(number) }
            case .double:
                if let number = Double(text) { return .double(number) }
            case .bool:
                if text == "true" { return .bool(true) }
                if text == "false" { return .bool(false) }
            case .timestamp:
                if let time = CELTime(rfc3339: text) { return .timestamp(time) }
            case .duration:
                if let duration = CELDuration(text: text) { return .duration(duration) }
            case .null:
                if text == "null" || text == "~" { return .null }
            default: break
            }
            problem("\(path) must be a \(type), not '\(text.prefix(60))'", node)
            return nil
        default:
            problem("\(path) must be a \(type), not \(node.kindName)", node)
            return nil
        }
    }

    private func isObject(_ type: CELType) -> Bool {
        if case .object = type { return true }
        return false
    }
}

/// Overrides applied to a fact tree: `request.client.ip: 10.0.0.9`, `store.ipv4s[0].status: PENDING_DELETION`.
enum FactPatch {
    struct PathError: Error { var message: String }

    static func apply(_ path: String, _ replacement: YAMLNode, to tree: inout YAMLNode) throws(PathError) {
        var steps: [Step] = []
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw PathError(message: "empty step in path '\(path)'") }
            var name = Substring(part)
            var indices: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]") {
                guard let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]), index >= 0
                else {
                    throw PathError(message: "bad index in path '\(path)'")
                }
                indices.insert(index, at: 0)
                name = name[..<open]
            }
            steps.append(.field(String(name)))
            steps += indices.map(Step.index)
        }
        try set(steps[...], replacement, in: &tree, path: path)
    }

    enum Step {
        case field(String)
        case index(Int)
    }

    private static func set(
        _ steps: ArraySlice<Step>, _ replacement: YAMLNode, in node: inout YAMLNode, path: String
    )
        throws(PathError)
    {
        guard let step = steps.first else {
            node = replacement
            return
        }
        switch (step, node.kind) {
        case (.field(let name), .mapping(var entries)):
            if let position = entries.firstIndex(where: { $0.key.scalar == name }) {
                try set(steps.dropFirst(), replacement, in: &entries[position].value, path: path)
            } else {
                var created = YAMLNode(kind: .mapping([]), line: replacement.line, column: replacement.column)
                try set(steps.dropFirst(), replacement, in: &created, path: path)
                entries.append(
                    (
                        YAMLNode(
                            kind: .scalar(name, style: .plain, tag: "tag:yaml.org,2002:str"), line: replacement.line,
                            column: replacement.column), created
                    ))
            }
            node.kind = .mapping(entries)
        case (.index(let index), .sequence(var items)):
            guard index < items.count else { throw PathError(message: "index \(index) is past the end in '\(path)'") }
            try set(steps.dropFirst(), replacement, in: &items[index], path: path)
            node.kind = .sequence(items)
        case (.field(let name), _):
            throw PathError(message: "'\(name)' in '\(path)' is not inside a mapping")
        case (.index(let index), _):
            throw PathError(message: "[\(index)] in '\(path)' is not inside a list")
        }
    }
}
