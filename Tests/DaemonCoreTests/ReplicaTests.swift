import Foundation
import KafkaIngest
import QueryProtocol
import Replication
import Testing
import TestSupport

extension WholeDaemonTests {
    /// One learner and read replicas, each a crossrecd process, on a dev broker of the test
    /// process (so that the learner can restart while the broker and the model topic stay).
    @Suite("Read replicas")
    struct ReplicaTests {
        static let topic = "crossrec.models"

        /// The learner's and the replicas' directories and configurations on one broker.
        final class Cluster {
            let harness = DaemonHarness()
            let broker: DevBroker
            let directory: String
            let learnerConfig: String

            init(name: String, chunkBytes: Int = 900 * 1024, megabytesPerSecond: Double = 0) throws {
                broker = try TestKafka.broker(["ratings.movies": 2, "ratings.books": 1, ReplicaTests.topic: 1])
                directory = NSTemporaryDirectory() + "crossrec-\(name)-\(UUID().uuidString.prefix(8))"
                let yaml = """
                    domains:
                      - {name: movies, topic: ratings.movies, format: json, rating_range: [1, 5]}
                      - {name: books, topic: ratings.books, format: csv, rating_range: [1, 5], target: true}
                    kafka:
                      bootstrap: "\(broker.bootstrapServers)"
                      group_id: \(TestKafka.uniqueGroup("learner"))
                      session_timeout_ms: 3000
                      properties: {heartbeat.interval.ms: "500"}
                    model: {dimension: 8}
                    distill: {interval_seconds: 0.3, dimension: 4}
                    checkpoint: {interval_seconds: 0.5}
                    replication: {topic: \(ReplicaTests.topic), full_every: 3, max_delta_share: 1, chunk_bytes: \(chunkBytes), max_megabytes_per_second: \(megabytesPerSecond)}
                    paths: {run_dir: \(directory)/learner, state_dir: \(directory)/learner/state}
                    log: {format: json, level: debug, stats_interval_seconds: 0}
                    """
                try FileManager.default.createDirectory(atPath: "\(directory)/learner/state", withIntermediateDirectories: true)
                learnerConfig = "\(directory)/learner.yaml"
                try yaml.write(toFile: learnerConfig, atomically: true, encoding: .utf8)
            }

            func startLearner(run: Int) throws -> DaemonProcess {
                try DaemonProcess(executable: harness.crossrecd, arguments: ["--config", learnerConfig], logPath: "\(directory)/learner.log.\(run)")
            }

            func startReplica(_ name: String, run: Int = 0) throws -> DaemonProcess {
                let config = "\(directory)/\(name).yaml"
                let yaml = """
                    kafka: {bootstrap: "\(broker.bootstrapServers)"}
                    replication: {mode: replica, topic: \(ReplicaTests.topic), max_lag_seconds: 30}
                    paths: {run_dir: \(directory)/\(name)}
                    log: {format: json, level: info}
                    """
                try yaml.write(toFile: config, atomically: true, encoding: .utf8)
                return try DaemonProcess(executable: harness.crossrecd, arguments: ["--config", config], logPath: "\(directory)/\(name).log.\(run)")
            }

            func socket(_ name: String) -> String { "\(directory)/\(name)/crossrecd.sock" }

            /// Ratings of users u0…u(users-1): movies for all, books for the even ones.
            func produceRatings(users: Int, seed: Int) throws {
                var movies: [String] = []
                var books: [String] = []
                for user in 0..<users {
                    for step in 0..<6 {
                        let item = (user * 7 + step * 3 + seed) % 40
                        movies.append(#"{"user":"u\#(user)","item":"m\#(item)","rating":\#(1 + (user + step + seed) % 5),"ts":\#(1_000 + seed * 100 + step)}"#)
                        if user % 2 == 0, step < 3 { books.append("u\(user),b\((user + step + seed) % 15),\(1 + (user * step + seed) % 5),\(1_000 + step)") }
                    }
                }
                try TestKafka.produce(movies, to: "ratings.movies", partitions: 2, broker: broker)
                try TestKafka.produce(books, to: "ratings.books", partitions: 1, broker: broker)
            }

            deinit { try? FileManager.default.removeItem(atPath: directory) }
        }

        /// The learner and replica r1 of `cluster` started, `users` users' ratings produced, and
        /// both at the learner's settled version (which holds `events`).
        static func learnerAndReplica(_ cluster: Cluster, users: Int, seed: Int, events: Int) throws
            -> (learner: DaemonProcess, replica: DaemonProcess, served: Int)
        {
            let learner = try cluster.startLearner(run: 0)
            let replica = try cluster.startReplica("r1")
            try cluster.produceRatings(users: users, seed: seed)
            let served = try #require(settledVersion(cluster.socket("learner"), events: events), "\(learner.log.suffix(2_000))")
            #expect(waitUntil { version(cluster.socket("r1")) == served }, "\(replica.log.suffix(2_000))")
            return (learner, replica, served)
        }

        static func answer(_ socket: String, _ request: [String: Any]) -> String? {
            try? QuerySocketClient(path: socket, readTimeoutSeconds: 10).request(request)
        }

        static func object(_ socket: String, _ request: [String: Any]) -> [String: Any]? {
            answer(socket, request).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        static func version(_ socket: String) -> Int? { object(socket, ["op": "health"])?["model_version"] as? Int }

        static func appliedEvents(_ socket: String) -> Int? { object(socket, ["op": "stats"])?["events"] as? Int }

        /// Waits (a bound, not an assertion of speed) until `condition` holds.
        @discardableResult
        static func waitUntil(limitSeconds: Double = 60, _ condition: () -> Bool) -> Bool {
            let deadline = Date(timeIntervalSinceNow: limitSeconds)
            while Date() < deadline {
                if condition() { return true }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return condition()
        }

        /// The learner's version once it stops changing (nothing new to learn).
        static func settledVersion(_ socket: String, events: Int?) -> Int? {
            guard waitUntil({ events == nil ? version(socket) != nil : appliedEvents(socket) == events }) else { return nil }
            var last = version(socket)
            // Two quiet build intervals in a row: the interval trigger rebuilds only after new events.
            while true {
                Thread.sleep(forTimeInterval: 1)
                let now = version(socket)
                if now == last { return now }
                last = now
            }
        }

        /// Requests whose answers depend on the model only: each must come back byte for byte.
        static var probes: [[String: Any]] {
            var probes: [[String: Any]] = [["op": "popular", "domain": "movies", "k": 5], ["op": "popular", "domain": "books", "k": 5]]
            for user in [0, 1, 2, 3, 5, 8, 13, 99] {
                probes.append(["op": "recommend", "domain": "movies", "user": "u\(user)", "k": 5])
                probes.append(["op": "recommend", "domain": "books", "user": "u\(user)", "k": 5])
                probes.append(["op": "predict", "domain": "movies", "user": "u\(user)", "item": "m\(user % 40)"])
                probes.append(["op": "predict", "domain": "books", "user": "u\(user)", "item": "b\(user % 15)"])
            }
            for item in ["m1", "m7", "b3", "nope"] {
                probes.append(["op": "similar", "domain": item.hasPrefix("b") ? "books" : "movies", "item": item, "k": 4])
            }
            return probes
        }

        /// Every probe's answer from the learner and from the replica, differing ones only,
        /// compared while both serve one version: when the learner publishes meanwhile (a build
        /// the last events queued after the version looked settled), the replica is waited for
        /// and the comparison made again.
        static func differences(learner: String, replica: String) -> [String] {
            var found = ["the learner and the replica never served the same version"]
            for _ in 0..<5 {
                guard let served = version(learner), waitUntil({ version(replica) == served }) else { continue }
                found = probes.compactMap { probe in
                    let expected = answer(learner, probe)
                    let got = answer(replica, probe)
                    return expected != nil && expected == got ? nil : "\(probe): learner \(expected ?? "nil") replica \(got ?? "nil")"
                }
                if version(learner) == served, version(replica) == served { return found }
            }
            return found
        }

        @Test func threeReplicasAnswerAsTheLearnerFollowAForgetAndALearnerRestart() throws {
            let cluster = try Cluster(name: "replicas")
            var learner = try cluster.startLearner(run: 0)
            let names = ["r1", "r2", "r3"]
            let replicas = try names.map { try cluster.startReplica($0) }
            try cluster.produceRatings(users: 20, seed: 0)
            let learnerSocket = cluster.socket("learner")
            let first = try #require(Self.settledVersion(learnerSocket, events: 150), "\(learner.log.suffix(2_000))")
            for (name, replica) in zip(names, replicas) {
                #expect(Self.waitUntil { Self.version(cluster.socket(name)) == first }, "\(name): \(replica.log.suffix(2_000))")
                #expect(Self.differences(learner: learnerSocket, replica: cluster.socket(name)) == [])
                let health = Self.object(cluster.socket(name), ["op": "health"])
                #expect(health?["status"] as? String == "ready", "\(health ?? [:])")
                let stats = try #require(Self.object(cluster.socket(name), ["op": "stats"])?["replica"] as? [String: Any])
                #expect(stats["served_version"] as? Int == first && stats["lag_versions"] as? Int == 0 && (stats["bytes_received"] as? Int ?? 0) > 0)
            }
            // Admin operations belong to the learner.
            let refused = Self.object(cluster.socket("r1"), ["op": "forget", "user": "u2"])
            #expect((refused?["error"] as? [String: Any])?["code"] as? String == "read_only", "\(refused ?? [:])")
            #expect((Self.object(cluster.socket("r2"), ["op": "checkpoint"])?["error"] as? [String: Any])?["code"] as? String == "read_only")
            // A forget on the learner reaches every replica with the version that forgot.
            let personal = Self.object(cluster.socket("r1"), ["op": "recommend", "domain": "movies", "user": "u2", "k": 5])
            #expect(personal?["strategy"] as? String == "personal")
            #expect(Self.object(learnerSocket, ["op": "forget", "user": "u2"])?["forgotten"] as? Bool == true)
            let forgotten = try #require(Self.settledVersion(learnerSocket, events: nil))
            #expect(forgotten > first)
            for name in names {
                #expect(Self.waitUntil { Self.version(cluster.socket(name)) == forgotten })
                let after = Self.object(cluster.socket(name), ["op": "recommend", "domain": "movies", "user": "u2", "k": 5])
                #expect(after?["strategy"] as? String != "personal", "\(after ?? [:])")
                #expect(Self.differences(learner: learnerSocket, replica: cluster.socket(name)) == [])
            }
            // The learner restarts from its checkpoint: versions go on from the topic's newest,
            // and the replicas, which kept serving meanwhile, follow.
            learner.signal(SIGTERM)
            #expect(learner.waitForExit() == 0, "\(learner.log.suffix(2_000))")
            #expect(Self.version(cluster.socket("r3")) == forgotten, "a replica serves on while the learner is down")
            learner = try cluster.startLearner(run: 1)
            #expect(Self.waitUntil { Self.appliedEvents(learnerSocket) != nil })
            let restored = try #require(Self.appliedEvents(learnerSocket))
            try cluster.produceRatings(users: 20, seed: 1)
            // u2's 9 new ratings are skipped: the forget left a tombstone (docs/PROTOCOL.md).
            let restarted = try #require(Self.settledVersion(learnerSocket, events: restored + 141), "\(learner.log.suffix(2_000))")
            #expect(restarted > forgotten, "numbering continues after the topic's newest version")
            for (name, replica) in zip(names, replicas) {
                #expect(Self.waitUntil { Self.version(cluster.socket(name)) == restarted }, "\(name): \(replica.log.suffix(2_000))")
                #expect(Self.differences(learner: learnerSocket, replica: cluster.socket(name)) == [])
            }
            let learnerStats = try #require(Self.object(learnerSocket, ["op": "stats"])?["replication"] as? [String: Any])
            #expect(learnerStats["published_version"] as? Int == restarted && learnerStats["failures"] as? Int == 0, "\(learnerStats)")
            // Deltas (every version between two full ones, whatever its size) were applied too.
            #expect((learnerStats["deltas"] as? Int ?? 0) > 0, "\(learnerStats)")
            for name in names {
                let replicaStats = Self.object(cluster.socket(name), ["op": "stats"])?["replica"] as? [String: Any]
                #expect((replicaStats?["deltas_applied"] as? Int ?? 0) > 0 && replicaStats?["rejected"] as? Int == 0, "\(replicaStats ?? [:])")
            }
            for replica in replicas {
                replica.signal(SIGTERM)
                #expect(replica.waitForExit() == 0, "\(replica.log.suffix(1_500))")
            }
            learner.signal(SIGTERM)
            #expect(learner.waitForExit() == 0)
        }

        @Test func aReplicaKilledDuringATransferRestartsAndCatchesUp() throws {
            // 1 KiB chunks: a version is hundreds of messages, so the kill lands amid them.
            let cluster = try Cluster(name: "replica-kill", chunkBytes: 1_024)
            let learner = try cluster.startLearner(run: 0)
            try cluster.produceRatings(users: 30, seed: 2)
            let learnerSocket = cluster.socket("learner")
            let version = try #require(Self.settledVersion(learnerSocket, events: 225), "\(learner.log.suffix(2_000))")
            let killed = try cluster.startReplica("r1", run: 0)
            #expect(killed.waitForLog { $0.contains("following the model topic") }, "\(killed.log.suffix(2_000))")
            killed.signal(SIGKILL)
            _ = killed.waitForExit()
            let restarted = try cluster.startReplica("r1", run: 1)
            #expect(Self.waitUntil { Self.version(cluster.socket("r1")) == version }, "\(restarted.log.suffix(2_000))")
            #expect(Self.differences(learner: learnerSocket, replica: cluster.socket("r1")) == [])
            #expect(Self.object(cluster.socket("r1"), ["op": "health"])?["status"] as? String == "ready")
            restarted.signal(SIGTERM)
            #expect(restarted.waitForExit() == 0)
            learner.signal(SIGTERM)
            #expect(learner.waitForExit() == 0)
        }

        @Test func aCorruptVersionIsRefusedWhileThePreviousKeepsServing() throws {
            let cluster = try Cluster(name: "replica-corrupt")
            let (learner, replica, served) = try Self.learnerAndReplica(cluster, users: 10, seed: 3, events: 75)
            let learnerSocket = cluster.socket("learner")
            // A version whose chunk does not match its manifest, and a message of no version at all.
            let producer = try KafkaProducer(bootstrapServers: cluster.broker.bootstrapServers, logger: TestKafka.logger())
            let bogus = served + 1_000
            let (manifest, chunks) = ModelChunks.split(Array(repeating: 7, count: 100), version: bogus, publishedUnixMillis: 0)
            try producer.send(topic: Self.topic, partition: 0, key: "\(bogus)/0", value: String(repeating: "x", count: 100))
            try producer.send(topic: Self.topic, partition: 0, key: "not-a-version", value: "hello")
            try producer.send(
                topic: Self.topic, partition: 0, key: ReplicationTopic.manifestKey(version: bogus), value: String(decoding: manifest.encoded(), as: UTF8.self))
            // A patch of the served version whose chunk checks out but whose bytes are no patch.
            let patched = served + 2_000
            let (unpatched, patchChunks) = ModelChunks.split(Array(repeating: 9, count: 100), version: patched, publishedUnixMillis: 0)
            var patchManifest = unpatched
            patchManifest.patch = PatchDescription(base: served, modelBytes: 1_000, modelChecksum: 1)
            try producer.send(topic: Self.topic, partition: 0, key: "\(patched)/0", value: String(decoding: patchChunks[0].bytes, as: UTF8.self))
            try producer.send(
                topic: Self.topic, partition: 0, key: ReplicationTopic.manifestKey(version: patched),
                value: String(decoding: patchManifest.encoded(), as: UTF8.self))
            try producer.flush()
            #expect(chunks.count == 1)
            #expect(replica.waitForLog { $0.contains("model version refused") && $0.contains("\(patched)") }, "\(replica.log.suffix(2_000))")
            let health = Self.object(cluster.socket("r1"), ["op": "health"])
            #expect(health?["status"] as? String == "degraded", "\(health ?? [:])")
            #expect(((health?["reasons"] as? [String]) ?? []).contains { $0.contains("version \(patched) refused") && $0.contains("version \(served) keeps serving") })
            #expect(Self.version(cluster.socket("r1")) == served)
            #expect(Self.differences(learner: learnerSocket, replica: cluster.socket("r1")) == [])
            let stats = try #require(Self.object(cluster.socket("r1"), ["op": "stats"])?["replica"] as? [String: Any])
            #expect(stats["rejected"] as? Int == 2 && stats["ignored_messages"] as? Int == 1, "\(stats)")
            // The CLI's stats says it too, for a replica.
            let crossrec = DaemonProcess.binary("crossrec", root: repositoryRoot)
            let table = try ExternalTool.run([crossrec, "stats", "--socket", cluster.socket("r1")])
            #expect(table.stdout.contains("read replica of \(Self.topic): serving version \(served)"), "\(table.stdout)")
            #expect(table.stdout.contains("refused 2") && table.stdout.contains("last refused: version \(patched)"), "\(table.stdout)")
            // The learner's next version is served as usual.
            try cluster.produceRatings(users: 10, seed: 4)
            let next = try #require(Self.settledVersion(learnerSocket, events: 150))
            #expect(Self.waitUntil { Self.version(cluster.socket("r1")) == next }, "\(replica.log.suffix(2_000))")
            #expect(Self.differences(learner: learnerSocket, replica: cluster.socket("r1")) == [])
            let metrics = Self.object(cluster.socket("r1"), ["op": "metrics"])?["text"] as? String ?? ""
            #expect(PrometheusText.value(of: "crossrec_replica_versions_rejected_total", in: metrics) == 2, "\(metrics)")
            #expect(PrometheusText.value(of: "crossrec_model_version", in: metrics) == Double(next))
            // Prometheus' own linter finds nothing to say about a replica's families.
            let lint = try Promtool.checkMetrics(metrics)
            #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "\(lint)")
            replica.signal(SIGTERM)
            #expect(replica.waitForExit() == 0)
            learner.signal(SIGTERM)
            #expect(learner.waitForExit() == 0)
        }
    }
}
