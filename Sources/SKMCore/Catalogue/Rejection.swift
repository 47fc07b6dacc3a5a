/// A request the engine refused: exactly one catalogue error, plus a reason for operators.
///
/// The reason names what was wrong ("key 0a1b… is PENDING_DELETION") and never carries a secret, key byte,
/// plaintext or ciphertext. It is shown by the CLI and written to the operator log; it is never sent to API
/// clients, who get only the catalogue message.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var error: APIError
    public var reason: String
    /// The request field the rejection is about, when there is one (`plaintext`, `keyStoreName`, …).
    public var field: String?
    public var file: String
    public var line: UInt

    public init(_ error: APIError, _ reason: String, field: String? = nil, file: String = #fileID, line: UInt = #line) {
        self.error = error
        self.reason = reason
        self.field = field
        self.file = file
        self.line = line
    }

    public var description: String { "\(error.resultMessage): \(reason)" }

    public static func == (lhs: Rejection, rhs: Rejection) -> Bool {
        lhs.error == rhs.error && lhs.reason == rhs.reason && lhs.field == rhs.field
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(error)
        hasher.combine(reason)
        hasher.combine(field)
    }
}

extension Rejection {
    static func invalidField(
        _ field: String, _ problem: String, file: String = #fileID, line: UInt = #line
    )
        -> Rejection
    {
        Rejection(.invalidRequest, "field '\(field)' \(problem)", field: field, file: file, line: line)
    }
}
