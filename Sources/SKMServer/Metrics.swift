import CoreMetrics
import Prometheus
import Synchronization

/// The server's metrics, through swift-metrics into a Prometheus registry of the server's own (never the process-wide
/// metrics system, so that several servers in one process count apart): requests by operation and result code, and a
/// latency histogram per operation, exposed at `/metrics` in the Prometheus text format.
package final class Metrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// The counter of each operation and result code and the timer of each operation, made once: making one looks it
    /// up in the registry by its label and dimensions.
    private let made = Mutex<(counters: [CounterKey: CoreMetrics.Counter], timers: [String: CoreMetrics.Timer])>(
        ([:], [:]))

    private struct CounterKey: Hashable {
        var operation: String
        var resultCode: Int
    }

    package init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500),
        ]
        self.factory = factory
    }

    /// Records one answered request.
    package func record(operation: String, resultCode: Int, seconds: Double) {
        let (counter, timer) = made.withLock { made in
            let key = CounterKey(operation: operation, resultCode: resultCode)
            if let counter = made.counters[key], let timer = made.timers[operation] { return (counter, timer) }
            let counter =
                made.counters[key]
                ?? Counter(
                    label: "skm_requests_total",
                    dimensions: [("operation", operation), ("result_code", String(resultCode))], factory: factory)
            let timer =
                made.timers[operation]
                ?? Timer(
                    label: "skm_request_duration_seconds", dimensions: [("operation", operation)], factory: factory)
            made.counters[key] = counter
            made.timers[operation] = timer
            return (counter, timer)
        }
        counter.increment()
        timer.recordNanoseconds(Int64((seconds * 1_000_000_000).rounded()))
    }

    /// The Prometheus text exposition format.
    package func render() -> String {
        registry.emitToString()
    }
}
