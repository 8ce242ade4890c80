import Checkpoint
import Foundation
import KafkaIngest
import Logging
import Prometheus
import QueryServer
import RecModel
import Replication
import ServiceLifecycle

/// The whole daemon: the dev broker when configured, the restore of the newest valid
/// checkpoint, then a `ServiceGroup` of checkpoints, ingest, the query server and the periodic
/// stats log; SIGTERM/SIGINT shut it down gracefully.
public struct Daemon: Sendable {
    public let configuration: Configuration
    /// Start empty instead of refusing to start when the newest checkpoint was written under an
    /// incompatible configuration.
    public var discardIncompatibleCheckpoint = false
    /// The file the configuration came from, re-read on SIGHUP (nil: reloads are refused).
    public var configurationPath: String?
    /// A listening socket passed by the service manager (`SocketActivation`), served instead of
    /// binding the configured path.
    public var inheritedSocket: Int32?
    /// The service manager's notification socket (inert outside systemd).
    public var notifier = SystemdNotifier()

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// - Parameter metricsRegistry: the registry the process bootstrapped swift-metrics with,
    ///   served by the `metrics` operation.
    public func run(logger: Logger, metricsRegistry: PrometheusCollectorRegistry? = nil) async throws {
        if configuration.replication.isReplica { return try await runReplica(logger: logger, metricsRegistry: metricsRegistry) }
        try makeDirectories()
        let devBroker = try startDevBrokerIfConfigured(logger: logger)
        defer { if devBroker != nil { try? FileManager.default.removeItem(atPath: configuration.paths.devBrokerAddressFile) } }
        let bootstrap = devBroker?.bootstrapServers ?? configuration.kafka.bootstrap
        let store = CheckpointStore(directory: configuration.paths.stateDirectory, retain: configuration.checkpoint.retain)
        notifier.notify(["STATUS=restoring the newest checkpoint of \(store.directory)"])
        let restored = try restore(from: store, logger: logger)
        let positions = restored.file.map(positions(of:)) ?? [:]
        let consumer = try KafkaConsumer(
            settings: configuration.consumerSettings(bootstrapServers: bootstrap), positions: AppliedPositions(positions),
            logger: logger.with(label: "kafka"))
        let learner = restored.learner ?? Learner(configuration: configuration.learnerConfiguration)
        let ingest = IngestService(learner: learner, positions: positions, consumer: consumer, logger: logger)
        let checkpoints = CheckpointService(
            store: store, ingest: ingest, intervalSeconds: configuration.checkpoint.intervalSeconds,
            restoredFrom: restored.file?.path, skipped: restored.skipped.map(\.message),
            startedWithoutHistory: restored.file == nil && !unusable(restored).isEmpty,
            logger: logger)
        let (publisher, firstVersion) = try makePublisher(bootstrap: bootstrap, logger: logger)
        let distill = DistillService(ingest: ingest, schedule: configuration.distillSchedule, firstVersion: firstVersion, logger: logger)
        if let publisher { distill.onPublish { publisher.offer($0) } }
        ingest.measureHitRate { [distill] in distill.model }
        notifier.notify(["STATUS=building the first serving model"])
        distill.publishInitial(from: learner)
        let stats = StatsLogService(ingest: ingest, intervalSeconds: configuration.log.statsIntervalSeconds, logger: logger)
        var serverSettings = configuration.serverSettings
        serverSettings.inheritedSocket = inheritedSocket
        let answers = ServingAnswerCache(budgetMiB: configuration.socket.answerCacheMiB)
        let queries = ServingQueryHandler(
            ingest: ingest, distill: distill, checkpoints: checkpoints,
            metrics: metricsRegistry.map { MetricsExporter(registry: $0, domains: configuration.domains.map(\.name)) },
            reads: ModelReads(answers: answers), publisher: publisher)
        let server = QueryServer(settings: serverSettings, handler: queries, logger: logger)
        // Read operations over HTTP for Prometheus and probes, when configured.
        let http = configuration.http.address.map { HTTPEndpoints(host: $0.host, port: $0.port, handler: queries, logger: logger) }
        let systemd = SystemdService(notifier: notifier, ingest: ingest, distill: distill, checkpoints: checkpoints, server: server, logger: logger)
        let reload = ReloadService(path: configurationPath, configuration: configuration, notifier: notifier, logger: logger) {
            new in
            LoggingSetup.setLevel(new.log.level)
            stats.interval.withLock { $0 = new.log.statsIntervalSeconds }
            distill.update(new.distillSchedule)
            checkpoints.update(intervalSeconds: new.checkpoint.intervalSeconds, retain: new.checkpoint.retain)
            server.updateLimits(new.serverSettings)
            answers.update(budgetMiB: new.socket.answerCacheMiB)
            do { try consumer.setDeadLetterTopic(new.kafka.deadLetterTopic) } catch {
                logger.error("dead-letter topic not changed", metadata: [LoggingKeys.error: "\(error)"])
            }
        }
        // Shutdown runs in reverse: STOPPING=1 first, stats, the socket, distillation, ingest,
        // and last the checkpoints, whose final cut is then the state after the last applied event.
        var services: [any Service] = [checkpoints, ingest, distill]
        if let publisher { services.append(publisher) }
        services.append(server)
        if let http { services.append(http) }
        services += [stats, reload, systemd] as [any Service]
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        logger.info("crossrecd starting", metadata: [LoggingKeys.bootstrap: "\(bootstrap)"])
        try await group.run()
        withExtendedLifetime(devBroker) {}
        logger.info("crossrecd stopped")
    }

    /// The newest checkpoint that verifies and fits the configuration, or an empty start; every
    /// file passed over is logged with its reason.
    private func restore(from store: CheckpointStore, logger: Logger) throws -> CheckpointStore.Restored {
        for path in try store.removeTemporaryFiles() {
            logger.notice("removed an unfinished checkpoint left by a crash", metadata: [LoggingKeys.path: "\(path)"])
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let result = Result { () throws(CheckpointError) in
            try store.restoreNewest(
                configuration: configuration.learnerConfiguration, discardIncompatible: discardIncompatibleCheckpoint)
        }
        if case .failure(let error) = result, error.code == .incompatible {
            logger.critical(
                "checkpoint incompatible with this configuration; restore the old configuration, or start with --discard-incompatible-checkpoint",
                metadata: [LoggingKeys.error: "\(error.message)"])
        }
        let restored = try result.get()
        for error in restored.skipped {
            logger.error("checkpoint skipped", metadata: [LoggingKeys.error: "\(error.message)", "crossrec.reason": "\(error.code.rawValue)"])
        }
        let unusable = unusable(restored)
        if let file = restored.file, let learner = restored.learner {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            logger.notice(
                "checkpoint restored", metadata: [
                    LoggingKeys.path: "\(file.path)", LoggingKeys.events: "\(learner.appliedEvents)",
                    LoggingKeys.users: "\(learner.userCount)", "crossrec.bytes": "\(file.byteCount)",
                    "crossrec.seconds": "\(seconds)",
                    "crossrec.offsets": "\(file.offsets.map { "\($0.topic)/\($0.partition)@\($0.offset)" }.joined(separator: ","))",
                ])
        } else if !unusable.isEmpty, configuration.checkpoint.onUnusable == .refuse {
            // Starting empty would resume from the group's committed offsets: the model's
            // history would be gone without anyone deciding it.
            let message = "every checkpoint in \(store.directory) is unusable (\(unusable.count) skipped, reasons above); "
                + "move them aside to start empty, or set checkpoint.on_unusable: start_empty"
            logger.critical("\(message)")
            throw UnusableCheckpoints(message: message)
        } else if !unusable.isEmpty {
            logger.critical(
                "every checkpoint is unusable: starting with an empty model (checkpoint.on_unusable: start_empty); health stays degraded until a checkpoint is written",
                metadata: [LoggingKeys.path: "\(store.directory)", "crossrec.skipped": "\(restored.skipped.count)"])
        } else {
            logger.notice(
                "no usable checkpoint: starting with an empty model",
                metadata: [LoggingKeys.path: "\(store.directory)", "crossrec.skipped": "\(restored.skipped.count)"])
        }
        return restored
    }

    /// The skipped checkpoints nobody decided to drop: files discarded on the operator's word
    /// (--discard-incompatible-checkpoint) are not among them.
    private func unusable(_ restored: CheckpointStore.Restored) -> [CheckpointError] {
        restored.skipped.filter { !(discardIncompatibleCheckpoint && $0.code == .incompatible) }
    }

    /// The checkpoint's offsets for the configured topics (others are ignored, with a log line).
    private func positions(of file: CheckpointFile) -> [PartitionKey: Int64] {
        let topics = configuration.domains.map(\.topic)
        var positions: [PartitionKey: Int64] = [:]
        for stored in file.offsets {
            guard let index = topics.firstIndex(of: stored.topic) else { continue }
            positions[PartitionKey(topicIndex: index, partition: stored.partition)] = stored.offset
        }
        return positions
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
        if let models = configuration.replication.topic { topics[models] = 1 }
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
    var distillSchedule: DistillService.Schedule {
        DistillService.Schedule(
            intervalSeconds: distill.intervalSeconds, everyEvents: distill.everyEvents, fullEvery: distill.fullEvery,
            options: distill.options)
    }

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

/// Checkpoints exist but none can be restored, and `checkpoint.on_unusable` is `refuse`:
/// crossrecd stops with EX_CONFIG (78), which systemd does not restart.
public struct UnusableCheckpoints: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Daemon {
    /// The publisher of `replication.topic`, and the first version to build: after the newest
    /// on the topic, so that replicas see versions rise across restarts. A topic that cannot
    /// be read at start leaves the numbering at 1 (replicas still follow: the topic's order,
    /// not the number, decides what is newer) and is retried by publishing.
    func makePublisher(bootstrap: String, logger: Logger) throws -> (ModelPublisher?, Int) {
        guard let topic = configuration.replication.topic else { return (nil, 1) }
        let log = logger.with(label: "replication")
        var tail: ModelPublisher.Tail?
        do {
            tail = try ModelPublisher.readTail(bootstrapServers: bootstrap, topic: topic, properties: configuration.kafka.properties, logger: log)
        } catch {
            log.warning(
                "could not read the model topic's last version; numbering from 1",
                metadata: ["crossrec.topic": "\(topic)", LoggingKeys.error: "\(error)"])
        }
        let settings = ModelPublisher.Settings(
            topic: topic, fullEvery: configuration.replication.fullEvery, maxDeltaShare: configuration.replication.maxDeltaShare,
            chunkBytes: configuration.replication.chunkBytes,
            pace: PublishPace(megabytesPerSecond: configuration.replication.maxMegabytesPerSecond))
        let publisher = try ModelPublisher(
            settings: settings, bootstrapServers: bootstrap, properties: configuration.kafka.properties, tail: tail, logger: log)
        log.notice(
            "publishing serving versions", metadata: [
                "crossrec.topic": "\(topic)", "crossrec.first_version": "\((tail?.version ?? 0) + 1)",
                "crossrec.resume_offset": "\(tail?.resumeOffset ?? -1)",
            ])
        return (publisher, (tail?.version ?? 0) + 1)
    }

    /// A read replica: the model topic's newest complete version on the query socket (and the
    /// HTTP listener); no learner, no domain topics, no checkpoints.
    func runReplica(logger: Logger, metricsRegistry: PrometheusCollectorRegistry?) async throws {
        try FileManager.default.createDirectory(atPath: configuration.paths.runDirectory, withIntermediateDirectories: true)
        let topic = configuration.replication.topic!  // required in replica mode (Configuration+YAML)
        let replica = ReplicaService(
            topic: topic, bootstrapServers: configuration.kafka.bootstrap, properties: configuration.kafka.properties,
            maxLagSeconds: configuration.replication.maxLagSeconds, logger: logger.with(label: "replica"))
        var serverSettings = configuration.serverSettings
        serverSettings.inheritedSocket = inheritedSocket
        let answers = ServingAnswerCache(budgetMiB: configuration.socket.answerCacheMiB)
        let queries = ReplicaQueryHandler(
            replica: replica, metrics: metricsRegistry.map { ReplicaMetrics(registry: $0) }, reads: ModelReads(answers: answers))
        let server = QueryServer(settings: serverSettings, handler: queries, logger: logger)
        let http = configuration.http.address.map { HTTPEndpoints(host: $0.host, port: $0.port, handler: queries, logger: logger) }
        let role = SystemdService.Role(
            count: { replica.status.fullApplied + replica.status.deltasApplied },
            clocks: { [("crossrec.replica_idle_ms", replica.lastLoopNanos.load(ordering: .relaxed))] },
            statusLine: { _ in
                let status = replica.status
                let served = status.served.map { "serving v\($0.version)" } ?? "no version yet"
                let newest = status.newest.map { "newest on \(topic) v\($0.version)" } ?? "nothing read from \(topic) yet"
                return "replica: \(served), \(newest), \(status.rejected) refused"
            },
            stoppingLine: "stopping: finishing queries")
        let systemd = SystemdService(notifier: notifier, role: role, server: server, logger: logger)
        let reload = ReloadService(path: configurationPath, configuration: configuration, notifier: notifier, logger: logger) { new in
            LoggingSetup.setLevel(new.log.level)
            server.updateLimits(new.serverSettings)
            answers.update(budgetMiB: new.socket.answerCacheMiB)
        }
        var services: [any Service] = [replica, server]
        if let http { services.append(http) }
        services += [reload, systemd] as [any Service]
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        logger.info("crossrecd starting as a read replica", metadata: [LoggingKeys.bootstrap: "\(configuration.kafka.bootstrap)", "crossrec.topic": "\(topic)"])
        try await group.run()
        logger.info("crossrecd stopped")
    }
}
