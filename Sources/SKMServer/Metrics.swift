import CoreMetrics
import Prometheus

/// The server's metrics, through swift-metrics into a Prometheus registry of the server's own (never the process-wide
/// metrics system, so that several servers in one process count apart): requests by operation and result code, and a
/// latency histogram per operation, exposed at `/metrics` in the Prometheus text format.
package final class Metrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

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
        Counter(
            label: "skm_requests_total", dimensions: [("operation", operation), ("result_code", String(resultCode))],
            factory: factory
        ).increment()
        Timer(label: "skm_request_duration_seconds", dimensions: [("operation", operation)], factory: factory)
            .recordNanoseconds(Int64((seconds * 1_000_000_000).rounded()))
    }

    /// The Prometheus text exposition format.
    package func render() -> String {
        registry.emitToString()
    }
}
