import Checkpoint
@testable import DaemonCore
import Foundation
import KafkaIngest
import QueryServer
import RecModel
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Watchdog")
struct WatchdogTests {
    /// The watchdog vouches for progress, not for the process being alive: with the ingest
    /// writer deliberately held inside a command, the pings stop; released, they resume.
    @Test func stalledIngestLoopStopsTheWatchdogPings() async throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try NotifyListener(path: "\(directory)/notify.sock")
        defer { listener.stop() }
        let broker = try TestKafka.broker(["ratings.movies": 1])
        let settings = TestKafka.settings(
            broker, topics: [TopicSettings(name: "ratings.movies", domain: "movies", ratingRange: 1...5)],
            assignment: .manual([TopicPartition("ratings.movies", 0)]))
        let consumer = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "movies", ratingRange: 1...5)])
        configuration.dimension = 4
        let logger = TestKafka.logger()
        let ingest = IngestService(learner: Learner(configuration: configuration), consumer: consumer, logger: logger)
        let checkpoints = CheckpointService(
            store: CheckpointStore(directory: directory), ingest: ingest, intervalSeconds: 3_600, restoredFrom: nil, logger: logger)
        let distill = DistillService(
            ingest: ingest, schedule: .init(intervalSeconds: 3_600, everyEvents: 0, options: DistillOptions()), logger: logger)
        let server = QueryServer(
            settings: QueryServerSettings(socketPath: "\(directory)/q.sock"),
            handler: ServingQueryHandler(ingest: ingest, distill: distill, checkpoints: checkpoints, metrics: nil), logger: logger)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1000000"])
        let systemd = SystemdService(notifier: notifier, ingest: ingest, distill: distill, checkpoints: checkpoints, server: server, logger: logger)
        let group = ServiceGroup(services: [checkpoints, ingest, distill, server, systemd], logger: logger)
        let running = Task { try await group.run() }

        func pings() -> Int { listener.assignments.filter { $0 == "WATCHDOG=1" }.count }
        #expect(try await blocking { listener.wait { $0.contains("READY=1") && $0.filter { $0 == "WATCHDOG=1" }.count >= 2 } })

        // Hold the writer thread inside a command: its loop stops turning. Counted from the
        // moment the writer is inside it, plus more than the 1 s progress limit.
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let held = Task { await ingest.perform { _ in entered.signal(); release.wait() } }
        try await blocking { entered.wait() }
        try await Task.sleep(for: .seconds(1.5))
        let whileStalled = pings()
        try await Task.sleep(for: .seconds(3))
        #expect(pings() == whileStalled, "no ping while the ingest loop is stalled")

        release.signal()
        await held.value
        #expect(try await blocking { listener.wait { $0.filter { $0 == "WATCHDOG=1" }.count > whileStalled } }, "pings resume")
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(listener.assignments.contains("STOPPING=1"))
    }
}
