/// An error of the key manager's machinery (root key, sealing, certificates, files), as opposed to a refused
/// request (``Rejection``). The reason is for operators and never carries key bytes or secrets.
public struct CoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String

        public static let invalidRootKey = Code(name: "invalidRootKey")
        public static let notInitialized = Code(name: "notInitialized")
        public static let alreadyInitialized = Code(name: "alreadyInitialized")
        public static let crypto = Code(name: "crypto")
        public static let certificate = Code(name: "certificate")
        public static let io = Code(name: "io")
        public static let storage = Code(name: "storage")

        public var description: String { name }
    }

    public var code: Code
    public var reason: String
    public var file: String
    public var line: UInt

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { reason }

    public static func == (lhs: CoreError, rhs: CoreError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(reason)
    }
}
