import CLibXML2
import Foundation

/// A document written through libxml2's text writer, indented by two spaces.
///
/// libxml2 escapes markup; characters XML 1.0 cannot carry at all (control characters a hostile log may hold) are
/// replaced with U+FFFD before they reach it and counted in ``replaced``.
struct XMLWriter {
    let handle: xmlTextWriterPtr
    var ok = true
    /// Characters XML cannot carry, replaced with U+FFFD.
    var replaced = 0

    init(handle: xmlTextWriterPtr) {
        self.handle = handle
        xmlTextWriterSetIndent(handle, 1)
        xmlTextWriterSetIndentString(handle, "  ")
        check(xmlTextWriterStartDocument(handle, "1.0", "UTF-8", nil))
    }

    mutating func check(_ result: Int32) {
        if result < 0 { ok = false }
    }

    /// `text` with the characters XML 1.0 does not allow replaced.
    mutating func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !Self.allowed($0) }) else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if Self.allowed(scalar) {
                output.append(scalar)
            } else {
                output.append("\u{FFFD}")
                replaced += 1
            }
        }
        return String(output)
    }

    static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    mutating func start(_ name: String, _ attributes: [(String, String?)] = []) {
        check(xmlTextWriterStartElement(handle, name))
        for (key, value) in attributes {
            guard let value else { continue }
            check(xmlTextWriterWriteAttribute(handle, key, clean(value)))
        }
    }

    mutating func end() {
        check(xmlTextWriterEndElement(handle))
    }

    mutating func element(_ name: String, _ attributes: [(String, String?)] = [], text: String? = nil) {
        start(name, attributes)
        if let text { check(xmlTextWriterWriteString(handle, clean(text))) }
        end()
    }

    mutating func optional(_ name: String, _ text: String?) {
        if let text { element(name, text: text) }
    }

    /// The bytes of the document `body` writes.
    static func document(_ body: (inout XMLWriter) -> Void) throws(ReportError) -> [UInt8] {
        guard let buffer = xmlBufferCreate() else { throw ReportError(.xmlWriter, "libxml2: cannot allocate a buffer") }
        defer { xmlBufferFree(buffer) }
        guard let handle = xmlNewTextWriterMemory(buffer, 0) else {
            throw ReportError(.xmlWriter, "libxml2: cannot create a writer")
        }
        var writer = XMLWriter(handle: handle)
        body(&writer)
        let ended = xmlTextWriterEndDocument(handle)
        xmlFreeTextWriter(handle)
        guard writer.ok, ended >= 0 else { throw ReportError(.xmlWriter, "libxml2: the document could not be written") }
        let length = Int(xmlBufferLength(buffer))
        guard let content = xmlBufferContent(buffer) else { return [] }
        return Array(UnsafeBufferPointer(start: content, count: length))
    }
}
