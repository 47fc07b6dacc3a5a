import Logging
import SKMCore
import ServiceLifecycle

/// Runs automatic rotation and the deletion purge at a fixed interval, until graceful shutdown.
struct DueWorkService: Service {
    let engine: Engine
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let report = await engine.runDueWork()
            if report.total > 0 {
                logger.info(
                    "background jobs",
                    metadata: [
                        "rotated": "\(report.rotatedKeys)", "purgedKeys": "\(report.purgedKeys)",
                        "purgedVersions": "\(report.purgedVersions)", "purgedEntries": "\(report.purgedEntries)",
                    ])
            }
            for failure in report.failures {
                logger.error("background job failed: \(failure)")
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: interval)
            }
        }
    }
}
