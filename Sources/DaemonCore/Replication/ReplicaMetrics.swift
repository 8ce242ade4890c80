import Foundation
import Metrics
import Prometheus
import QueryProtocol

/// A replica's `metrics`: its lag, what it received and applied (counted by `ReplicaService`),
/// the served version, readiness and the process, then the whole registry (the query
/// server's families included).
final class ReplicaMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let lagVersions = Metrics.Gauge(label: "crossrec_replica_lag_versions")
    private let lagSeconds = Metrics.Gauge(label: "crossrec_replica_lag_seconds")
    private let published = Metrics.Gauge(label: "crossrec_model_published_timestamp_seconds")
    private let ready = Metrics.Gauge(label: "crossrec_ready")
    private let process = ProcessMetrics()

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        Metrics.Gauge(label: "crossrec_build_info", dimensions: [("version", CrossrecVersion.current)]).record(1)
        // Created at 0 so that increase() sees the first one.
        Counter(label: "crossrec_replica_versions_rejected_total").increment(by: 0)
    }

    func scrape(status: ReplicaService.Status, lagVersions versions: Int, lagSeconds seconds: Double, isReady: Bool) -> String {
        lagVersions.record(versions)
        lagSeconds.record(seconds)
        if let served = status.served { published.record(Double(served.publishedUnixMillis) / 1_000) }
        ready.record(isReady ? 1 : 0)
        process.update()
        return MetricHelp.adding(to: registry.emitToString())
    }
}
