import Logging
import SKMCore
import ServiceLifecycle

/// Runs automatic rotation and the deletion purge at a fixed interval, until graceful shutdown.
struct DueWorkService: Service, CustomStringConvertible {
    let engine: Engine
    let interval: Duration
    let logger: Logger

    /// How service lifecycle's log names it (not the engine it holds).
    var description: String { "automatic rotation and deletion purge" }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Several nodes on one database take turns: a node that finds another running the jobs skips this run.
            let report: DueWorkReport
            do {
                report =
                    try await engine.storage.exclusively("due-work") { await engine.runDueWork() } ?? DueWorkReport()
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                logger.error("background jobs could not start: \(error)")
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                continue
            }
            if report.total > 0 {
                logger.info(
                    "background jobs",
                    metadata: [
                        "rotated": "\(report.rotatedKeys)", "purgedKeys": "\(report.purgedKeys)",
                        "purgedVersions": "\(report.purgedVersions)", "purgedEntries": "\(report.purgedEntries)",
                    ])
            }
            // A run cut short by shutdown (the server could not start, or is stopping) is not a failure to report:
            // the real cause, if any, is reported where it happened.
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            for failure in report.failures {
                logger.error("background job failed: \(failure)")
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: interval)
            }
        }
    }
}
