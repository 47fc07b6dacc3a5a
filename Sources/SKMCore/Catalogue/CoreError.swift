import SKMPrimitives

/// An error of the key manager's machinery (root key, sealing, certificates, files), as opposed to a refused
/// request (``Rejection``). The reason is for operators and never carries key bytes or secrets.
package typealias CoreError = CodedFailure<CoreErrorCode>

/// What kind of ``CoreError`` it is.
package struct CoreErrorCode: Sendable, Hashable, CustomStringConvertible {
    let name: String

    package static let invalidRootKey = CoreErrorCode(name: "invalidRootKey")
    package static let notInitialized = CoreErrorCode(name: "notInitialized")
    package static let alreadyInitialized = CoreErrorCode(name: "alreadyInitialized")
    package static let crypto = CoreErrorCode(name: "crypto")
    package static let certificate = CoreErrorCode(name: "certificate")
    package static let io = CoreErrorCode(name: "io")
    package static let storage = CoreErrorCode(name: "storage")

    package var description: String { name }
}
