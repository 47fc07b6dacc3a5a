import Foundation
import Synchronization

/// When keys and client-authentication entries were last used (`lastAccessDatetime`), kept in memory and written in
/// batches: a data call never waits for a write, and an object is written at most once per flush, whatever its
/// traffic. The server flushes once a minute and on shutdown (``Engine/flushUsage()``).
final class UsageLog: Sendable {
    private struct Pending {
        var keys: [String: Date] = [:]
        var entries: [Int: Date] = [:]

        var isEmpty: Bool { keys.isEmpty && entries.isEmpty }

        mutating func merge(keys newKeys: [String: Date], entries newEntries: [Int: Date]) {
            keys.merge(newKeys, uniquingKeysWith: max)
            entries.merge(newEntries, uniquingKeysWith: max)
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

    /// Takes everything noted since the last flush.
    func take() -> (keys: [String: Date], entries: [Int: Date])? {
        pending.withLock { pending in
            guard !pending.isEmpty else { return nil }
            defer { pending = Pending() }
            return (pending.keys, pending.entries)
        }
    }

    /// Puts back what a failed flush took, so that the next flush writes it.
    func putBack(keys: [String: Date], entries: [Int: Date]) {
        pending.withLock { $0.merge(keys: keys, entries: entries) }
    }
}

extension Engine {
    /// Writes the last uses noted since the previous flush, in one transaction; returns how many objects it wrote.
    /// What a failed write took is kept for the next flush.
    @discardableResult
    package func flushUsage() async throws -> Int {
        guard let (keys, entries) = usage.take() else { return 0 }
        do {
            try await storage.commit(ChangeSet([.recordAccess(keys: keys, entries: entries)]))
        } catch {
            usage.putBack(keys: keys, entries: entries)
            throw error
        }
        return keys.count + entries.count
    }
}
