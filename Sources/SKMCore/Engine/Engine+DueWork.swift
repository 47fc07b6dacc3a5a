import Crypto
import Foundation
import X509

/// What a run of the background jobs did.
package struct DueWorkReport: Sendable, Hashable {
    package var purgedKeys = 0
    package var purgedVersions = 0
    package var purgedEntries = 0
    package var rotatedKeys = 0
    package var failures: [String] = []

    package var total: Int { purgedKeys + purgedVersions + purgedEntries + rotatedKeys }

    package init() {}
}

extension Engine {
    /// Carries out what fell due at the clock's current time: deletions whose 7 days passed, and automatic
    /// rotations. One failure does not stop the rest; it is reported.
    package func runDueWork() async -> DueWorkReport {
        var report = DueWorkReport()
        let work: DueWork
        do {
            work = try await storage.dueWork(at: clock.now)
        } catch is CancellationError {
            return report
        } catch {
            report.failures.append("cannot read due work: \(error)")
            return report
        }
        let now = clock.now
        for key in work.keysToPurge {
            await step("purge key \(key.id)", counting: \.purgedKeys, in: &report) {
                guard let current = try await storage.key(id: key.id), Self.purgeIsDue(current, at: now),
                    try await !cancellationWaits(appkey: current.appkey, keyId: current.id, version: nil)
                else {
                    return false
                }
                _ = try await transition(current, to: .deleted, action: .keyPurge, actor: "system:purge")
                return true
            }
        }
        for version in work.versionsToPurge {
            await step(
                "purge version \(version.number) of key \(version.keyId)", counting: \.purgedVersions, in: &report
            ) {
                guard let key = try await storage.key(id: version.keyId),
                    let current = try await storage.versions(keyId: version.keyId).first(where: {
                        $0.number == version.number
                    }), Self.purgeIsDue(current, at: now),
                    try await !cancellationWaits(appkey: key.appkey, keyId: key.id, version: current.number)
                else { return false }
                _ = try await transition(current, of: key, to: .deleted, action: .versionPurge, actor: "system:purge")
                return true
            }
        }
        for entry in work.entriesToPurge {
            await step("purge auth entry \(entry.id)", counting: \.purgedEntries, in: &report) {
                guard let current = try await storage.authEntry(id: entry.id), Self.purgeIsDue(current, at: now) else {
                    return false
                }
                _ = try await transition(current, to: .deleted, action: .authPurge, actor: "system:purge")
                return true
            }
        }
        for key in work.keysToRotate {
            await step("rotate key \(key.id)", counting: \.rotatedKeys, in: &report) {
                guard var current = try await storage.key(id: key.id), current.status == .active,
                    current.autoRotationPeriod > 0, !current.imported, (current.nextRotationAt ?? .distantFuture) <= now
                else { return false }
                _ = try await rotate(&current, actor: "system:rotation", action: .keyRotate)
                return true
            }
        }
        return report
    }

    /// Whether the cancellation of a key's (or a version's) deletion waits for approval: its purge waits too, as an
    /// entry's does, so that an approver's absence destroys no key.
    private func cancellationWaits(appkey: String, keyId: String, version: Int?) async throws -> Bool {
        try await pendingChanges(appkey: appkey).contains {
            $0.keyId == keyId && $0.version == version
                && $0.kind == (version == nil ? .cancelKeyDeletion : .cancelVersionDeletion)
        }
    }

    /// One piece of due work, retried on a conflict; counted when it was still due and done, reported when it failed.
    private func step(
        _ description: String, counting counter: WritableKeyPath<DueWorkReport, Int>, in report: inout DueWorkReport,
        _ work: () async throws -> Bool
    ) async {
        do {
            if try await retrying(work) { report[keyPath: counter] += 1 }
        } catch {
            report.failures.append("\(description): \(error)")
        }
    }

    /// Whether `item` is pending deletion and its date has come.
    static func purgeIsDue<Item: DeletionLifecycle>(_ item: Item, at now: Date) -> Bool {
        item.status == Item.pendingDeletion && (item.deletionAt ?? .distantFuture) <= now
    }
}
