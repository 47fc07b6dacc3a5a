import SKMAnalysis
import SKMCore
import SKMWire

/// What the success shortcut remembers (layouts found whole, strings), shared by every input: a layout learnt from
/// one input is trusted for the next.
nonisolated(unsafe) private let memory = SuccessMemory()

/// Fuzzes request-log lines: each line is read as the analyser reads the log (the fast path for successes and the
/// full decoding), a line the fast path takes for a success is one the full decoding reads as that same success
/// (never a line it reports),
/// and a record that decodes must come back equal from the line the server would write for it.
@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzRequestLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let location = SourceLocation(file: "fuzz.jsonl", number: 1)
    let fast = RequestLogReader.item(bytes, location: location, memory: memory)
    let full = RequestLogReader.item(bytes, location: location, full: true)
    if case .success(let observation) = fast {
        guard case .request(let request) = full else {
            preconditionFailure(
                "a line the full decoding does not read as a request was counted as a success: \(String(describing: full))"
            )
        }
        let record = request.record
        precondition(record.response.isSuccessful, "a failure was read as a success")
        precondition(
            observation.time == record.time && observation.appkey == record.appkey
                && observation.keyId == record.keyId && observation.operation == record.operation,
            "the success shortcut read other values than the full decoding")
    }
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
