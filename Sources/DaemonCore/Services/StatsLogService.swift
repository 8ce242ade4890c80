import KafkaIngest
import Logging
import ServiceLifecycle

/// Logs ingest counters and prequential metrics at a fixed interval.
struct StatsLogService: Service {
    let ingest: IngestService
    let intervalSeconds: Double
    let logger: Logger

    func run() async throws {
        guard intervalSeconds > 0 else { return try await gracefulShutdown() }
        var lastEvents = 0
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(intervalSeconds)) }
            if Task.isShuttingDownGracefully { break }
            let status = ingest.status
            let lag = ingest.consumer.lag().compactMap(\.lag).reduce(0, +)
            let rate = Double(status.appliedEvents - lastEvents) / intervalSeconds
            lastEvents = status.appliedEvents
            logger.info(
                "ingest", metadata: [
                    LoggingKeys.events: "\(status.appliedEvents)", "crossrec.events_per_second": "\(Int(rate))",
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
