import SKMPrimitives

/// A report that could not be written.
package typealias ReportError = CodedFailure<ReportErrorCode>

package enum ReportErrorCode: String, ErrorCode {
    /// libxml2 could not allocate or write the XML document.
    case xmlWriter
}
