import Dispatch
import Logging
import QueryServer
import ServiceLifecycle

/// Tells the service manager how the daemon is doing: `READY=1` once the socket serves (the
/// checkpoint was restored before the group started), a `STATUS=` line every few seconds,
/// `WATCHDOG=1` at half the watchdog interval *only while* the ingest writer, the Kafka poll
/// loop and the server's event loops all make progress (so a wedged part gets the service
/// restarted), and `STOPPING=1` when shutdown begins. Does nothing outside systemd.
final class SystemdService: Service, Sendable {
    /// What a role (learner, replica) tells the service manager besides the event loops.
    struct Role: Sendable {
        /// A count whose rate `STATUS=` shows (applied events; 0 for a replica).
        var count: @Sendable () -> Int
        /// Monotonic ns of each own thread's last loop turn, by name: all must be recent.
        var clocks: @Sendable () -> [(String, UInt64)]
        /// The `STATUS=` line, given the count's rate.
        var statusLine: @Sendable (Double?) -> String
        var stoppingLine: String
    }

    let notifier: SystemdNotifier
    let role: Role
    let server: QueryServer
    let logger: Logger
    static let statusIntervalSeconds = 5.0

    init(notifier: SystemdNotifier, role: Role, server: QueryServer, logger: Logger) {
        self.notifier = notifier
        self.role = role
        self.server = server
        self.logger = logger
    }

    /// The learner: ingest writer and Kafka poll loop; rate, lag, size, model, checkpoint.
    convenience init(
        notifier: SystemdNotifier, ingest: IngestService, distill: DistillService, checkpoints: CheckpointService, server: QueryServer,
        logger: Logger
    ) {
        let role = Role(
            count: { ingest.status.appliedEvents },
            clocks: { [("crossrec.writer_idle_ms", ingest.lastProgressNanos.load(ordering: .relaxed)), ("crossrec.poll_idle_ms", ingest.consumer.lastPollTime)] },
            statusLine: { Self.learnerStatus(rate: $0, ingest: ingest, distill: distill, checkpoints: checkpoints) },
            stoppingLine: "stopping: finishing queries, stopping ingest, writing the final checkpoint")
        self.init(notifier: notifier, role: role, server: server, logger: logger)
    }

    /// Seconds between two watchdog pings: half of `WATCHDOG_USEC`.
    var pingIntervalSeconds: Double? { notifier.watchdogMicroseconds.map { Double($0) / 2e6 } }

    func run() async throws {
        guard notifier.isEnabled else { return try await gracefulShutdown() }
        while !server.isListening {
            if Task.isShuttingDownGracefully { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        var rate = RateMeter(events: role.count())
        notifier.notify(["READY=1", "STATUS=\(status(rate: nil))"])
        logger.info("service manager notified: ready", metadata: ["crossrec.watchdog_seconds": "\(pingIntervalSeconds.map { $0 * 2 } ?? 0)"])
        let tick = min(pingIntervalSeconds ?? Self.statusIntervalSeconds, Self.statusIntervalSeconds)
        var lastStatus = ContinuousClock.now
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(tick)) }
                if Task.isShuttingDownGracefully { break }
                var assignments: [String] = []
                if let interval = pingIntervalSeconds, await makingProgress(withinSeconds: max(1, interval)) {
                    assignments.append("WATCHDOG=1")
                }
                if lastStatus.duration(to: .now) >= .seconds(Self.statusIntervalSeconds) {
                    lastStatus = .now
                    assignments.append("STATUS=\(status(rate: rate.update(events: role.count())))")
                }
                if !assignments.isEmpty { notifier.notify(assignments) }
            }
        } onGracefulShutdown: { [notifier, role] in
            notifier.notify(["STOPPING=1", "STATUS=\(role.stoppingLine)"])
        }
    }

    /// The liveness the watchdog vouches for. Each part updates its clock on every loop turn
    /// (the writer at least every 50 ms when idle, the poll loop every 10 ms).
    /// The event loops are checked first and the clocks last, so that the verdict describes the
    /// moment the ping is sent, however long this task waited for a thread in between.
    func makingProgress(withinSeconds limit: Double) async -> Bool {
        guard await server.eventLoopsRespond(withinSeconds: limit) else { return false }
        let now = DispatchTime.now().uptimeNanoseconds
        let limitNanos = UInt64(limit * 1e9)
        let clocks = role.clocks()
        guard clocks.allSatisfy({ now &- $0.1 < limitNanos }) else {
            logger.warning(
                "no progress: withholding the watchdog ping",
                metadata: .init(uniqueKeysWithValues: clocks.map { ($0.0, "\((now &- $0.1) / 1_000_000)") }))
            return false
        }
        return true
    }

    func status(rate: Double?) -> String { role.statusLine(rate) }

    /// One line for `systemctl status`: rate, lag, size, model, checkpoint.
    static func learnerStatus(rate: Double?, ingest: IngestService, distill: DistillService, checkpoints: CheckpointService) -> String {
        let status = ingest.status
        let lag = ingest.consumer.lag().compactMap(\.lag).reduce(0, +)
        let checkpoint = checkpoints.status
        var parts = [rate.map { "ingesting \(Int($0)) ev/s" } ?? "ready", "lag \(lag)", "\(status.users) users",
            "\(status.appliedEvents) events", distill.model.map { "model v\($0.version)" } ?? "no model yet"]
        if let error = checkpoint.lastError {
            parts.append("CHECKPOINT FAILING (\(checkpoint.consecutiveFailures)×): \(error)")
        } else if let last = checkpoint.lastSuccess {
            parts.append("last checkpoint \((DispatchTime.now().uptimeNanoseconds &- last.monotonicNanos) / 1_000_000_000) s ago")
        } else {
            parts.append(checkpoint.restoredFrom.map { "restored \($0)" } ?? "no checkpoint yet")
        }
        return parts.joined(separator: ", ")
    }
}
