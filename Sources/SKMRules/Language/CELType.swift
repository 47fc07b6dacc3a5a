import Foundation

/// A static type of the condition language: CEL's types without `uint`, `bytes` and `dyn`, plus the object types a
/// fact schema declares.
package indirect enum CELType: Sendable, Hashable, CustomStringConvertible {
    case int
    case double
    case string
    case bool
    case null
    case timestamp
    case duration
    case list(CELType)
    case map(CELType, CELType)
    case object(String)
    /// A type still to be found out (the elements of `[]`, a type parameter of an overload). Never written by users.
    case parameter(Int)

    package var description: String {
        switch self {
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .bool: return "bool"
        case .null: return "null_type"
        case .timestamp: return "timestamp"
        case .duration: return "duration"
        case .list(let element): return "list(\(element))"
        case .map(let key, let value): return "map(\(key), \(value))"
        case .object(let name): return name
        case .parameter: return "_"
        }
    }

    /// Parses the type names of the conformance files and of fact schemas: `int`, `list(string)`,
    /// `map(string, int)`, or a declared object type. `uint`, `bytes` and `dyn` are refused.
    package static func parse(_ text: String, objects: Set<String> = []) -> Result<CELType, EvaluationError> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed {
        case "int": return .success(.int)
        case "double": return .success(.double)
        case "string": return .success(.string)
        case "bool": return .success(.bool)
        case "null_type": return .success(.null)
        case "timestamp", "google.protobuf.Timestamp": return .success(.timestamp)
        case "duration", "google.protobuf.Duration": return .success(.duration)
        case "uint", "bytes", "dyn":
            return .failure(
                EvaluationError(.unsupported, "unsupported: type \(trimmed) is not part of SKM's condition language"))
        default: break
        }
        if trimmed.hasPrefix("list("), trimmed.hasSuffix(")") {
            return parse(String(trimmed.dropFirst(5).dropLast()), objects: objects).map { .list($0) }
        }
        if trimmed.hasPrefix("map("), trimmed.hasSuffix(")") {
            let inner = String(trimmed.dropFirst(4).dropLast())
            var depth = 0
            for (offset, character) in inner.enumerated() {
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1 }
                if character == ",", depth == 0 {
                    let key = String(inner.prefix(offset))
                    let value = String(inner.dropFirst(offset + 1))
                    switch (parse(key, objects: objects), parse(value, objects: objects)) {
                    case (.success(let k), .success(let v)): return .success(.map(k, v))
                    case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
                    }
                }
            }
        }
        if objects.contains(trimmed) { return .success(.object(trimmed)) }
        return .failure(EvaluationError(.unsupported, "unknown type '\(trimmed)'"))
    }
}

/// An object type of a fact schema: named, typed fields.
package final class ObjectType: Sendable {
    package struct Field: Sendable {
        package var name: String
        package var type: CELType
        package var documentation: String
        /// The value may differ between two requests that are otherwise the same (a request's time, its id): an
        /// evaluation that reads it is about that request alone, and its result is not shared with another
        /// (``ReadLog``). Whether the field is present is never per request.
        package var perRequest: Bool

        package init(_ name: String, _ type: CELType, _ documentation: String = "", perRequest: Bool = false) {
            self.name = name
            self.type = type
            self.documentation = documentation
            self.perRequest = perRequest
        }
    }

    package let name: String
    package let documentation: String
    package let fields: [Field]
    /// Whether any field is ``Field/perRequest``.
    package let hasPerRequestFields: Bool
    private let positions: [String: Int]

    package init(name: String, documentation: String = "", fields: [Field]) {
        self.name = name
        self.documentation = documentation
        self.fields = fields
        hasPerRequestFields = fields.contains(where: \.perRequest)
        var positions: [String: Int] = [:]
        for (offset, field) in fields.enumerated() { positions[field.name] = offset }
        self.positions = positions
    }

    package func index(of field: String) -> Int? { positions[field] }

    package func field(_ name: String) -> Field? { positions[name].map { fields[$0] } }
}

/// What an expression may refer to: variables with their types, and the object types behind them.
///
/// The caller declares it; the analyser declares `request`, `client`, `appkey`, `store`, `key`, `version`,
/// `certificate` and `events`.
package struct FactSchema: Sendable {
    package struct Variable: Sendable {
        package var name: String
        package var type: CELType
        package var documentation: String

        package init(_ name: String, _ type: CELType, _ documentation: String = "") {
            self.name = name
            self.type = type
            self.documentation = documentation
        }
    }

    package private(set) var variables: [Variable]
    package private(set) var objects: [String: ObjectType]

    package init(variables: [Variable] = [], objects: [ObjectType] = []) {
        self.variables = variables
        self.objects = [:]
        for object in objects { self.objects[object.name] = object }
    }

    package func variable(_ name: String) -> Variable? {
        variables.first { $0.name == name }
    }

    package func index(ofVariable name: String) -> Int? {
        variables.firstIndex { $0.name == name }
    }

    /// The schema with one more variable (rule-level `variables`, shared definitions).
    package func adding(_ variable: Variable) -> FactSchema {
        var copy = self
        copy.variables.append(variable)
        return copy
    }
}

extension FactSchema {
    /// The schema as Markdown: the variables, then each object type with its fields, for rule authors.
    package var reference: String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| Variable | Type | Meaning |", "|---|---|---|"]
        for variable in variables {
            lines.append("| `\(variable.name)` | `\(variable.type)` | \(cell(variable.documentation)) |")
        }
        // Object types in the order a reader meets them: the variables' first, then what their fields refer to.
        func objectNames(_ type: CELType) -> [String] {
            switch type {
            case .object(let name): return [name]
            case .list(let element): return objectNames(element)
            case .map(let key, let value): return objectNames(key) + objectNames(value)
            default: return []
            }
        }
        var order: [String] = []
        var queue = variables.flatMap { objectNames($0.type) }
        while !queue.isEmpty {
            let name = queue.removeFirst()
            guard let object = objects[name], !order.contains(name) else { continue }
            order.append(name)
            queue += object.fields.flatMap { objectNames($0.type) }
        }
        order += objects.keys.sorted().filter { !order.contains($0) }
        for name in order {
            guard let object = objects[name] else { continue }
            lines += ["", "### \(name)", ""]
            if !object.documentation.isEmpty { lines += [object.documentation, ""] }
            lines += ["| Field | Type | Meaning |", "|---|---|---|"]
            for field in object.fields {
                let note =
                    field.perRequest
                    ? " Differs from request to request: a diagnosis that reads it is made for each request." : ""
                lines.append("| `\(field.name)` | `\(field.type)` | \(cell(field.documentation + note)) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
