import Foundation

/// Text with `{{expression}}` holes, as rule explanations and fixes are written.
public struct Template: Sendable {
    enum Part: Sendable {
        case text(String)
        case hole(Program)
    }

    let parts: [Part]
    public let source: String

    /// Parses and compiles the holes of `source`; every problem is reported at its place.
    public static func compile(
        _ source: Source, schema: FactSchema, definitions: Definitions
    ) -> Result<
        Template, Diagnostics
    > {
        var parts: [Part] = []
        var diagnostics: [Diagnostic] = []
        let bytes = Array(source.text.utf8)
        var index = 0
        var textStart = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "{"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{") {
                if index > textStart {
                    parts.append(.text(String(decoding: bytes[textStart..<index], as: UTF8.self)))
                }
                let open = index
                var close = index + 2
                while close + 1 < bytes.count,
                    !(bytes[close] == UInt8(ascii: "}") && bytes[close + 1] == UInt8(ascii: "}"))
                {
                    close += 1
                }
                guard close + 1 < bytes.count else {
                    diagnostics.append(Diagnostic("unclosed '{{' in template", at: Span(open, open + 2), in: source))
                    return .failure(Diagnostics(diagnostics))
                }
                let inner = String(decoding: bytes[(open + 2)..<close], as: UTF8.self)
                if inner.trimmingCharacters(in: .whitespaces).isEmpty {
                    diagnostics.append(Diagnostic("empty '{{ }}' in template", at: Span(open, close + 2), in: source))
                } else {
                    // The hole's expression, placed at its offset in the template.
                    let (line, column) = source.position(of: open + 2)
                    let hole = Source(
                        name: source.name, text: inner, line: line, column: column, fileText: source.fileText,
                        continuationColumn: source.continuationColumn)
                    switch Compiler.compile(hole, schema: schema, definitions: definitions) {
                    case .success(let program): parts.append(.hole(program))
                    case .failure(let found): diagnostics += found.items
                    }
                }
                index = close + 2
                textStart = index
            } else if bytes[index] == UInt8(ascii: "}"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "}")
            {
                diagnostics.append(Diagnostic("'}}' without '{{' in template", at: Span(index, index + 2), in: source))
                index += 2
            } else {
                index += 1
            }
        }
        if textStart < bytes.count { parts.append(.text(String(decoding: bytes[textStart...], as: UTF8.self))) }
        if !diagnostics.isEmpty { return .failure(Diagnostics(diagnostics)) }
        return .success(Template(parts: parts, source: source.text))
    }

    /// The text with every hole's value written in (``Format/text(_:)``).
    public func render(_ activation: Activation, cache: DefinitionCache? = nil) -> String {
        var output = ""
        for part in parts {
            switch part {
            case .text(let text): output += text
            case .hole(let program): output += Format.text(program.evaluate(activation, cache: cache))
            }
        }
        return output
    }
}
