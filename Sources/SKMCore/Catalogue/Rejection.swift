import SKMPrimitives

/// A request the engine refused: exactly one catalogue error, the condition of the decision procedure that decided
/// it, and a reason for operators.
///
/// The reason names what was wrong ("key 0a1b… is PENDING_DELETION") and never carries a secret, key byte,
/// plaintext or ciphertext. The reason and the deciding check are shown by the CLI and written to the operator log;
/// they are never sent to API clients, who get only the catalogue message.
///
/// Two rejections are equal when the same condition decided them (the ``code``), whatever their reasons say.
package struct Rejection: CodedError, Sendable {
    /// The condition that failed; it determines the error.
    package var check: DecisionCheck
    package var reason: String
    /// The request field the rejection is about, when there is one (`plaintext`, `keyStoreName`, …).
    package var field: String?
    package var file: String
    package var line: UInt

    package init(
        _ check: DecisionCheck, _ reason: String, field: String? = nil, file: String = #fileID, line: UInt = #line
    ) {
        self.check = check
        self.reason = reason
        self.field = field
        self.file = file
        self.line = line
    }

    /// The condition that decided the refusal.
    package var code: DecisionCheck { check }

    /// The catalogue error the client is answered with.
    package var error: APIError { check.error }

    package var description: String { "\(error.resultMessage): \(reason)" }
}

extension Rejection {
    /// Invalid Request about one body or query member.
    static func invalidField(
        _ check: DecisionCheck, _ field: String, _ problem: String, file: String = #fileID, line: UInt = #line
    ) -> Rejection {
        Rejection(check, "field '\(field)' \(problem)", field: field, file: file, line: line)
    }

    /// The answer to a request whose headers are over the server's limit.
    package static func headersTooLarge(_ bytes: Int, limit: Int) -> Rejection {
        Rejection(.headersWithinLimit, "request headers are \(bytes) bytes, over the limit of \(limit)")
    }
}
