import Foundation
import KafkaIngest
import Testing
import TestSupport

/// Consumer behaviour against the dev broker (librdkafka's mock cluster) over TCP.
@Suite("Kafka consumer against the dev broker")
struct ConsumerTests {
    static let movies = TopicSettings(name: "ratings.movies", domain: "movies", ratingRange: 1...5)
    static let books = TopicSettings(name: "ratings.books", domain: "books", format: .csv, ratingRange: 1...10)

    private func allPartitions(_ topics: [(String, Int)]) -> [TopicPartition] {
        topics.flatMap { topic, count in (0..<count).map { TopicPartition(topic, Int32($0)) } }
    }

    private func events(_ records: [IngestRecord]) -> [RatingEvent] {
        records.compactMap { if case .event(let event) = $0.outcome { event } else { nil } }
    }

    @Test func consumesSeveralDomainTopicsAcrossPartitions() throws {
        let broker = try TestKafka.broker(["ratings.movies": 4, "ratings.books": 3])
        let movieLines = (0..<200).map { TestKafka.json(user: "u\($0 % 17)", item: "m\($0)", rating: Double($0 % 5 + 1)) }
        let bookLines = (0..<150).map { "u\($0 % 13),b\($0),\($0 % 10 + 1)" }
        try TestKafka.produce(movieLines, to: "ratings.movies", partitions: 4, broker: broker)
        try TestKafka.produce(bookLines, to: "ratings.books", partitions: 3, broker: broker)
        let settings = TestKafka.settings(
            broker, topics: [Self.movies, Self.books],
            assignment: .manual(allPartitions([("ratings.movies", 4), ("ratings.books", 3)])))
        let consumer = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        try consumer.start()
        let records = TestKafka.drain(consumer) { $0.count >= 350 }
        consumer.stop()
        #expect(records.count == 350)
        let movieItems = Set(records.filter { $0.topicIndex == 0 }.compactMap { record -> String? in
            if case .event(let event) = record.outcome { event.item } else { nil }
        })
        #expect(movieItems == Set((0..<200).map { "m\($0)" }))
        #expect(Set(records.filter { $0.topicIndex == 1 }.map(\.partition)) == [0, 1, 2])
        #expect(events(records).count == 350)
        #expect(consumer.counters.snapshot.consumed == [200, 150])
        #expect(consumer.counters.snapshot.totalRejected == 0)
    }

    @Test func seeksEachPartitionToTheSuppliedOffset() throws {
        let broker = try TestKafka.broker(["ratings.movies": 2])
        let lines = (0..<100).map { TestKafka.json(user: "u", item: "m\($0)", rating: 3) }
        try TestKafka.produce(lines, to: "ratings.movies", partitions: 2, broker: broker)
        // 50 messages per partition; start partition 0 at 40 and partition 1 at 10.
        let positions = AppliedPositions([
            PartitionKey(topicIndex: 0, partition: 0): 40, PartitionKey(topicIndex: 0, partition: 1): 10,
        ])
        let settings = TestKafka.settings(broker, topics: [Self.movies], assignment: .manual(allPartitions([("ratings.movies", 2)])))
        let consumer = try KafkaConsumer(settings: settings, positions: positions, logger: TestKafka.logger())
        try consumer.start()
        let records = TestKafka.drain(consumer) { $0.count >= 50 }
        Thread.sleep(forTimeInterval: 0.5)  // anything extra would show up as a count above 50
        let extra = consumer.nextBatch(timeoutSeconds: 0.5) ?? []
        consumer.stop()
        #expect(records.count + extra.count == 50)
        #expect(records.filter { $0.partition == 0 }.map(\.offset).min() == 40)
        #expect(records.filter { $0.partition == 1 }.map(\.offset).min() == 10)
    }

    @Test func resumesExactlyAfterCommittedOffsetsOnRestart() throws {
        let broker = try TestKafka.broker(["ratings.movies": 2])
        try TestKafka.produce((0..<60).map { TestKafka.json(user: "u", item: "a\($0)", rating: 2) },
            to: "ratings.movies", partitions: 2, broker: broker)
        let group = TestKafka.uniqueGroup()
        let settings = TestKafka.settings(broker, topics: [Self.movies], group: group,
            assignment: .manual(allPartitions([("ratings.movies", 2)])))
        let first = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        try first.start()
        let firstRecords = TestKafka.drain(first) { $0.count >= 60 }
        #expect(firstRecords.count == 60)
        // Commit a cut in the middle: 20 applied on partition 0, 25 on partition 1.
        let cut = [TopicPartition("ratings.movies", 0): Int64(20), TopicPartition("ratings.movies", 1): Int64(25)]
        try first.commit(cut)
        #expect(try first.committed(Array(cut.keys)) == cut)
        first.stop()

        try TestKafka.produce((0..<20).map { TestKafka.json(user: "u", item: "b\($0)", rating: 2) },
            to: "ratings.movies", partitions: 2, broker: broker)
        let second = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        try second.start()
        let records = TestKafka.drain(second) { $0.count >= 10 + 5 + 20 }
        second.stop()
        #expect(records.count == 35)
        #expect(records.filter { $0.partition == 0 }.map(\.offset).min() == 20)
        #expect(records.filter { $0.partition == 1 }.map(\.offset).min() == 25)
        #expect(Set(records.map { "\($0.partition)/\($0.offset)" }).count == 35)
    }

    @Test func survivesBrokerDownThenUpWithoutLoss() throws {
        let broker = try TestKafka.broker(["ratings.movies": 3])
        try TestKafka.produce((0..<90).map { TestKafka.json(user: "u", item: "x\($0)", rating: 4) },
            to: "ratings.movies", partitions: 3, broker: broker)
        var settings = TestKafka.settings(broker, topics: [Self.movies], assignment: .manual(allPartitions([("ratings.movies", 3)])))
        settings.extra["reconnect.backoff.max.ms"] = "500"
        let consumer = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        try consumer.start()
        var records = TestKafka.drain(consumer) { $0.count >= 90 }
        broker.setDown()
        Thread.sleep(forTimeInterval: 1.0)
        broker.setUp()
        try TestKafka.produce((0..<90).map { TestKafka.json(user: "u", item: "y\($0)", rating: 4) },
            to: "ratings.movies", partitions: 3, broker: broker)
        records += TestKafka.drain(consumer) { $0.count >= 90 }
        consumer.stop()
        var tracker = OffsetTracker()
        let admitted = records.filter { tracker.admit($0) }
        let items = Set(events(admitted).map(\.item))
        #expect(items == Set((0..<90).flatMap { ["x\($0)", "y\($0)"] }))
    }

    @Test func rebalanceMovesPartitionsWithoutDuplicatesInOwnedState() throws {
        let broker = try TestKafka.broker(["ratings.movies": 6])
        let group = TestKafka.uniqueGroup("rebalance")
        let settings = TestKafka.settings(broker, topics: [Self.movies], group: group)
        let total = 1_200
        try TestKafka.produce((0..<total / 2).map { TestKafka.json(user: "u", item: "p\($0)", rating: 1) },
            to: "ratings.movies", partitions: 6, broker: broker)
        // Member A publishes its applied positions, as the daemon does, so a partition it gets
        // back is sought there; member B does not, so its redeliveries exercise the tracker.
        let positionsA = AppliedPositions()
        let memberA = try KafkaConsumer(settings: settings, positions: positionsA, logger: TestKafka.logger("a"))
        try memberA.start()
        var trackerA = OffsetTracker()
        var appliedA: [IngestRecord] = []
        let warmup = Date(timeIntervalSinceNow: 60)
        while appliedA.count < total / 4, Date() < warmup {
            if let batch = memberA.nextBatch(timeoutSeconds: 0.05) { appliedA += batch.filter { trackerA.admit($0) } }
            positionsA.publish(trackerA.positions)
        }
        let memberB = try KafkaConsumer(settings: settings, logger: TestKafka.logger("b"))
        try memberB.start()
        try TestKafka.produce((total / 2..<total).map { TestKafka.json(user: "u", item: "p\($0)", rating: 1) },
            to: "ratings.movies", partitions: 6, broker: broker)
        var trackerB = OffsetTracker()
        var appliedB: [IngestRecord] = []
        let deadline = Date(timeIntervalSinceNow: 60)
        while Date() < deadline {
            if let batch = memberA.nextBatch(timeoutSeconds: 0.02) { appliedA += batch.filter { trackerA.admit($0) } }
            positionsA.publish(trackerA.positions)
            if let batch = memberB.nextBatch(timeoutSeconds: 0.02) { appliedB += batch.filter { trackerB.admit($0) } }
            let covered = Set((appliedA + appliedB).map { "\($0.partition)/\($0.offset)" })
            if covered.count >= total, !memberB.assignment.isEmpty { break }
        }
        memberB.stop()
        memberA.stop()
        let keysA = appliedA.map { "\($0.partition)/\($0.offset)" }
        let keysB = appliedB.map { "\($0.partition)/\($0.offset)" }
        #expect(Set(keysA).count == keysA.count, "member A applied an event twice")
        #expect(Set(keysB).count == keysB.count, "member B applied an event twice")
        #expect(Set(keysA + keysB).count == total, "an event was lost")
        #expect(!appliedB.isEmpty, "the second member never got partitions")
    }

    @Test func reportsLagPerAssignedPartition() throws {
        let broker = try TestKafka.broker(["ratings.movies": 2])
        try TestKafka.produce((0..<40).map { TestKafka.json(user: "u", item: "l\($0)", rating: 4) },
            to: "ratings.movies", partitions: 2, broker: broker)
        let positions = AppliedPositions()
        let settings = TestKafka.settings(broker, topics: [Self.movies], assignment: .manual(allPartitions([("ratings.movies", 2)])))
        let consumer = try KafkaConsumer(settings: settings, positions: positions, logger: TestKafka.logger())
        try consumer.start()
        let records = TestKafka.drain(consumer) { $0.count >= 40 }
        // Pretend the owner applied only the first 5 of each partition.
        positions.publish([PartitionKey(topicIndex: 0, partition: 0): 5, PartitionKey(topicIndex: 0, partition: 1): 5])
        let lag = consumer.lag()
        consumer.stop()
        #expect(records.count == 40)
        #expect(lag.map(\.partition) == allPartitions([("ratings.movies", 2)]))
        #expect(lag.map(\.lag) == [15, 15])
    }
}
