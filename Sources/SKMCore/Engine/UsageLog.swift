import Foundation
import SKMPrimitives
import Synchronization

/// One cell of the call statistics: a UTC day, an appkey, a key (`nil` for calls naming none), an operation and a
/// result.
package struct UsageCell: Sendable, Hashable, Comparable {
    /// `2026-09-21` (UTC).
    package var day: String
    package var appkey: String
    package var keyId: String?
    package var operation: String
    /// `success`, or the result message of a failure (`Invalid Key Version`).
    package var result: String

    package init(day: String, appkey: String, keyId: String?, operation: String, result: String) {
        (self.day, self.appkey, self.keyId, self.operation, self.result) = (day, appkey, keyId, operation, result)
    }

    package static func < (lhs: UsageCell, rhs: UsageCell) -> Bool {
        (lhs.day, lhs.appkey, lhs.keyId ?? "", lhs.operation, lhs.result)
            < (rhs.day, rhs.appkey, rhs.keyId ?? "", rhs.operation, rhs.result)
    }
}

/// When keys and client-authentication entries were last used (`lastAccessDatetime`), and how many calls each
/// appkey's keys answered (the call statistics), kept in memory and written in batches: a call never waits for a
/// write, and an object or a count is written at most once per flush, whatever its traffic. The server flushes once a
/// minute and on shutdown (``Engine/flushUsage()``).
final class UsageLog: Sendable {
    struct Pending {
        var keys: [String: Date] = [:]
        var entries: [Int: Date] = [:]
        var calls: [UsageCell: Int] = [:]

        var isEmpty: Bool { keys.isEmpty && entries.isEmpty && calls.isEmpty }

        mutating func merge(_ other: Pending) {
            keys.merge(other.keys, uniquingKeysWith: max)
            entries.merge(other.entries, uniquingKeysWith: max)
            calls.merge(other.calls, uniquingKeysWith: +)
        }
    }

    private let pending = Mutex(Pending())

    /// Notes that `key` was used at `time`, through the client-authentication entries `entries`.
    func noteUse(key: String, entries: [Int], at time: Date) {
        pending.withLock { pending in
            pending.keys[key] = max(pending.keys[key] ?? time, time)
            for id in entries { pending.entries[id] = max(pending.entries[id] ?? time, time) }
        }
    }

    /// The last UTC day a call was counted on, as a number and as text: formatting a time for every call would cost
    /// more than counting it.
    private let lastDay = Mutex<(number: Int, text: String)>((Int.min, ""))

    /// The UTC day of `time` as the cells name it (`2026-09-21`).
    func day(of time: Date) -> String {
        let number = Int((time.timeIntervalSince1970 / 86_400).rounded(.down))
        if let text = lastDay.withLock({ $0.number == number ? $0.text : nil }) { return text }
        let text = String(Timestamp.rfc3339(time).prefix(10))
        lastDay.withLock { $0 = (number, text) }
        return text
    }

    /// Counts one call in its cell.
    func noteCall(_ cell: UsageCell) {
        pending.withLock { $0.calls[cell, default: 0] += 1 }
    }

    /// The calls of `appkey` counted since the last flush, from day `from` through `through`.
    func calls(appkey: String, from: String, through: String) -> [UsageCell: Int] {
        pending.withLock { pending in
            pending.calls.filter { $0.key.appkey == appkey && $0.key.day >= from && $0.key.day <= through }
        }
    }

    /// Takes everything noted since the last flush.
    func take() -> Pending? {
        pending.withLock { pending in
            guard !pending.isEmpty else { return nil }
            defer { pending = Pending() }
            return pending
        }
    }

    /// Puts back what a failed flush took, so that the next flush writes it.
    func putBack(_ taken: Pending) {
        pending.withLock { $0.merge(taken) }
    }
}

extension Engine {
    /// Writes the last uses and call counts noted since the previous flush, in one transaction; returns how many
    /// objects and cells it wrote. What a failed write took is kept for the next flush.
    @discardableResult
    package func flushUsage() async throws -> Int {
        guard let taken = usage.take() else { return 0 }
        var mutations: [ChangeSet.Mutation] = []
        if !taken.keys.isEmpty || !taken.entries.isEmpty {
            mutations.append(.recordAccess(keys: taken.keys, entries: taken.entries))
        }
        if !taken.calls.isEmpty { mutations.append(.addCallCounts(taken.calls)) }
        do {
            try await storage.commit(ChangeSet(mutations))
        } catch {
            usage.putBack(taken)
            throw error
        }
        return taken.keys.count + taken.entries.count + taken.calls.count
    }

    /// Counts a call in the statistics of `appkey` (``callCounts(appkey:from:through:)``): its UTC day, key, operation
    /// and result. Only calls the engine answered for an appkey that exists are counted, and `keyId` only when the
    /// key was found, so that what a caller makes up (appkeys, key ids) never adds a cell.
    package func noteCall(appkey: String, keyId: String?, operation: APIOperation, error: APIError?, at time: Date) {
        guard error != .invalidAppkey, error != .urlNotFound else { return }
        let keyFound: Bool
        switch error {
        case nil: keyFound = true
        case .invalidRequest?, .unauthorized?, .invalidKeyID?, .internalError?: keyFound = false
        default: keyFound = true
        }
        usage.noteCall(
            UsageCell(
                day: usage.day(of: time), appkey: appkey,
                keyId: keyFound ? keyId.flatMap { Self.isKeyID($0) ? $0 : nil } : nil, operation: operation.rawValue,
                result: error?.resultMessage ?? "success"))
    }

    /// The calls of `appkey` from UTC day `from` through `through` (`YYYY-MM-DD`): every node's counts as written,
    /// and this node's since its last write.
    package func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] {
        var counts = try await storage.callCounts(appkey: appkey, from: from, through: through)
        counts.merge(usage.calls(appkey: appkey, from: from, through: through), uniquingKeysWith: +)
        return counts
    }

    static func isKeyID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8AllSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
