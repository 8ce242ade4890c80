import DaemonCore
import Foundation
import KafkaIngest
import Logging
import RecModel
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Ingest service")
struct IngestServiceTests {
    @Test func appliesEveryValidEventOnceOnTheWriterThread() async throws {
        let broker = try TestKafka.broker(["ratings.movies": 3, "ratings.books": 2])
        let movies = (0..<300).map { TestKafka.json(user: "u\($0 % 20)", item: "m\($0 % 50)", rating: Double($0 % 5 + 1), ts: 1_700_000_000 + $0) }
        let books = (0..<100).map { TestKafka.json(user: "u\($0 % 20)", item: "b\($0 % 10)", rating: 3, ts: 1_700_000_000 + $0) }
        try TestKafka.produce(movies + ["{bad"], to: "ratings.movies", partitions: 3, broker: broker)
        try TestKafka.produce(books, to: "ratings.books", partitions: 2, broker: broker)
        let topics = [
            TopicSettings(name: "ratings.movies", domain: "movies", ratingRange: 1...5),
            TopicSettings(name: "ratings.books", domain: "books", ratingRange: 1...5),
        ]
        let consumer = try KafkaConsumer(
            settings: TestKafka.settings(
                broker, topics: topics,
                assignment: .manual((0..<3).map { TopicPartition("ratings.movies", $0) } + (0..<2).map { TopicPartition("ratings.books", $0) })),
            logger: TestKafka.logger())
        var configuration = LearnerConfiguration(domains: [
            DomainSpec(name: "movies", ratingRange: 1...5), DomainSpec(name: "books", ratingRange: 1...5),
        ])
        configuration.dimension = 8
        let ingest = IngestService(learner: Learner(configuration: configuration), consumer: consumer, logger: TestKafka.logger())
        let group = ServiceGroup(services: [ingest], logger: TestKafka.logger())
        let running = Task { try await group.run() }

        let deadline = Date(timeIntervalSinceNow: 60)
        while ingest.status.appliedEvents < 400, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let status = ingest.status
        #expect(status.appliedEvents == 400)
        #expect(status.domains.map(\.events) == [300, 100])
        #expect(status.counters.rejected(0, .malformed) == 1)
        #expect(status.domains[0].metrics.count == 300)
        let seen = await ingest.perform { learner in learner.hasSeen(user: "u1", item: "m1", domain: 0) }
        #expect(seen)
        // Positions published for the consumer: every partition's next offset.
        #expect(consumer.positions.snapshot.values.reduce(0, +) == 401)

        await group.triggerGracefulShutdown()
        try await running.value
        let afterStop = await ingest.perform { learner in learner.appliedEvents }
        #expect(afterStop == 400, "perform still reaches the learner after the writer has exited")
    }
}
