import Foundation
import SKMPrimitives
import Yams

/// A YAML node with where it came from, for diagnostics; read through Yams but without its type coercions, so that
/// every value is checked here with a message that names the field.
struct YAMLNode {
    enum Kind {
        case scalar(String, style: Node.Scalar.Style, tag: String)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    var kind: Kind
    var line: Int
    var column: Int

    var scalar: String? {
        if case .scalar(let text, _, _) = kind { return text }
        return nil
    }

    var tag: String? {
        if case .scalar(_, _, let tag) = kind { return tag }
        return nil
    }

    var kindName: String {
        switch kind {
        case .scalar: return "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}

/// Reads YAML text into ``YAMLNode``s, refusing what would be unsafe to hand to the parser: files too large, nesting
/// too deep, aliases.
enum YAMLReader {
    static let maximumBytes = 1 << 20
    static let maximumDepth = 64

    struct Failure: Error {
        var message: String
        var line: Int
        var column: Int
    }

    static func read(_ text: String) throws(Failure) -> YAMLNode? {
        guard text.utf8.count <= maximumBytes else {
            throw Failure(
                message: "file is \(text.utf8.count) bytes, over the limit of \(maximumBytes)", line: 1, column: 1)
        }
        if let (line, column) = excessiveNesting(text) {
            throw Failure(message: "nesting deeper than \(maximumDepth) levels", line: line, column: column)
        }
        let node: Node?
        do {
            // No implicit typing (the default resolver matches every plain scalar against regular expressions to
            // call it a bool, a number or null): a scalar's text is read here, by the type its field has; only
            // explicit tags (`!absent`, `!unknown`) are read from the node.
            node = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw failure(error)
        } catch {
            throw Failure(message: "not YAML: \(error)", line: 1, column: 1)
        }
        guard let node else { return nil }
        var seen = Set<NodeOrigin>()
        return try convert(node, depth: 0, seen: &seen)
    }

    private static func failure(_ error: YamlError) -> Failure {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            guard let context else {
                return Failure(message: "YAML syntax: \(problem)", line: mark.line, column: mark.column)
            }
            // The construct that went wrong began at the context's mark; the problem's mark is often the end of the
            // file, which shows nothing useful.
            return Failure(
                message: "YAML syntax: \(problem) (\(context.text) that began here)", line: context.mark.line,
                column: context.mark.column)
        case .reader(let problem, _, _, _):
            return Failure(message: "YAML: \(problem)", line: 1, column: 1)
        case .duplicatedKeysInMapping(let duplicates, _):
            return Failure(message: "duplicate keys: \(duplicates.joined(separator: ", "))", line: 1, column: 1)
        default:
            return Failure(message: "YAML: \(error)", line: 1, column: 1)
        }
    }

    /// The position of the first place nested deeper than the limit (by indentation or by brackets), if any. Reads
    /// the UTF-8 bytes (every delimiter is ASCII); a column counts characters (Unicode scalars), as the parser's do.
    private static func excessiveNesting(_ text: String) -> (Int, Int)? {
        var text = text
        return text.withUTF8 { bytes -> (Int, Int)? in
            var line = 1
            var brackets = 0
            // The byte that ends the quote or comment being read; 0 outside one.
            var closing: UInt8 = 0
            var column = 0
            var lineStart = true
            var indentation = 0
            for byte in bytes {
                // A continuation byte is part of the character before it.
                if byte & 0xC0 == 0x80 { continue }
                column += 1
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 0
                    lineStart = true
                    indentation = 0
                    closing = 0
                    continue
                }
                if lineStart {
                    if byte == UInt8(ascii: " ") {
                        indentation += 1
                        if indentation > maximumDepth * 4 { return (line, column) }
                        continue
                    }
                    lineStart = false
                }
                if closing != 0 {
                    if byte == closing { closing = 0 }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "'"): closing = byte
                case UInt8(ascii: "#"): closing = UInt8(ascii: "\n")
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    brackets += 1
                    if brackets > maximumDepth { return (line, column) }
                case UInt8(ascii: "]"), UInt8(ascii: "}"): brackets = max(0, brackets - 1)
                default: break
                }
            }
            return nil
        }
    }

    /// Where a node began and what it was. The composer expands an alias into a copy of the anchored node, mark and
    /// all, so a second node from the same origin is an alias.
    private struct NodeOrigin: Hashable {
        var line: Int
        var column: Int
        var kind: Int
    }

    static let maximumNodes = 100_000

    private static func convert(_ node: Node, depth: Int, seen: inout Set<NodeOrigin>) throws(Failure) -> YAMLNode {
        let line = node.mark?.line ?? 1
        let column = node.mark?.column ?? 1
        guard depth <= maximumDepth else {
            throw Failure(message: "nesting deeper than \(maximumDepth) levels", line: line, column: column)
        }
        let kind: Int
        switch node {
        case .scalar: kind = 0
        case .mapping: kind = 1
        case .sequence: kind = 2
        case .alias: kind = 3
        }
        if kind == 3 || !seen.insert(NodeOrigin(line: line, column: column, kind: kind)).inserted {
            throw Failure(
                message: "YAML anchors and aliases are not allowed in rule files; the anchored node here is repeated",
                line: line, column: column)
        }
        guard seen.count <= maximumNodes else {
            throw Failure(message: "more than \(maximumNodes) YAML nodes", line: line, column: column)
        }
        switch node {
        case .scalar(let scalar):
            return YAMLNode(
                kind: .scalar(scalar.string, style: scalar.style, tag: scalar.tag.rawValue), line: line, column: column)
        case .mapping(let mapping):
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            for (key, value) in mapping {
                let convertedKey = try convert(key, depth: depth + 1, seen: &seen)
                pairs.append((convertedKey, try convert(value, depth: depth + 1, seen: &seen)))
            }
            return YAMLNode(kind: .mapping(pairs), line: line, column: column)
        case .sequence(let sequence):
            var items: [YAMLNode] = []
            for item in sequence { items.append(try convert(item, depth: depth + 1, seen: &seen)) }
            return YAMLNode(kind: .sequence(items), line: line, column: column)
        case .alias:
            throw Failure(message: "YAML aliases are not allowed in rule files", line: line, column: column)
        }
    }
}

/// Reads the fields of a YAML mapping, collecting diagnostics for unknown, missing and mistyped ones.
struct MappingReader {
    let node: YAMLNode
    let file: String
    let fileText: String
    let context: String
    private(set) var pairs: [String: (key: YAMLNode, value: YAMLNode)] = [:]
    var diagnostics: [Diagnostic] = []

    init(_ node: YAMLNode, file: String, fileText: String, context: String, allowed: [String]) {
        self.node = node
        self.file = file
        self.fileText = fileText
        self.context = context
        guard case .mapping(let entries) = node.kind else {
            diagnostics.append(diagnostic("\(context) must be a mapping, not \(node.kindName)", at: node))
            return
        }
        for entry in entries {
            guard let name = entry.key.scalar else {
                diagnostics.append(diagnostic("keys of \(context) must be plain names", at: entry.key))
                continue
            }
            if !allowed.contains(name) {
                var message = "unknown key '\(name)' in \(context)"
                if let guess = suggestion(for: name, among: allowed) { message += "; did you mean '\(guess)'?" }
                diagnostics.append(diagnostic(message, at: entry.key))
                continue
            }
            if pairs[name] != nil {
                diagnostics.append(diagnostic("'\(name)' appears twice in \(context)", at: entry.key))
            }
            pairs[name] = entry
        }
    }

    func diagnostic(_ message: String, at node: YAMLNode) -> Diagnostic {
        let lines = fileText.lines
        let text = node.line - 1 < lines.count ? String(lines[node.line - 1]) : nil
        return Diagnostic(file: file, line: node.line, column: node.column, message: message, sourceLine: text)
    }

    func value(_ name: String) -> YAMLNode? { pairs[name]?.value }

    mutating func required(_ name: String) -> YAMLNode? {
        if let found = pairs[name] { return found.value }
        if case .mapping = node.kind {
            diagnostics.append(diagnostic("\(context) is missing '\(name)'", at: node))
        }
        return nil
    }

    mutating func string(_ name: String, required: Bool = true) -> (String, YAMLNode)? {
        guard let found = required ? self.required(name) : value(name) else { return nil }
        guard let text = found.scalar else {
            diagnostics.append(diagnostic("'\(name)' in \(context) must be text, not \(found.kindName)", at: found))
            return nil
        }
        return (text, found)
    }

    mutating func integer(_ name: String, required: Bool = true) -> (Int, YAMLNode)? {
        guard let (text, node) = string(name, required: required) else { return nil }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
            diagnostics.append(diagnostic("'\(name)' in \(context) must be an integer, not '\(text)'", at: node))
            return nil
        }
        return (number, node)
    }

    mutating func strings(_ name: String, required: Bool = true) -> [(String, YAMLNode)]? {
        guard let found = required ? self.required(name) : value(name) else { return nil }
        if let single = found.scalar { return [(single, found)] }
        guard case .sequence(let items) = found.kind else {
            diagnostics.append(diagnostic("'\(name)' in \(context) must be a list of text", at: found))
            return nil
        }
        var result: [(String, YAMLNode)] = []
        for item in items {
            guard let text = item.scalar else {
                diagnostics.append(diagnostic("items of '\(name)' in \(context) must be text", at: item))
                continue
            }
            result.append((text, item))
        }
        return result
    }

    /// A ``Source`` for an expression written as the value of `node`, placed where it sits in the file.
    func source(of node: YAMLNode) -> Source {
        guard case .scalar(let text, let style, _) = node.kind else {
            return Source(name: file, text: "", line: node.line, column: node.column, fileText: fileText)
        }
        switch style {
        case .singleQuoted, .doubleQuoted:
            return Source(name: file, text: text, line: node.line, column: node.column + 1, fileText: fileText)
        case .literal, .folded:
            // Block scalars start on the next line, at the block's indentation.
            // The indentation of the line after the node's (0-based line `node.line`), found without splitting the
            // whole file for every block scalar.
            var contents = fileText
            let indentation = contents.withUTF8 { bytes in
                var start = 0
                var line = 0
                while line < node.line, let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    start = newline + 1
                    line += 1
                }
                return line == node.line ? bytes[start...].prefix { $0 == UInt8(ascii: " ") }.count : 0
            }
            return Source(
                name: file, text: text, line: node.line + 1, column: indentation + 1, fileText: fileText,
                continuationColumn: indentation + 1)
        default:
            return Source(name: file, text: text, line: node.line, column: node.column, fileText: fileText)
        }
    }
}
