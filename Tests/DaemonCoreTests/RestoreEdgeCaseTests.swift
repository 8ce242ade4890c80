import Foundation
import KafkaIngest
import QueryProtocol
import Testing
import TestSupport

extension WholeDaemonTests {
    /// A checkpoint's offset that Kafka no longer has (the topic was recreated shorter, or
    /// retention removed it) is reported loudly, and the partition restarts from the reset policy
    /// without dropping the events that are there.
    @Suite("Restore edge cases", .serialized)
    struct RestoreEdgeCaseTests {
        let helper = DaemonHarness()
        let domains = [DaemonHarness.Domain(name: "movies", topic: "ratings.movies", format: "json", partitions: 1)]

        /// A broker with `count` events (items `prefix`0…) on one partition of ratings.movies.
        func broker(events count: Int, items prefix: String) throws -> DevBroker {
            let broker = try TestKafka.broker(["ratings.movies": 1])
            try TestKafka.produce(
                (0..<count).map { TestKafka.json(user: "u\($0 % 10)", item: "\(prefix)\($0)", rating: 4) }, to: "ratings.movies",
                partitions: 1, broker: broker)
            return broker
        }

        /// Runs crossrecd over `broker` until it applied `total` events, then SIGTERM: a checkpoint.
        func checkpointed(_ broker: DevBroker, in directory: String, total: Int) throws -> String {
            let config = try helper.writeConfig(directory, bootstrap: broker.bootstrapServers, domains: domains, dimension: 8)
            _ = try helper.drainAndStop(config, directory, run: 0, total: total)
            return config
        }

        @Test func positionBeyondARecreatedTopicIsReportedAndItsEventsStillApplied() throws {
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let first = try broker(events: 100, items: "a")
            var config = try checkpointed(first, in: directory, total: 100)

            // The same topic, recreated on another cluster with 30 events: offset 100 is gone.
            let second = try broker(events: 30, items: "b")
            config = try helper.writeConfig(directory, bootstrap: second.bootstrapServers, domains: domains, dimension: 8)
            let daemon = try helper.start(config, directory, run: 1)
            #expect(daemon.waitForLog { _ in helper.appliedEvents(directory) == 130 }, "\(daemon.log.suffix(2_000))")
            #expect(daemon.log.contains("stored position no longer available in Kafka"))
            let line = try QuerySocketClient(path: "\(directory)/run/crossrecd.sock").request(["op": "health"])
            let health = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            #expect(health["status"] as? String == "degraded")
            #expect((health["reasons"] as? [String] ?? []).contains { $0.contains("position 100 is no longer in Kafka (log holds 0..<30)") }, "\(health)")
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit() == 0)
        }

        @Test func incompatibleCheckpointStopsTheStartWith78UnlessDiscarded() throws {
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let broker = try broker(events: 20, items: "a")
            var config = try checkpointed(broker, in: directory, total: 20)

            config = try helper.writeConfig(directory, bootstrap: broker.bootstrapServers, domains: domains, dimension: 16)
            let refused = try helper.start(config, directory, run: 1)
            #expect(refused.waitForExit() == 78)
            #expect(refused.log.contains("model.dimension is 16, checkpoint has 8"), "\(refused.log.suffix(1_500))")

            let discarding = try DaemonProcess(
                executable: helper.crossrecd, arguments: ["--config", config, "--discard-incompatible-checkpoint"],
                logPath: "\(directory)/log.2")
            #expect(discarding.waitForLog { _ in helper.appliedEvents(directory) == 20 }, "an empty model re-reads the topic")
            #expect(discarding.log.contains("no usable checkpoint: starting with an empty model"))
            discarding.signal(SIGTERM)
            #expect(discarding.waitForExit() == 0)
        }
    }
}
