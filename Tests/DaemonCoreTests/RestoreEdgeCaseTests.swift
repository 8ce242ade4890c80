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
            #expect(discarding.log.contains("starting with an empty model"))
            discarding.signal(SIGTERM)
            #expect(discarding.waitForExit() == 0)
        }

        /// Every checkpoint damaged: by default the start is refused (78, not restarted by
        /// systemd); with `on_unusable: start_empty` the daemon starts empty and says so in
        /// `health` until it has written a checkpoint of its own.
        @Test func everyCheckpointDamagedRefusesTheStartUnlessToldToStartEmpty() throws {
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let broker = try broker(events: 20, items: "a")
            let config = try checkpointed(broker, in: directory, total: 20)
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/state").filter { $0.hasSuffix(".ckpt") }
            try #require(!files.isEmpty)
            for file in files {  // one flipped byte in the middle of each: its checksum fails
                let handle = try #require(FileHandle(forUpdatingAtPath: "\(directory)/state/\(file)"))
                let size = try handle.seekToEnd()
                try handle.seek(toOffset: size / 2)
                let byte = try #require(try handle.read(upToCount: 1)).first ?? 0
                try handle.seek(toOffset: size / 2)
                try handle.write(contentsOf: [byte ^ 0xFF])
                try handle.close()
            }

            let refused = try helper.start(config, directory, run: 1)
            #expect(refused.waitForExit() == 78)
            #expect(refused.log.contains("every checkpoint in \(directory)/state is unusable"), "\(refused.log.suffix(1_500))")

            let yaml = try String(contentsOfFile: config, encoding: .utf8)
                .replacingOccurrences(of: "checkpoint: {interval_seconds: 0.2}", with: "checkpoint: {interval_seconds: 600, on_unusable: start_empty}")
            try yaml.write(toFile: config, atomically: true, encoding: .utf8)
            let started = try helper.start(config, directory, run: 2)
            let socket = "\(directory)/run/crossrecd.sock"
            func query(_ op: String) -> [String: Any] {
                let line = (try? QuerySocketClient(path: socket).request(["op": op])) ?? "{}"
                return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
            }
            // It resumes from the group's committed offsets: the 20 events are not read again,
            // which is the history an operator chose to drop.
            #expect(started.waitForLog { _ in query("health")["status"] != nil }, "\(started.log.suffix(2_000))")
            #expect(started.log.contains("every checkpoint is unusable: starting with an empty model"))
            let health = query("health")
            #expect(health["status"] as? String == "degraded")
            #expect((health["reasons"] as? [String] ?? []).contains { $0.contains("started with an empty model") }, "\(health)")
            let skipped = (query("stats")["checkpoint"] as? [String: Any])?["skipped_at_start"] as? [String] ?? []
            #expect(skipped.count == files.count, "\(skipped)")
            // A checkpoint of the new model ends it.
            #expect(query("checkpoint")["ok"] as? Bool == true)
            #expect(query("health")["status"] as? String == "ready")
            started.signal(SIGTERM)
            #expect(started.waitForExit() == 0)
        }
    }
}
