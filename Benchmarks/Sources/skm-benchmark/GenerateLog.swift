import Foundation
import SKMCore
import SKMWire

/// Writes a large request log from a template: see `main.swift`.
func generateLog(_ arguments: [String]) {
    guard arguments.count == 4, let lines = Int(arguments[1]), let percent = Double(arguments[2]) else {
        FileHandle.standardError.write(
            Data("usage: skm-benchmark generate-log TEMPLATE LINES FAILURE-PERCENT OUT\n".utf8))
        exit(3)
    }
    guard let template = try? String(contentsOfFile: arguments[0], encoding: .utf8) else {
        FileHandle.standardError.write(Data("\(arguments[0]): cannot read\n".utf8))
        exit(2)
    }
    var successes: [RequestRecord] = []
    var failures: [RequestRecord] = []
    for line in template.split(separator: "\n") {
        guard let value = try? JSONParser().parse(String(line)), let record = try? RequestRecord(json: value) else {
            continue
        }
        if record.response.isSuccessful { successes.append(record) } else { failures.append(record) }
    }
    guard !successes.isEmpty, !failures.isEmpty else {
        FileHandle.standardError.write(Data("the template needs successes and failures\n".utf8))
        exit(2)
    }
    guard
        let output = FileHandle(forWritingAtPath: arguments[3])
            ?? {
                _ = FileManager.default.createFile(atPath: arguments[3], contents: nil)
                return FileHandle(forWritingAtPath: arguments[3])
            }()
    else {
        FileHandle.standardError.write(Data("\(arguments[3]): cannot write\n".utf8))
        exit(2)
    }
    try? output.truncate(atOffset: 0)
    // Times move forward from the template's last request, 20 ms apart on average, so that every request falls
    // after the state the template's snapshot describes.
    let start = (successes + failures).map(\.time).max()!.addingTimeInterval(60)
    var generator = SystemRandomNumberGenerator()
    var buffer: [UInt8] = []
    buffer.reserveCapacity(8 << 20)
    let failureShare = percent / 100
    for index in 0..<lines {
        let failed = Double.random(in: 0..<1, using: &generator) < failureShare
        var record = failed ? failures.randomElement(using: &generator)! : successes.randomElement(using: &generator)!
        record.time = start.addingTimeInterval(Double(index) * 0.02)
        record.requestId = "bench-\(String(index, radix: 16))"
        buffer.append(contentsOf: record.jsonLine)
        if buffer.count > 8 << 20 {
            output.write(Data(buffer))
            buffer.removeAll(keepingCapacity: true)
        }
    }
    output.write(Data(buffer))
    try? output.close()
}
