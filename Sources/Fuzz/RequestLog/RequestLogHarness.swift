import SKMAnalysis
import SKMCore
import SKMWire

/// Fuzzes request-log lines: each line is read as the analyser reads the log (the fast path for successes and the
/// full decoding), and a record that decodes must come back equal from the line the server would write for it.
@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzRequestLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = RequestLogReader.item(bytes, location: SourceLocation(file: "fuzz.jsonl", number: 1))
    guard let value = try? JSONParser(invalidUTF8: .replace).parse(bytes),
        let record = try? RequestRecord(json: value)
    else { return 0 }
    let line = record.jsonLine
    guard let again = try? RequestRecord(json: try JSONParser().parse(line)) else {
        fatalError("the line written for a decoded record does not decode: \(String(decoding: line, as: UTF8.self))")
    }
    precondition(
        again.jsonLine == line,
        "a record does not survive writing and reading: \(String(decoding: line, as: UTF8.self))")
    return 0
}
