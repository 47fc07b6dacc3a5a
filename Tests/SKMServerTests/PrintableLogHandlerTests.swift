import Logging
import SKMServer
import Synchronization
import Testing

/// Operator logs: control characters in messages and in every metadata value (a request's, the logger's own) are
/// escaped before the wrapped handler writes them.
@Suite struct PrintableLogHandlerTests {
    final class Capture: Sendable {
        let events = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    struct CapturingHandler: LogHandler {
        let capture: Capture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            merged.merge(event.metadata ?? [:]) { _, explicit in explicit }
            let message = event.message.description
            capture.events.withLock { $0.append((message, merged)) }
        }
    }

    @Test func messagesAndMetadataReachTheHandlerEscaped() throws {
        let capture = Capture()
        var logger = Logger(label: "test") { _ in PrintableLogHandler(CapturingHandler(capture: capture)) }
        logger[metadataKey: "request"] = "id\u{1b}[31m"
        logger[metadataKey: "kept"] = "plain"
        logger.info("path /a\nforged line", metadata: ["request": "explicit\r", "peer": .array(["1.2.3.4\u{7}"])])
        logger.info("second")
        let events = capture.events.withLock { $0 }
        try #require(events.count == 2)
        #expect(!events[0].message.contains("\n"))
        #expect(events[0].message.contains("forged line"))
        // An explicit value wins over the logger's own, and every value is escaped.
        #expect(events[0].metadata["request"]?.description.contains("\r") == false)
        #expect(events[0].metadata["request"]?.description.hasPrefix("explicit") == true)
        #expect(events[0].metadata["kept"] == "plain")
        #expect(events[0].metadata["peer"]?.description.contains("\u{7}") == false)
        #expect(events[1].metadata["request"]?.description.contains("\u{1b}") == false)
        #expect(events[1].metadata["request"]?.description.hasPrefix("id") == true)
    }
}
