import Foundation
import KafkaIngest
import Testing
import TestSupport

@Suite("Bad input on the wire")
struct BadInputTests {
    static let poison: [(String, RejectReason)] = [
        ("{oops", .malformed),
        (#"{"user":"u","rating":3}"#, .missingField),
        (#"{"user":"u","item":"i","rating":"3"}"#, .wrongType),
        (#"{"user":"u","item":"i","rating":1e400}"#, .nonFiniteRating),
        (#"{"user":"u","item":"i","rating":9}"#, .ratingOutOfRange),
        (#"{"user":"","item":"i","rating":3}"#, .emptyID),
        ("{\"user\":\"\(String(repeating: "y", count: 300))\",\"item\":\"i\",\"rating\":3}", .oversizedID),
    ]

    @Test func countsEachRejectionKeepsTheStreamAndDeadLettersWithReason() throws {
        let broker = try TestKafka.broker(["ratings.movies": 1, "ratings.dlq": 1, "ratings.other": 1])
        var lines: [String] = []
        for (index, (bad, _)) in Self.poison.enumerated() {
            lines.append(TestKafka.json(user: "u\(index)", item: "before\(index)", rating: 3))
            lines.append(bad)
            lines.append(TestKafka.json(user: "u\(index)", item: "after\(index)", rating: 4))
        }
        try TestKafka.produce(lines, to: "ratings.movies", partitions: 1, broker: broker)
        try TestKafka.produce([TestKafka.json(user: "u", item: "i", rating: 3)], to: "ratings.other", partitions: 1, broker: broker)
        var settings = TestKafka.settings(
            broker, topics: [TopicSettings(name: "ratings.movies", domain: "movies", ratingRange: 1...5)],
            assignment: .manual([TopicPartition("ratings.movies", 0), TopicPartition("ratings.other", 0)]))
        settings.deadLetterTopic = "ratings.dlq"
        let consumer = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        try consumer.start()
        let records = TestKafka.drain(consumer) { $0.count >= lines.count }
        // The unknown topic's message is never delivered; keep taking batches until it was counted.
        let deadline = Date(timeIntervalSinceNow: 30)
        var extra: [IngestRecord] = []
        while consumer.counters.snapshot.unknownTopic < 1, Date() < deadline {
            extra += consumer.nextBatch(timeoutSeconds: 0.05) ?? []
        }
        #expect(extra.isEmpty)
        consumer.stop()

        #expect(records.map(\.offset) == (0..<Int64(lines.count)).map { $0 }, "every offset advances")
        let good = records.compactMap { if case .event(let event) = $0.outcome { event.item } else { nil } }
        #expect(good == Self.poison.indices.flatMap { ["before\($0)", "after\($0)"] })
        let snapshot = consumer.counters.snapshot
        for (_, reason) in Self.poison { #expect(snapshot.rejected(0, reason) == 1, "\(reason)") }
        #expect(snapshot.unknownTopic == 1)

        // kcat, a client nobody here wrote, reads the dead-letter topic and its headers.
        try #require(ExternalTool.isInstalled("kcat"), "make test installs kcat")
        let read = try ExternalTool.run([
            "kcat", "-C", "-b", broker.bootstrapServers, "-t", "ratings.dlq", "-o", "beginning", "-e", "-q",
            "-f", "%h\t%s\n",
        ])
        #expect(read.status == 0, "\(read.stderr)")
        let dead = read.stdout.split(separator: "\n").map(String.init)
        let reasons = dead.compactMap { line in
            line.split(separator: "\t").first?.split(separator: ",").first { $0.hasPrefix("crossrec.reason=") }
                .map { String($0.dropFirst("crossrec.reason=".count)) }
        }
        #expect(reasons.sorted() == (Self.poison.map(\.1.rawValue) + ["unknown_topic"]).sorted())
        #expect(dead.contains { $0.hasSuffix("\t{oops") })
    }

    @Test func consumesEventsProducedByKcat() throws {
        try #require(ExternalTool.isInstalled("kcat"), "make test installs kcat")
        let broker = try TestKafka.broker(["ratings.books": 1])
        let input = (0..<25).map { "u\($0),b\($0),\($0 % 5 + 1)" }.joined(separator: "\n") + "\n"
        let produced = try ExternalTool.run(["kcat", "-P", "-b", broker.bootstrapServers, "-t", "ratings.books", "-p", "0"], input: input)
        #expect(produced.status == 0, "\(produced.stderr)")
        let settings = TestKafka.settings(
            broker, topics: [TopicSettings(name: "ratings.books", domain: "books", format: .csv, ratingRange: 1...5)],
            assignment: .manual([TopicPartition("ratings.books", 0)]))
        let consumer = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        try consumer.start()
        let records = TestKafka.drain(consumer) { $0.count >= 25 }
        consumer.stop()
        #expect(records.count == 25)
        #expect(records.allSatisfy { if case .event = $0.outcome { true } else { false } })
    }
}

@Suite("Dead letters keep the message")
struct DeadLetterFidelityTests {
    /// A rejected message is set aside as it came: its key, a null value kept null, and one
    /// over the broker's default message size cut to its head with a header saying so.
    @Test func keyNullAndOversizedMessagesAreSetAsideFaithfully() throws {
        try #require(ExternalTool.isInstalled("kcat"), "make test installs kcat")
        let broker = try TestKafka.broker(["ratings.movies": 1, "ratings.dlq": 1])
        let large = "{\"pad\":\"" + String(repeating: "z", count: 1_200_000) + "\""  // malformed: no closing brace
        for (arguments, input) in [
            (["-K", ":"], "user-7:{oops\n"),  // keyed
            (["-K", ":", "-Z"], "tombstone:\n"),  // an empty value sent as NULL
            (["-X", "message.max.bytes=2000000"], large + "\n"),
        ] {
            let sent = try ExternalTool.run(["kcat", "-P", "-b", broker.bootstrapServers, "-t", "ratings.movies", "-p", "0"] + arguments, input: input)
            try #require(sent.status == 0, "\(arguments): \(sent.stderr)")
        }
        var settings = TestKafka.settings(
            broker, topics: [TopicSettings(name: "ratings.movies", domain: "movies", ratingRange: 1...5)],
            assignment: .manual([TopicPartition("ratings.movies", 0)]))
        settings.deadLetterTopic = "ratings.dlq"
        let consumer = try KafkaConsumer(settings: settings, logger: TestKafka.logger())
        try consumer.start()
        let records = TestKafka.drain(consumer) { $0.count >= 3 }
        consumer.stop()
        #expect(records.count == 3)
        #expect(consumer.counters.snapshot.deadLetterFailures == 0)

        // kcat reads them back: key, value length (-1 for NULL), headers.
        let read = try ExternalTool.run([
            "kcat", "-C", "-b", broker.bootstrapServers, "-t", "ratings.dlq", "-o", "beginning", "-e", "-q", "-f", "%k|%S|%h\n",
        ])
        #expect(read.status == 0, "\(read.stderr)")
        let lines = read.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 3, "\(read.stdout.prefix(2_000))")
        #expect(lines[0].hasPrefix("user-7|5|"), "the key is kept: \(lines[0])")
        #expect(lines[1].hasPrefix("tombstone|-1|"), "a NULL value stays NULL: \(lines[1])")
        #expect(lines[2].hasPrefix("|900000|") && lines[2].contains("crossrec.truncated_from=\(large.utf8.count)"), "\(lines[2].prefix(300))")
        #expect(lines.allSatisfy { $0.contains("crossrec.source.offset=") })
    }
}
