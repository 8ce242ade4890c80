import Foundation
import KafkaIngest
import RecModel
import Testing
import TestSupport

extension WholeDaemonTests {
    /// The promise of checkpoints: SIGKILL crossrecd at any moment, start it again, and its model
    /// ends exactly as if it had never stopped. Runs the built daemon against a dev broker of the
    /// test process, kills it at seeded random moments (some while a checkpoint file is being
    /// written), and compares the final checkpoint with that of an uninterrupted run.
    @Suite("Crash equivalence", .serialized)
    struct CrashEquivalenceTests {
        let harness = DaemonHarness()

        /// Starts and SIGKILLs the daemon `kills` times: once partitions are assigned, after a seeded
        /// random delay — or, every other time, the instant a checkpoint temp file appears. Returns
        /// how many restarts found an unfinished checkpoint to clean up.
        func crashRepeatedly(_ config: String, _ directory: String, kills: Int, seed: UInt64) throws -> Int {
            var random = SplitMix64(seed: seed)
            var interruptedWrites = 0
            for run in 0..<kills {
                let daemon = try harness.start(config, directory, run: run)
                #expect(daemon.waitForLog { $0.contains("\"partitions assigned\"") }, "\(daemon.log.suffix(1_500))")
                if run % 2 == 1 {
                    let deadline = Date(timeIntervalSinceNow: 10)
                    while Date() < deadline, !DaemonHarness.hasTemporaryFile("\(directory)/state") { usleep(200) }
                } else {
                    usleep(UInt32(random.next() % 800_000))
                }
                daemon.signal(SIGKILL)
                _ = daemon.waitForExit()
                if DaemonHarness.hasTemporaryFile("\(directory)/state") { interruptedWrites += 1 }
            }
            return interruptedWrites
        }

        /// Events of the checkpoint each "checkpoint restored" line of a log reports.
        static func restoredEvents(logPath: String) -> [Int] {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            return log.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    object["msg"] as? String == "checkpoint restored"
                else { return nil }
                return (object["crossrec.events"] as? String).flatMap { Int($0) }
            }
        }


        /// Produces `lines` on a background thread at 2 000 a second, so that the kills land
        /// during ingest: the learner takes 60 000 events in well under a second, and the kills
        /// (a consumer-group join of seconds each) span tens of seconds.
        static func produceGradually(_ lines: [String], topic: String, partitions: Int32, broker: DevBroker) -> Thread {
            let thread = Thread {
                for chunk in stride(from: 0, to: lines.count, by: 500) {
                    try? TestKafka.produce(Array(lines[chunk..<min(chunk + 500, lines.count)]), to: topic, partitions: partitions, broker: broker)
                    usleep(250_000)
                }
            }
            thread.start()
            return thread
        }

        @Test func singlePartitionModelIsBitIdenticalToAnUninterruptedRun() throws {
            let total = 60_000
            let broker = try TestKafka.broker(["ratings.movies": 1])
            let lines = (0..<total).map { index in
                TestKafka.json(
                    user: "u\(index * 7_919 % 4_000)", item: "m\(index * 104_729 % 3_000)", rating: Double(index * 31 % 5 + 1),
                    ts: 1_700_000_000_000 + index * 1_000)
            }
            let domains = [DaemonHarness.Domain(name: "movies", topic: "ratings.movies", format: "json", partitions: 1)]
            let crashed = try makeShortTemporaryDirectory()
            let uninterrupted = try makeShortTemporaryDirectory()
            defer { for directory in [crashed, uninterrupted] { try? FileManager.default.removeItem(atPath: directory) } }
            let crashConfig = try harness.writeConfig(crashed, bootstrap: broker.bootstrapServers, domains: domains, dimension: 64)
            let producer = Self.produceGradually(lines, topic: "ratings.movies", partitions: 1, broker: broker)

            let interrupted = try crashRepeatedly(crashConfig, crashed, kills: 6, seed: 2026)
            while !producer.isFinished { usleep(50_000) }
            let last = try harness.drainAndStop(crashConfig, crashed, run: 6, total: total)
            #expect(interrupted >= 1, "at least one kill landed inside a checkpoint write")
            #expect(last.log.contains("checkpoint restored"))
            let restored = (1...6).flatMap { Self.restoredEvents(logPath: "\(crashed)/log.\($0)") }
            #expect(restored.contains { $0 > 0 && $0 < total }, "some restart resumed mid-stream: \(restored)")

            let referenceConfig = try harness.writeConfig(uninterrupted, bootstrap: broker.bootstrapServers, domains: domains, dimension: 64)
            _ = try harness.drainAndStop(referenceConfig, uninterrupted, run: 0, total: total)

            let recovered = try harness.finalLearner(crashConfig, crashed)
            let reference = try harness.finalLearner(referenceConfig, uninterrupted)
            #expect(recovered.statistics(domain: 0).metrics.count == total, "every event tested and trained once")
            #expect(reference.statistics(domain: 0).metrics.count == total)
            let recoveredSections = try recovered.archived().sections
            let referenceSections = try reference.archived().sections
            for (section, bytes) in referenceSections {
                #expect(recoveredSections[section] == bytes, "section \(section) differs after crashes")
            }
        }

        @Test func severalPartitionsAndDomainsApplyEveryEventExactlyOnce() throws {
            let broker = try TestKafka.broker(["ratings.movies": 3, "ratings.books": 2])
            let movies = (0..<24_000).map { TestKafka.json(user: "u\($0 % 1_500)", item: "m\($0)", rating: Double($0 % 5 + 1)) }
            let books = (0..<16_000).map { "u\($0 % 1_000),b\($0),\($0 % 5 + 1)" }
            let domains = [
                DaemonHarness.Domain(name: "movies", topic: "ratings.movies", format: "json", partitions: 3),
                DaemonHarness.Domain(name: "books", topic: "ratings.books", format: "csv", partitions: 2),
            ]
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let config = try harness.writeConfig(directory, bootstrap: broker.bootstrapServers, domains: domains, dimension: 16)
            let producers = [
                Self.produceGradually(movies, topic: "ratings.movies", partitions: 3, broker: broker),
                Self.produceGradually(books, topic: "ratings.books", partitions: 2, broker: broker),
            ]
            _ = try crashRepeatedly(config, directory, kills: 4, seed: 7)
            while producers.contains(where: { !$0.isFinished }) { usleep(50_000) }
            _ = try harness.drainAndStop(config, directory, run: 4, total: movies.count + books.count)

            let learner = try harness.finalLearner(config, directory)
            for (d, count, prefix) in [(0, movies.count, "m"), (1, books.count, "b")] {
                #expect(learner.statistics(domain: d).metrics.count == count)
                #expect(learner.statistics(domain: d).items == count)
                let counts = (0..<count).map { learner.ratingCount(item: "\(prefix)\($0)", domain: d) }
                #expect(counts.allSatisfy { $0 == 1 }, "every event applied exactly once in domain \(d)")
            }
        }
    }
}
