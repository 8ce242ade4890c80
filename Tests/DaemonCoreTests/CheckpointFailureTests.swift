import Checkpoint
import Foundation
import QueryProtocol
import Testing
import TestSupport

extension WholeDaemonTests {
    /// A checkpoint that cannot be written (here: the process's file-size limit, which fails
    /// `write` with EFBIG exactly where a full disk fails it with ENOSPC) leaves the earlier
    /// checkpoints intact, shows in `health`, and succeeds at a later interval once space is back.
    @Suite("Checkpoint write failure", .serialized)
    struct CheckpointFailureTests {
        @Test func fullDiskKeepsOlderCheckpointsAndRecoversAtTheNextInterval() throws {
            try #require(ExternalTool.isInstalled("prlimit"), "util-linux prlimit")
            let helper = DaemonHarness()
            let broker = try TestKafka.broker(["ratings.movies": 1])
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let config = try helper.writeConfig(
                directory, bootstrap: broker.bootstrapServers,
                domains: [.init(name: "movies", topic: "ratings.movies", format: "json", partitions: 1)], dimension: 32)
            let limitBytes = 2_000_000
            let daemon = try DaemonProcess(
                executable: "/usr/bin/prlimit", arguments: ["--fsize=\(limitBytes):unlimited", "--", helper.crossrecd, "--config", config],
                logPath: "\(directory)/log")
            let socket = "\(directory)/run/crossrecd.sock"
            func query(_ op: String) -> [String: Any] {
                let line = (try? QuerySocketClient(path: socket).request(["op": op])) ?? "{}"
                return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
            }
            let store = CheckpointStore(directory: "\(directory)/state")
            #expect(daemon.waitForLog { _ in ((try? store.list()) ?? []).count >= 1 }, "a first small checkpoint: \(daemon.log.suffix(1_000))")

            // Enough users to grow the model well past the limit.
            let lines = (0..<20_000).map { TestKafka.json(user: "u\($0)", item: "m\($0 % 500)", rating: Double($0 % 5 + 1)) }
            try TestKafka.produce(lines, to: "ratings.movies", partitions: 1, broker: broker)
            #expect(daemon.waitForLog { _ in query("health")["status"] as? String == "degraded" }, "\(daemon.log.suffix(2_000))")
            let health = query("health")
            let reasons = (health["reasons"] as? [String] ?? []).joined()
            #expect(reasons.contains("checkpoint") && reasons.contains("File too large"), "\(health)")
            #expect(daemon.log.contains("checkpoint failed; earlier checkpoints are intact"))
            let before = try store.list()
            for entry in before { _ = try CheckpointFile(path: entry.path) }  // every earlier one still verifies
            #expect(daemon.waitForLog { _ in query("stats")["events"] as? Int == lines.count }, "ingest went on")

            // Space is back (the soft limit is raised to the hard one, as an unprivileged process
            // may): the next interval writes a checkpoint with every event.
            let result = try ExternalTool.run(["prlimit", "--pid", "\(daemon.process.processIdentifier)", "--fsize=unlimited"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(daemon.waitForLog { _ in query("health")["status"] as? String == "ready" }, "\(daemon.log.suffix(2_000))")
            let newest = try #require(try store.list().first)
            #expect(try CheckpointFile(path: newest.path).metadata["applied_events"] == String(lines.count))
            // Nothing changed since: no further write, and no temp file of the failed ones is left.
            usleep(500_000)
            #expect(!DaemonHarness.hasTemporaryFile("\(directory)/state"), "failed temp files are removed")
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit() == 0)
        }
    }
}
