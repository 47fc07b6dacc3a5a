import Foundation
import SKMPrimitives

/// Text with `{{expression}}` holes, as rule explanations and fixes are written.
package struct Template: Sendable {
    /// A piece of the template, as rendering walks it. Plain values: walking the parts counts no references.
    enum Part: Sendable {
        /// Text between holes: where its UTF-8 lies in ``text``, copied into the rendering as it is.
        case text(Range<Int>)
        /// A hole, and whether it may render as nothing: a conditional (`a ? b : ''`), directly or through a
        /// definition, chooses its empty branch on purpose. ``programs`` holds the program.
        case hole(Unmanaged<Program>, allowsEmpty: Bool)
    }

    let parts: [Part]
    /// The text between the holes, one after another.
    let text: [UInt8]
    /// The holes' programs, which the parts read without holding.
    let programs: [Program]
    package let source: String

    /// Builds a template from its pieces in order: text (UTF-8) or a hole.
    private init(pieces: [Piece], source: String) {
        var parts: [Part] = []
        var text: [UInt8] = []
        var programs: [Program] = []
        for piece in pieces {
            switch piece {
            case .text(let bytes):
                parts.append(.text(text.count..<(text.count + bytes.count)))
                text += bytes
            case .hole(let program, let allowsEmpty):
                programs.append(program)
                parts.append(.hole(.passUnretained(program), allowsEmpty: allowsEmpty))
            }
        }
        self.parts = parts
        self.text = text
        self.programs = programs
        self.source = source
    }

    /// A piece of the template as it is compiled.
    private enum Piece {
        case text([UInt8])
        case hole(Program, allowsEmpty: Bool)
    }

    /// Parses and compiles the holes of `source`; every problem is reported at its place.
    package static func compile(
        _ source: Source, schema: FactSchema, definitions: Definitions
    ) -> Result<
        Template, Diagnostics
    > {
        var parts: [Piece] = []
        var diagnostics: [Diagnostic] = []
        let bytes = Array(source.text.utf8)
        var index = 0
        var textStart = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "{"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{") {
                if index > textStart {
                    parts.append(.text(Array(bytes[textStart..<index])))
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
                    case .success(let program):
                        var allowsEmpty = isConditional(program.expression)
                        if case .identifier(let name) = program.expression.kind,
                            let definition = definitions.definition(name)
                        {
                            allowsEmpty = isConditional(definition.program.expression)
                        }
                        parts.append(.hole(program, allowsEmpty: allowsEmpty))
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
        if textStart < bytes.count { parts.append(.text(Array(bytes[textStart...]))) }
        if !diagnostics.isEmpty { return .failure(Diagnostics(diagnostics)) }
        return .success(Template(pieces: parts, source: source.text))
    }

    /// What went wrong in one hole: the text that would have shown instead of a fact.
    package enum HoleProblem: Sendable, Hashable, CustomStringConvertible {
        /// The hole reads facts the inputs do not hold.
        case unknown(Unknown)
        /// The hole reads a field that has no value (`key.deletionAt` of a key never scheduled for deletion).
        case absent(hole: String, field: String)
        /// The hole renders as nothing (an empty string or list) though it is not a conditional.
        case empty(hole: String)
        /// The hole's expression failed.
        case failed(hole: String, message: String)

        package var description: String {
            switch self {
            case .unknown(let unknown):
                return "needs " + unknown.facts.map { "\($0.path) (\($0.settle))" }.joined(separator: "; ")
            case .absent(let hole, let field): return "{{\(hole)}} reads \(field), which has no value"
            case .empty(let hole): return "{{\(hole)}} renders as nothing"
            case .failed(let hole, let message): return "{{\(hole)}} fails: \(message)"
            }
        }

        /// The facts that would fill the hole, with how to learn them.
        package var facts: [Unknown.Fact] {
            switch self {
            case .unknown(let unknown): return unknown.facts
            case .absent(_, let field):
                return [Unknown.Fact(path: field, settle: "the inputs do not record it for this request")]
            case .empty, .failed: return []
            }
        }
    }

    /// A rendered template: the text, and every hole that could not show a fact.
    package struct Rendering: Sendable, Hashable {
        package var text: String
        package var problems: [HoleProblem]

        package var isComplete: Bool { problems.isEmpty }
    }

    /// The text with every hole's value written in (``Format/text(_:)``). Holes are evaluated strictly: a field
    /// without a value, an unknown fact, a failure, or an empty result of anything but a conditional is a problem,
    /// and the caller must not show the text as it stands.
    /// `cache` is the activation's definition cache, shared with its other evaluations.
    package func render(_ activation: Activation, cache: DefinitionCache = DefinitionCache()) -> Rendering {
        // One frame for every hole, in the strict reading.
        Frame.with(activation, cache: cache, strict: true) { render(in: &$0) }
    }

    private func render(in frame: inout Frame) -> Rendering {
        var problems: [HoleProblem] = []
        // The holes' texts first (on the stack), then the rendering written once at its length: one allocation,
        // where appending part by part would go through the string's growth checks for every part.
        let rendered = withUnsafeTemporaryAllocation(of: String.self, capacity: max(1, programs.count)) { holes in
            var length = text.count
            var filled = 0
            defer { holes.baseAddress!.deinitialize(count: filled) }
            for part in parts {
                guard case .hole(let program, let allowsEmpty) = part else { continue }
                // The template holds the program for as long as this runs.
                let value = program._withUnsafeGuaranteedRef { $0.evaluate(in: &frame) }
                let shown: String
                switch value {
                case .unknown(let unknown):
                    problems.append(.unknown(unknown))
                    shown = ""
                case .error(let error):
                    let hole = program._withUnsafeGuaranteedRef { $0.source.text }
                    if let field = error.absentField {
                        problems.append(.absent(hole: hole, field: field))
                    } else {
                        problems.append(.failed(hole: hole, message: error.reason))
                    }
                    shown = ""
                case .string(let text) where text.isEmpty && !allowsEmpty:
                    problems.append(.empty(hole: program._withUnsafeGuaranteedRef { $0.source.text }))
                    shown = ""
                case .list(let items) where items.isEmpty && !allowsEmpty:
                    problems.append(.empty(hole: program._withUnsafeGuaranteedRef { $0.source.text }))
                    shown = ""
                case .string(let text): shown = text
                default: shown = Format.text(value)
                }
                length += shown.utf8.count
                (holes.baseAddress! + filled).initialize(to: shown)
                filled += 1
            }
            return text.withUnsafeBufferPointer { text in
                String(joiningValidUTF8: length) { output in
                    var written = 0
                    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
                        guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
                        (output.baseAddress! + written).initialize(from: start, count: bytes.count)
                        written += bytes.count
                    }
                    var hole = 0
                    for part in parts {
                        switch part {
                        case .text(let range): write(UnsafeBufferPointer(rebasing: text[range]))
                        case .hole:
                            holes[hole].withUTF8Bytes(write)
                            hole += 1
                        }
                    }
                    return written
                }
            }
        }
        return Rendering(text: rendered, problems: problems)
    }

    /// Whether an expression is a choice (`a ? b : c`), whose empty branch is meant.
    static func isConditional(_ expression: Expression) -> Bool {
        if case .call("_?_:_", nil, _) = expression.kind { return true }
        return false
    }
}
