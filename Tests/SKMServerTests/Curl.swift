import Foundation
import SKMTestSupport

/// curl as a second, independent HTTP client; it can choose its source address (`--interface 127.0.0.9`), which
/// lets tests exercise CIDR matching over real loopback sockets.
struct Curl {
    struct Answer {
        var status: Int
        var body: String
    }

    /// Runs curl without holding a thread of the concurrency pool while it waits: the server under test answers on
    /// that pool, and a blocked thread could starve it.
    static func run(_ arguments: [String]) async throws -> Answer {
        let text = try await Subprocess.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20"] + arguments
        ).output
        guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else {
            return Answer(status: 0, body: text)
        }
        return Answer(status: status, body: String(text[..<newline]))
    }
}
