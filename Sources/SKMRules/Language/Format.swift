import Foundation

/// How values read in evidence and in explanation templates.
package enum Format {
    /// Plain text: strings as they are, lists comma-separated, times in RFC 3339, unknowns named.
    package static func text(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return Operations.format(number)
        case .string(let text): return text
        case .list(let items): return items.isEmpty ? "(none)" : items.map(literal).joined(separator: ", ")
        case .map(let map):
            return "{" + map.entries.map { "\(literal($0.key)): \(literal($0.value))" }.joined(separator: ", ") + "}"
        case .timestamp(let time): return time.rfc3339
        case .duration(let duration): return humanDuration(duration)
        case .object(let object): return object.summary
        case .unknown(let unknown): return "unknown (" + unknown.facts.map(\.path).joined(separator: ", ") + ")"
        case .error(let error): return "error: \(error.reason)"
        }
    }

    /// Like ``text(_:)``, with strings quoted: for values inside lists and evidence.
    package static func literal(_ value: Value) -> String {
        switch value {
        case .string(let text): return "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .list(let items): return "[" + items.map(literal).joined(separator: ", ") + "]"
        default: return text(value)
        }
    }

    /// `3 days 4 hours`, `90 seconds`.
    static func humanDuration(_ duration: CELDuration) -> String {
        let total = duration.seconds
        let sign = total < 0 ? "-" : ""
        let magnitude = abs(total)
        if magnitude >= 86_400 {
            let days = magnitude / 86_400
            let hours = magnitude % 86_400 / 3600
            return sign + "\(days) day\(days == 1 ? "" : "s")"
                + (hours > 0 ? " \(hours) hour\(hours == 1 ? "" : "s")" : "")
        }
        if magnitude >= 3600 {
            let hours = magnitude / 3600
            let minutes = magnitude % 3600 / 60
            return sign + "\(hours) hour\(hours == 1 ? "" : "s")" + (minutes > 0 ? " \(minutes) min" : "")
        }
        if magnitude >= 60 { return sign + "\(magnitude / 60) min \(magnitude % 60) s" }
        return duration.text
    }
}

extension ObjectValue {
    /// A short description: the object's `summary`, `value`, `name` or `id` field, whichever it has first.
    package var summary: String {
        for name in ["summary", "value", "name", "id"] {
            if let value = self[name], !value.isExceptional { return Format.text(value) }
        }
        return type.name
    }
}
