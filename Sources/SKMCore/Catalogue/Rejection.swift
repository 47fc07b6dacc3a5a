/// A request the engine refused: exactly one catalogue error, the condition of the decision procedure that decided
/// it, and a reason for operators.
///
/// The reason names what was wrong ("key 0a1b… is PENDING_DELETION") and never carries a secret, key byte,
/// plaintext or ciphertext. The reason and the deciding check are shown by the CLI and written to the operator log;
/// they are never sent to API clients, who get only the catalogue message.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The condition that failed; it determines the error.
    public var check: DecisionCheck
    public var reason: String
    /// The request field the rejection is about, when there is one (`plaintext`, `keyStoreName`, …).
    public var field: String?
    public var file: String
    public var line: UInt

    public init(
        _ check: DecisionCheck, _ reason: String, field: String? = nil, file: String = #fileID, line: UInt = #line
    ) {
        self.check = check
        self.reason = reason
        self.field = field
        self.file = file
        self.line = line
    }

    /// The catalogue error the client is answered with.
    public var error: APIError { check.error }

    public var description: String { "\(error.resultMessage): \(reason)" }

    public static func == (lhs: Rejection, rhs: Rejection) -> Bool {
        lhs.check == rhs.check && lhs.reason == rhs.reason && lhs.field == rhs.field
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(check)
        hasher.combine(reason)
        hasher.combine(field)
    }
}

extension Rejection {
    /// Invalid Request about one body or query member.
    static func invalidField(
        _ check: DecisionCheck, _ field: String, _ problem: String, file: String = #fileID, line: UInt = #line
    ) -> Rejection {
        Rejection(check, "field '\(field)' \(problem)", field: field, file: file, line: line)
    }

    /// The answer to a request whose headers are over the server's limit.
    public static func headersTooLarge(_ bytes: Int, limit: Int) -> Rejection {
        Rejection(.headersWithinLimit, "request headers are \(bytes) bytes, over the limit of \(limit)")
    }
}
