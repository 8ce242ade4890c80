import Foundation
import KafkaIngest
import Logging
import Prometheus
import QueryServer
import RecModel
import ServiceLifecycle

/// The whole daemon: the dev broker when configured, then a `ServiceGroup` of ingest and the
/// periodic stats log; SIGTERM/SIGINT shut it down gracefully.
public struct Daemon: Sendable {
    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// - Parameter metricsRegistry: the registry the process bootstrapped swift-metrics with,
    ///   served by the `metrics` operation.
    public func run(logger: Logger, metricsRegistry: PrometheusCollectorRegistry? = nil) async throws {
        try makeDirectories()
        let devBroker = try startDevBrokerIfConfigured(logger: logger)
        defer { if devBroker != nil { try? FileManager.default.removeItem(atPath: configuration.paths.devBrokerAddressFile) } }
        let bootstrap = devBroker?.bootstrapServers ?? configuration.kafka.bootstrap
        let consumer = try KafkaConsumer(
            settings: configuration.consumerSettings(bootstrapServers: bootstrap), logger: logger.with(label: "kafka"))
        let ingest = IngestService(
            learner: Learner(configuration: configuration.learnerConfiguration), consumer: consumer, logger: logger)
        let stats = StatsLogService(ingest: ingest, intervalSeconds: configuration.log.statsIntervalSeconds, logger: logger)
        let server = QueryServer(
            settings: configuration.serverSettings,
            handler: LearnerQueryHandler(
                ingest: ingest,
                metrics: metricsRegistry.map { MetricsExporter(registry: $0, domains: configuration.domains.map(\.name)) }),
            logger: logger)
        // Shutdown runs in reverse: stats, then the socket, then ingest.
        let group = ServiceGroup(
            services: [ingest, server, stats], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        logger.info("crossrecd starting", metadata: [LoggingKeys.bootstrap: "\(bootstrap)"])
        try await group.run()
        withExtendedLifetime(devBroker) {}
        logger.info("crossrecd stopped")
    }

    private func makeDirectories() throws {
        for path in [configuration.paths.runDirectory, configuration.paths.stateDirectory] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    /// In dev mode: the embedded mock cluster with every domain topic (and the dead-letter
    /// topic), its address published in the run directory for the CLI and kcat.
    private func startDevBrokerIfConfigured(logger: Logger) throws -> DevBroker? {
        guard configuration.kafka.usesDevBroker else { return nil }
        var topics = Dictionary(uniqueKeysWithValues: configuration.domains.map { ($0.topic, configuration.kafka.devBrokerPartitions) })
        if let deadLetter = configuration.kafka.deadLetterTopic { topics[deadLetter] = 1 }
        let broker = try DevBroker(topics: topics, logger: logger.with(label: "dev-broker"))
        try broker.writeAddressFile(path: configuration.paths.devBrokerAddressFile)
        logger.notice(
            "dev broker started", metadata: [
                LoggingKeys.bootstrap: "\(broker.bootstrapServers)",
                LoggingKeys.path: "\(configuration.paths.devBrokerAddressFile)",
            ])
        return broker
    }
}

extension Configuration {
    var serverSettings: QueryServerSettings {
        var settings = QueryServerSettings(socketPath: socketPath)
        settings.socketMode = socket.mode
        settings.maxLineBytes = socket.maxLineBytes
        settings.maxK = socket.maxK
        settings.maxConnections = socket.maxConnections
        settings.idleTimeoutSeconds = Int64(socket.idleTimeoutSeconds)
        settings.adminUIDs = Set(socket.adminUIDs)
        return settings
    }
}

extension Logger {
    /// The same handler under another label.
    func with(label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        return logger
    }
}
