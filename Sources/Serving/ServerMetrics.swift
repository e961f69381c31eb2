import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The server's metrics through swift-metrics, kept in a registry of its own
/// (several servers in one process, as in the tests, do not mix) and written
/// in Prometheus' text format by `GET /metrics`.
final class ServerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let queueLength: CoreMetrics.Gauge
    private let batchSize: CoreMetrics.Gauge
    private let tokensPerSecond: CoreMetrics.Gauge
    private let generatedTokens: CoreMetrics.Counter
    private let cancelled: CoreMetrics.Gauge
    /// Generated tokens and time at the previous scrape, for the rate.
    private let lastScrape = Mutex<(tokens: Int, at: ContinuousClock.Instant)>((0, .now))

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120].map {
            Duration.milliseconds(Int64($0 * 1000))
        }
        self.factory = factory
        queueLength = CoreMetrics.Gauge(label: "zerosearch_queue_length", factory: factory)
        batchSize = CoreMetrics.Gauge(label: "zerosearch_batch_size", factory: factory)
        tokensPerSecond = CoreMetrics.Gauge(label: "zerosearch_tokens_per_second", factory: factory)
        generatedTokens = CoreMetrics.Counter(label: "zerosearch_generated_tokens_total", factory: factory)
        cancelled = CoreMetrics.Gauge(label: "zerosearch_cancelled_generations", factory: factory)
    }

    func record(endpoint: String, status: Int, duration: Duration) {
        CoreMetrics.Counter(
            label: "zerosearch_requests_total", dimensions: [("endpoint", endpoint), ("status", "\(status)")], factory: factory
        )
        .increment()
        CoreMetrics.Timer(label: "zerosearch_request_duration_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The text exposition, with the scheduler's gauges read now.
    func exposition(load: BatchScheduler.Load?) -> String {
        if let load {
            queueLength.record(load.waiting)
            batchSize.record(load.running)
            cancelled.record(load.cancelled)
            let now = ContinuousClock.now
            let (delta, seconds) = lastScrape.withLock { last in
                defer { last = (load.generatedTokens, now) }
                let elapsed = now - last.at
                return (
                    load.generatedTokens - last.tokens, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                )
            }
            generatedTokens.increment(by: max(delta, 0))
            tokensPerSecond.record(seconds > 0 ? Double(delta) / seconds : 0)
        }
        return registry.emitToString()
    }
}
