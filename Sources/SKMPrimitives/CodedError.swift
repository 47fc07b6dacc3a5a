/// The one shape of SKM's errors, after swift-certificates' `CertificateError`: a ``code`` that code branches on, a
/// ``reason`` for people, and the source ``file`` and ``line`` that raised it, for whoever debugs it.
///
/// Two errors are equal when their codes are: the reason is prose and may be reworded without breaking a caller.
/// Every module declares its errors this way (`CoreError`, `StorageError`, `JSONError`, `RecordError`, …), each with
/// a `Code` of its own; none carries key bytes, secrets or tokens in its reason.
package protocol CodedError: Error, Hashable, CustomStringConvertible {
    associatedtype Code: Hashable, Sendable, CustomStringConvertible
    var code: Code { get }
    var reason: String { get }
    var file: String { get }
    var line: UInt { get }
}

extension CodedError {
    package static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    package func hash(into hasher: inout Hasher) { hasher.combine(code) }
    package var description: String { reason }
}

/// An error of the shared shape whose only context is what it is about (an input's path, a record's field): most of
/// SKM's errors are this type with a `Code` of their module's (`CoreError`, `StorageError`, `InputError`, …).
package struct CodedFailure<Code: Hashable & Sendable & CustomStringConvertible>: CodedError, Sendable {
    package var code: Code
    /// What the error is about, when the reason does not say it (`requests.jsonl`, `field 'response'`).
    package var subject: String?
    package var reason: String
    package var file: String
    package var line: UInt

    package init(_ code: Code, subject: String? = nil, _ reason: String, file: String = #fileID, line: UInt = #line) {
        (self.code, self.subject, self.reason, self.file, self.line) = (code, subject, reason, file, line)
    }

    package var description: String { subject.map { "\($0): \(reason)" } ?? reason }
}

/// A code of a ``CodedFailure`` (or another ``CodedError``) that is named by its raw value.
package protocol ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible where RawValue == String {}

extension ErrorCode {
    package var description: String { rawValue }
}
