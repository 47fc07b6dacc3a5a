import SKMPrimitives

/// An error of the key manager's machinery (root key, sealing, certificates, files), as opposed to a refused
/// request (``Rejection``). The reason is for operators and never carries key bytes or secrets.
package struct CoreError: CodedError, Sendable {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String

        package static let invalidRootKey = Code(name: "invalidRootKey")
        package static let notInitialized = Code(name: "notInitialized")
        package static let alreadyInitialized = Code(name: "alreadyInitialized")
        package static let crypto = Code(name: "crypto")
        package static let certificate = Code(name: "certificate")
        package static let io = Code(name: "io")
        package static let storage = Code(name: "storage")

        package var description: String { name }
    }

    package var code: Code
    package var reason: String
    package var file: String
    package var line: UInt

    package init(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }
}
