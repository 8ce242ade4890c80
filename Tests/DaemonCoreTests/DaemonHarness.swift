import Checkpoint
@testable import DaemonCore
import Foundation
import QueryProtocol
import RecModel
import Testing
import TestSupport

/// The built crossrecd run against a dev broker of the test process: configuration, start,
/// progress through `stats`, drain and stop, and the model of its newest checkpoint. Shared by
/// the whole-daemon suites (crash equivalence, write failures, restore edge cases, systemd).
struct DaemonHarness {
    let crossrecd = DaemonProcess.binary("crossrecd", root: repositoryRoot)

    struct Domain {
        var name: String
        var topic: String
        var format: String
        var partitions: Int
    }

    func writeConfig(_ directory: String, bootstrap: String, domains: [Domain], dimension: Int) throws -> String {
        let domainLines = domains.map {
            "  - {name: \($0.name), topic: \($0.topic), format: \($0.format), rating_range: [1, 5]}"
        }.joined(separator: "\n")
        let yaml = """
            domains:
            \(domainLines)
            kafka:
              bootstrap: "\(bootstrap)"
              group_id: \(TestKafka.uniqueGroup("crash"))
              session_timeout_ms: 3000
              properties: {heartbeat.interval.ms: "500"}
            model: {dimension: \(dimension)}
            checkpoint: {interval_seconds: 0.2}
            distill: {interval_seconds: 0.2}
            paths: {run_dir: \(directory)/run, state_dir: \(directory)/state}
            log: {format: json, level: info, stats_interval_seconds: 0}
            """
        try FileManager.default.createDirectory(atPath: "\(directory)/state", withIntermediateDirectories: true)
        let path = "\(directory)/crossrecd.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func start(_ config: String, _ directory: String, run: Int) throws -> DaemonProcess {
        try DaemonProcess(executable: crossrecd, arguments: ["--config", config], logPath: "\(directory)/log.\(run)")
    }

    /// Events the daemon's learner has applied, from `stats` over its socket.
    func appliedEvents(_ directory: String) -> Int? {
        guard let line = try? QuerySocketClient(path: "\(directory)/run/crossrecd.sock").request(["op": "stats"]),
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { return nil }
        return object["events"] as? Int
    }

    /// Runs the daemon until it has applied `total` events, then SIGTERM (final checkpoint).
    func drainAndStop(_ config: String, _ directory: String, run: Int, total: Int) throws -> DaemonProcess {
        let daemon = try start(config, directory, run: run)
        let drained = daemon.waitForLog(limitSeconds: 120) { _ in appliedEvents(directory) == total }
        #expect(drained, "drained \(total) events: \(appliedEvents(directory) ?? -1) applied; \(daemon.log.suffix(1_500))")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0, "\(daemon.log.suffix(1_500))")
        return daemon
    }

    /// The newest checkpoint of a run, restored under that run's configuration.
    func finalLearner(_ config: String, _ directory: String) throws -> Learner {
        let configuration = try Configuration.load(path: config).learnerConfiguration
        let restored = try CheckpointStore(directory: "\(directory)/state").restoreNewest(configuration: configuration)
        #expect(restored.skipped.isEmpty)
        return try #require(restored.learner)
    }

    /// True when an unfinished checkpoint (temp file) is in `directory`.
    static func hasTemporaryFile(_ directory: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).contains { $0.hasSuffix(".tmp") }
    }
}
