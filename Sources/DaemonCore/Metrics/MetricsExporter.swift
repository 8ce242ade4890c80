import Metrics
import Prometheus
import QueryProtocol
import RecModel

/// The `metrics` operation: gauges and counters brought up to the daemon's state at each
/// scrape, then the whole registry (ingest counters included) in Prometheus text exposition
/// format. What only counts up is a counter (`_total`): Prometheus' `rate()` needs that.
final class MetricsExporter: Sendable {
    let registry: PrometheusCollectorRegistry
    private let events: [RaisedCounter<Int>]
    private let users: [Metrics.Gauge]
    private let items: [Metrics.Gauge]
    private let rmse: [Metrics.Gauge]
    private let windowRMSE: [Metrics.Gauge]
    private let baselineRMSE: [Metrics.Gauge]
    private let lag: [Metrics.Gauge]
    private let modelVersion = Metrics.Gauge(label: "crossrec_model_version")
    private let modelPublished = Metrics.Gauge(label: "crossrec_model_published_timestamp_seconds")
    private let ready = Metrics.Gauge(label: "crossrec_ready")
    private let process = ProcessMetrics()
    /// Per domain, then strategy (personal, transfer): the online hit rate's tallies.
    private let hitSamples: [[RaisedCounter<Int>]]
    private let hits: [[RaisedCounter<Int>]]

    /// Gauges are created once, with fixed labels, through the process's metrics factory.
    init(registry: PrometheusCollectorRegistry, domains: [String]) {
        self.registry = registry
        func gauges(_ name: String) -> [Metrics.Gauge] { domains.map { Metrics.Gauge(label: name, dimensions: [("domain", $0)]) } }
        events = domains.map { RaisedCounter(label: "crossrec_events_applied_total", dimensions: [("domain", $0)]) }
        users = gauges("crossrec_users")
        items = gauges("crossrec_items")
        rmse = gauges("crossrec_prequential_rmse")
        windowRMSE = gauges("crossrec_prequential_window_rmse")
        baselineRMSE = gauges("crossrec_prequential_baseline_rmse")
        lag = gauges("crossrec_consumer_lag")
        func byStrategy(_ name: String) -> [[RaisedCounter<Int>]] {
            domains.map { domain in
                ["personal", "transfer"].map { RaisedCounter(label: name, dimensions: [("domain", domain), ("strategy", $0)]) }
            }
        }
        hitSamples = byStrategy("crossrec_online_hit_samples_total")
        hits = byStrategy("crossrec_online_hits_total")
        Metrics.Gauge(label: "crossrec_build_info", dimensions: [("version", CrossrecVersion.current)]).record(1)
    }

    /// - Parameters:
    ///   - isReady: whether health answers `ready` now.
    ///   - modelPublishedAt: when the serving model was published, in seconds since the epoch
    ///     (nil before the first one).
    func scrape(
        status: IngestService.Status, lagPerDomain: [Int64], modelVersion version: Int, modelPublishedAt: Double?, isReady: Bool
    ) -> String {
        for (index, domain) in status.domains.enumerated() {
            events[index].raise(to: domain.events)
            users[index].record(domain.users)
            items[index].record(domain.items)
            if domain.metrics.count > 0 {
                rmse[index].record(domain.metrics.rmse)
                windowRMSE[index].record(domain.metrics.windowRMSE)
                baselineRMSE[index].record(domain.metrics.baselineRMSE)
            }
            lag[index].record(lagPerDomain[index])
            let rate = status.hitRates[index]
            for (strategy, tally) in [rate.personal, rate.transfer].enumerated() {
                hitSamples[index][strategy].raise(to: tally.sampled)
                hits[index][strategy].raise(to: tally.hits)
            }
        }
        modelVersion.record(version)
        if let modelPublishedAt { modelPublished.record(modelPublishedAt) }
        ready.record(isReady ? 1 : 0)
        process.update()
        return MetricHelp.adding(to: registry.emitToString())
    }
}

/// The process's metrics factory: Prometheus, with histogram buckets sized for what they time.
public enum DaemonMetrics {
    public static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Answers take tens of µs to a few ms; Prometheus' default buckets start at 5 ms.
        factory.durationHistogramBuckets["crossrec_query_duration_seconds"] = [
            .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(250),
            .seconds(1), .seconds(5),
        ]
        return factory
    }
}
