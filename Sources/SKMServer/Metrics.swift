import Foundation
import Synchronization

/// Prometheus metrics: requests by operation and result code, and a latency histogram per operation.
public final class Metrics: Sendable {
    static let bucketBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    private struct Histogram {
        var buckets = [Int](repeating: 0, count: Metrics.bucketBounds.count)
        var count = 0
        var sum = 0.0
    }

    private struct State {
        var requests: [String: [Int: Int]] = [:]
        var latency: [String: Histogram] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Records one answered request.
    public func record(operation: String, resultCode: Int, seconds: Double) {
        state.withLock { state in
            state.requests[operation, default: [:]][resultCode, default: 0] += 1
            var histogram = state.latency[operation] ?? Histogram()
            histogram.count += 1
            histogram.sum += seconds
            if let index = Self.bucketBounds.firstIndex(where: { seconds <= $0 }) { histogram.buckets[index] += 1 }
            state.latency[operation] = histogram
        }
    }

    /// The Prometheus text exposition format.
    public func render() -> String {
        let snapshot = state.withLock { $0 }
        var lines = [
            "# HELP skm_requests_total SKM API requests by operation and result code.",
            "# TYPE skm_requests_total counter",
        ]
        for operation in snapshot.requests.keys.sorted() {
            for (code, count) in snapshot.requests[operation]!.sorted(by: { $0.key < $1.key }) {
                lines.append("skm_requests_total{operation=\"\(operation)\",result_code=\"\(code)\"} \(count)")
            }
        }
        lines += [
            "# HELP skm_request_duration_seconds Time to answer SKM API requests.",
            "# TYPE skm_request_duration_seconds histogram",
        ]
        for operation in snapshot.latency.keys.sorted() {
            let histogram = snapshot.latency[operation]!
            var cumulative = 0
            for (index, bound) in Self.bucketBounds.enumerated() {
                cumulative += histogram.buckets[index]
                lines.append(
                    "skm_request_duration_seconds_bucket{operation=\"\(operation)\",le=\"\(bound)\"} \(cumulative)")
            }
            lines.append(
                "skm_request_duration_seconds_bucket{operation=\"\(operation)\",le=\"+Inf\"} \(histogram.count)")
            lines.append("skm_request_duration_seconds_sum{operation=\"\(operation)\"} \(histogram.sum)")
            lines.append("skm_request_duration_seconds_count{operation=\"\(operation)\"} \(histogram.count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
