import Foundation
import SKMCore
import SKMPrimitives
import SKMWire

/// Calls per appkey, key and day, by operation and result, as SKM's statistics page counts them: computed from the
/// request log, which records every call.
///
/// From the log rather than counters the server keeps: the log is already written for every call (no second write
/// on the data path, none of the server's speed spent on it), every node writes its own and the logs of several
/// nodes add up, and the counts can be taken again for any period, any appkey, from any copy of the logs.
package struct UsageStatistics: Sendable {
    /// One cell: a UTC day, an appkey, a key (`nil` for calls naming none), an operation and a result.
    package typealias Cell = UsageCell

    package private(set) var counts: [Cell: Int] = [:]
    /// Calls the counts leave out: no time, or no appkey (a path that named none).
    package private(set) var uncounted = 0

    package init() {}

    /// The UTC day of a time, as the cells name it.
    package static func day(_ time: Date) -> String {
        String(Timestamp.rfc3339(time).prefix(10))
    }

    package mutating func add(
        time: Date?, appkey: String?, keyId: String?, operation: String?, result: String
    ) {
        guard let time, let appkey, !appkey.isEmpty else {
            uncounted += 1
            return
        }
        let cell = Cell(
            day: Self.day(time), appkey: appkey, keyId: keyId, operation: operation ?? "unknown", result: result)
        counts[cell, default: 0] += 1
    }

    /// Adds `count` calls to a cell (counts the servers kept).
    package mutating func add(_ cell: Cell, count: Int) {
        counts[cell, default: 0] += count
    }

    /// Counts one item of a request log.
    package mutating func add(_ item: CaptureItem) {
        switch item {
        case .success(let success):
            add(
                time: success.time, appkey: success.appkey, keyId: success.keyId, operation: success.operation,
                result: "success")
        case .request(let request):
            let record = request.record
            add(
                time: record.time, appkey: record.appkey, keyId: record.keyId, operation: record.operation,
                result: record.response.isSuccessful ? "success" : Self.failure(record.response))
        case .problem:
            break
        }
    }

    /// A failed call's result: its message, or its code where the message is empty or reads "success" (a record
    /// the server never writes, edited or made by another tool), so that a failure is never counted as a success.
    static func failure(_ response: RequestRecord.Response) -> String {
        let message = response.resultMessage
        return message.isEmpty || message == "success" ? "failed (result code \(response.resultCode))" : message
    }

    /// The cells, in day, appkey, key, operation and result order.
    package var cells: [(cell: Cell, count: Int)] {
        counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

}
