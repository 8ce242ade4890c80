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
    let notifier: SystemdNotifier
    let ingest: IngestService
    let distill: DistillService
    let checkpoints: CheckpointService
    let server: QueryServer
    let logger: Logger
    static let statusIntervalSeconds = 5.0

    init(notifier: SystemdNotifier, ingest: IngestService, distill: DistillService, checkpoints: CheckpointService, server: QueryServer, logger: Logger) {
        self.notifier = notifier
        self.ingest = ingest
        self.distill = distill
        self.checkpoints = checkpoints
        self.server = server
        self.logger = logger
    }

    /// Seconds between two watchdog pings: half of `WATCHDOG_USEC`.
    var pingIntervalSeconds: Double? { notifier.watchdogMicroseconds.map { Double($0) / 2e6 } }

    func run() async throws {
        guard notifier.isEnabled else { return try await gracefulShutdown() }
        while !server.isListening {
            if Task.isShuttingDownGracefully { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        var rate = RateMeter(events: ingest.status.appliedEvents)
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
                    assignments.append("STATUS=\(status(rate: rate.update(events: ingest.status.appliedEvents)))")
                }
                if !assignments.isEmpty { notifier.notify(assignments) }
            }
        } onGracefulShutdown: { [notifier] in
            notifier.notify(["STOPPING=1", "STATUS=stopping: finishing queries, stopping ingest, writing the final checkpoint"])
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
        let writer = ingest.lastProgressNanos.load(ordering: .relaxed)
        let poll = ingest.consumer.lastPollTime
        guard now &- writer < limitNanos, now &- poll < limitNanos else {
            logger.warning(
                "no progress: withholding the watchdog ping",
                metadata: ["crossrec.writer_idle_ms": "\((now &- writer) / 1_000_000)", "crossrec.poll_idle_ms": "\((now &- poll) / 1_000_000)"])
            return false
        }
        return true
    }

    /// One line for `systemctl status`: rate, lag, size, model, checkpoint.
    func status(rate: Double?) -> String {
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
