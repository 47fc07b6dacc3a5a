import SKMPrimitives

/// A report that could not be written.
package struct ReportError: CodedError, Sendable {
    package enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// libxml2 could not allocate or write the XML document.
        case xmlWriter

        package var description: String { rawValue }
    }

    package var code: Code
    package var reason: String
    package var file: String
    package var line: UInt

    package init(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) {
        (self.code, self.reason, self.file, self.line) = (code, reason, file, line)
    }
}
