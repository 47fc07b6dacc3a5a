import Logging
import SKMCore
import SKMPrimitives

/// A log handler that escapes control characters in every message and metadata value before another handler
/// writes them: request paths are percent-decoded, and a `%0a` or `%1b` in one must not forge a line or reach the
/// operator's terminal as an escape sequence.
package struct PrintableLogHandler: LogHandler {
    package var base: any LogHandler

    package init(_ base: any LogHandler) {
        self.base = base
    }

    package var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    /// Kept here and handed to `base` with each message: setting metadata (a request id, for every request) costs
    /// nothing until something is logged.
    package var metadata: Logger.Metadata = [:]

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var event = event
        event.message = "\(PrintableText.escaped(event.message.description))"
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, explicit in explicit } }
        event.metadata = merged.isEmpty ? nil : Self.escaped(merged)
        base.log(event: event)
    }

    static func escaped(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.reduce(into: [:]) { result, pair in
            result[PrintableText.escaped(pair.key)] = escaped(pair.value)
        }
    }

    static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): return .string(PrintableText.escaped(text))
        case .stringConvertible(let item): return .string(PrintableText.escaped(item.description))
        case .array(let items): return .array(items.map(escaped))
        case .dictionary(let dictionary): return .dictionary(escaped(dictionary))
        }
    }
}
