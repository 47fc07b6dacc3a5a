import Logging
import SKMCore
import ServiceLifecycle

/// Writes the last use of keys and client-authentication entries (`lastAccessDatetime`) at a fixed interval, and a
/// last time on shutdown, after the listener has stopped taking requests.
struct UsageFlushService: Service, CustomStringConvertible {
    let engine: Engine
    let interval: Duration
    let logger: Logger

    /// How service lifecycle's log names it (not the engine it holds).
    var description: String { "last-use recorder" }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: interval)
            }
            await flush()
        }
        await flush()
    }

    private func flush() async {
        do {
            try await engine.flushUsage()
        } catch is CancellationError {
            return
        } catch {
            logger.error("cannot record the last use of keys and entries: \(error)")
        }
    }
}
