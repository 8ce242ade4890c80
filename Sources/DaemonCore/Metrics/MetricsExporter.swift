import Metrics
import Prometheus
import RecModel

/// The `metrics` operation: gauges refreshed from the daemon's state at each scrape, then the
/// whole registry (ingest counters included) in Prometheus text exposition format.
final class MetricsExporter: Sendable {
    let registry: PrometheusCollectorRegistry
    private let events: [Metrics.Gauge]
    private let users: [Metrics.Gauge]
    private let items: [Metrics.Gauge]
    private let rmse: [Metrics.Gauge]
    private let windowRMSE: [Metrics.Gauge]
    private let baselineRMSE: [Metrics.Gauge]
    private let lag: [Metrics.Gauge]
    private let modelVersion = Metrics.Gauge(label: "crossrec_model_version")
    /// Per domain, then strategy (personal, transfer): the online hit rate's tallies.
    private let hitSamples: [[Metrics.Gauge]]
    private let hits: [[Metrics.Gauge]]

    /// Gauges are created once, with fixed labels, through the process's metrics factory.
    init(registry: PrometheusCollectorRegistry, domains: [String]) {
        self.registry = registry
        func gauges(_ name: String) -> [Metrics.Gauge] { domains.map { Metrics.Gauge(label: name, dimensions: [("domain", $0)]) } }
        events = gauges("crossrec_events_applied")
        users = gauges("crossrec_users")
        items = gauges("crossrec_items")
        rmse = gauges("crossrec_prequential_rmse")
        windowRMSE = gauges("crossrec_prequential_window_rmse")
        baselineRMSE = gauges("crossrec_prequential_baseline_rmse")
        lag = gauges("crossrec_consumer_lag")
        func byStrategy(_ name: String) -> [[Metrics.Gauge]] {
            domains.map { domain in
                ["personal", "transfer"].map { Metrics.Gauge(label: name, dimensions: [("domain", domain), ("strategy", $0)]) }
            }
        }
        hitSamples = byStrategy("crossrec_online_hit_samples")
        hits = byStrategy("crossrec_online_hits")
    }

    func scrape(status: IngestService.Status, lagPerDomain: [Int64], modelVersion version: Int) -> String {
        for (index, domain) in status.domains.enumerated() {
            events[index].record(domain.events)
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
                hitSamples[index][strategy].record(tally.sampled)
                hits[index][strategy].record(tally.hits)
            }
        }
        modelVersion.record(version)
        return registry.emitToString()
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
