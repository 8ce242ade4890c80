@testable import DaemonCore
import Checkpoint
import Foundation
import KafkaIngest
import QueryProtocol
import RecModel
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Health")
struct HealthTests {
    @Test func reportsDegradedWhileKafkaIsDownAndReadyAgainAfter() async throws {
        let broker = try TestKafka.broker(["ratings.movies": 1])
        try TestKafka.produce([TestKafka.json(user: "u", item: "i", rating: 3)], to: "ratings.movies", partitions: 1, broker: broker)
        var settings = TestKafka.settings(
            broker, topics: [TopicSettings(name: "ratings.movies", domain: "movies", ratingRange: 1...5)],
            assignment: .manual([TopicPartition("ratings.movies", 0)]))
        settings.extra["reconnect.backoff.max.ms"] = "200"
        let consumer = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "movies", ratingRange: 1...5)])
        configuration.dimension = 4
        let ingest = IngestService(learner: Learner(configuration: configuration), consumer: consumer, logger: TestKafka.logger())
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpoints = CheckpointService(
            store: CheckpointStore(directory: directory), ingest: ingest, intervalSeconds: 3_600, restoredFrom: nil,
            logger: TestKafka.logger())
        let distill = DistillService(
            ingest: ingest, schedule: .init(intervalSeconds: 3_600, everyEvents: 0, options: DistillOptions()),
            logger: TestKafka.logger())
        let handler = ServingQueryHandler(ingest: ingest, distill: distill, checkpoints: checkpoints, metrics: nil)
        let group = ServiceGroup(services: [ingest, distill], logger: TestKafka.logger())
        let running = Task { try await group.run() }
        defer { running.cancel() }

        func status() async -> String? {
            guard case .success(let fields) = await handler.handle(QueryRequest(op: .health)) else { return nil }
            return fields["status"].flatMap { if case .string(let text) = $0 { text } else { nil } }
        }
        func waitFor(_ wanted: String) async throws -> Bool {
            let deadline = Date(timeIntervalSinceNow: 60)
            while Date() < deadline {
                if await status() == wanted { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        while ingest.status.appliedEvents < 1 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await waitFor("ready"))
        broker.setDown()
        #expect(try await waitFor("degraded"), "the lost broker shows in health")
        broker.setUp()
        try TestKafka.produce([TestKafka.json(user: "v", item: "i", rating: 4)], to: "ratings.movies", partitions: 1, broker: broker)
        #expect(try await waitFor("ready"), "consuming again clears it")
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
