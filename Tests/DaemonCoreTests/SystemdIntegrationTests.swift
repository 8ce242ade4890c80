import Foundation
import QueryProtocol
import Testing
import TestSupport

extension WholeDaemonTests {
    /// crossrecd as systemd runs it, with systemd's own socket-activation tool and a listener on
    /// NOTIFY_SOCKET playing the service manager.
    @Suite("systemd integration", .serialized)
    struct SystemdIntegrationTests {
        @Test func socketActivatedDaemonNotifiesReadyWatchdogReloadAndStopping() throws {
            try #require(ExternalTool.isInstalled("systemd-socket-activate"), "make test installs systemd")
            let helper = DaemonHarness()
            let broker = try TestKafka.broker(["ratings.movies": 1])
            try TestKafka.produce(
                (0..<50).map { TestKafka.json(user: "u\($0 % 5)", item: "m\($0)", rating: Double($0 % 5 + 1)) }, to: "ratings.movies",
                partitions: 1, broker: broker)
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let domains = [DaemonHarness.Domain(name: "movies", topic: "ratings.movies", format: "json", partitions: 1)]
            let config = try helper.writeConfig(directory, bootstrap: broker.bootstrapServers, domains: domains, dimension: 8)
            let listener = try NotifyListener(path: "\(directory)/notify.sock")
            defer { listener.stop() }
            let socket = "\(directory)/activated.sock"
            let daemon = try DaemonProcess(
                executable: "/usr/bin/systemd-socket-activate",
                arguments: [
                    "-l", socket, "-E", "NOTIFY_SOCKET=\(listener.path)", "-E", "WATCHDOG_USEC=2000000",
                    helper.crossrecd, "--config", config,
                ],
                logPath: "\(directory)/log")
            // The tool binds the socket, then starts crossrecd at the first connection: this
            // client waits in the backlog while the daemon restores and starts serving.
            #expect(daemon.waitForLog { _ in FileManager.default.fileExists(atPath: socket) })
            func request(_ object: [String: Any]) throws -> [String: Any] {
                let line = try QuerySocketClient(path: socket).request(object)
                return try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            }
            #expect(try request(["op": "health"])["status"] as? String == "ready")
            #expect(daemon.log.contains("query socket inherited from the service manager"))
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/run/crossrecd.sock"), "the configured path is not bound")

            #expect(listener.wait { $0.contains("READY=1") })
            let beforeReady = listener.assignments.prefix { $0 != "READY=1" }
            #expect(beforeReady.contains { $0.hasPrefix("STATUS=restoring") }, "READY=1 comes after the restore: \(listener.assignments)")
            #expect(listener.wait { $0.filter { $0 == "WATCHDOG=1" }.count >= 3 }, "pings every second with WATCHDOG_USEC=2 s")
            #expect(listener.wait { $0.contains { $0.hasPrefix("STATUS=ingesting") && $0.contains("lag") } }, "\(listener.assignments)")

            // A valid reload: limits change live, the model dimension would need a restart.
            try String(contentsOfFile: config, encoding: .utf8)
                .replacingOccurrences(of: "model: {dimension: 8}", with: "model: {dimension: 16}")
                .appending("\nsocket: {max_k: 3, answer_cache_mib: 0}\n").write(toFile: config, atomically: true, encoding: .utf8)
            let seen = listener.assignments.count
            daemon.signal(SIGHUP)
            #expect(listener.wait { Array($0.dropFirst(seen)).contains("READY=1") })
            let reload = Array(listener.assignments.dropFirst(seen))
            #expect(reload.first == "RELOADING=1" && reload.contains { $0.hasPrefix("MONOTONIC_USEC=") }, "\(reload)")
            #expect(reload.contains { $0.contains("applied socket.max_k") && $0.contains("restart needed for model") }, "\(reload)")
            let refused = try request(["op": "recommend", "user": "u1", "domain": "movies", "k": 5])
            #expect((refused["error"] as? [String: Any])?["code"] as? String == "too_large", "max_k is now 3: \(refused)")
            #expect(reload.contains { $0.contains("socket.answer_cache_mib") }, "\(reload)")
            let cache = try request(["op": "stats"])["answer_cache"] as? [String: Any]
            #expect(cache?["budget_bytes"] as? Int == 0 && cache?["entries"] as? Int == 0, "the cache is off now: \(cache ?? [:])")

            // An invalid file is rejected whole; the running configuration stays.
            try "domains: [oops".write(toFile: config, atomically: true, encoding: .utf8)
            let beforeBad = listener.assignments.count
            daemon.signal(SIGHUP)
            #expect(listener.wait { Array($0.dropFirst(beforeBad)).contains("READY=1") })
            #expect(listener.assignments.dropFirst(beforeBad).contains { $0.hasPrefix("STATUS=reload rejected") })
            #expect(daemon.log.contains("reload rejected: the running configuration is kept"))
            #expect((try request(["op": "recommend", "user": "u1", "domain": "movies", "k": 3])["items"] as? [Any])?.count == 3)

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit() == 0, "\(daemon.log.suffix(1_500))")
            #expect(listener.assignments.contains("STOPPING=1"))
        }
    }
}
