import KafkaIngest
import Logging
import ServiceLifecycle
import Synchronization

/// Logs ingest counters and prequential metrics every `intervalSeconds` (0: never; a reload
/// may change it).
final class StatsLogService: Service, Sendable {
    let ingest: IngestService
    let interval: Mutex<Double>
    let logger: Logger

    init(ingest: IngestService, intervalSeconds: Double, logger: Logger) {
        self.ingest = ingest
        interval = Mutex(intervalSeconds)
        self.logger = logger
    }

    func run() async throws {
        var rate = RateMeter(events: ingest.status.appliedEvents)
        while !Task.isShuttingDownGracefully {
            let intervalSeconds = interval.withLock { $0 }
            // Disabled: look again later, a reload may enable it.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(intervalSeconds > 0 ? intervalSeconds : 1)) }
            if Task.isShuttingDownGracefully { break }
            guard intervalSeconds > 0 else { continue }
            let status = ingest.status
            let lag = ingest.consumer.lag().compactMap(\.lag).reduce(0, +)
            let eventsPerSecond = rate.update(events: status.appliedEvents)
            logger.info(
                "ingest", metadata: [
                    LoggingKeys.events: "\(status.appliedEvents)", "crossrec.events_per_second": "\(Int(eventsPerSecond))",
                    LoggingKeys.rejected: "\(status.counters.totalRejected)", LoggingKeys.users: "\(status.users)",
                    LoggingKeys.lag: "\(lag)",
                ])
            for (index, domain) in status.domains.enumerated() {
                let rejected = status.counters.rejected[index].values.reduce(0, +)
                logger.info(
                    "domain", metadata: [
                        LoggingKeys.domain: "\(domain.name)", LoggingKeys.events: "\(domain.events)",
                        LoggingKeys.rejected: "\(rejected)", LoggingKeys.items: "\(domain.items)",
                        LoggingKeys.users: "\(domain.users)", LoggingKeys.rmse: "\(format(domain.metrics.rmse))",
                        LoggingKeys.mae: "\(format(domain.metrics.mae))",
                        LoggingKeys.baselineRMSE: "\(format(domain.metrics.baselineRMSE))",
                        LoggingKeys.windowRMSE: "\(format(domain.metrics.windowRMSE))",
                    ])
            }
        }
    }

    private func format(_ value: Double) -> String {
        value.isNaN ? "-" : String(Double(Int(value * 10_000)) / 10_000)
    }
}
