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
