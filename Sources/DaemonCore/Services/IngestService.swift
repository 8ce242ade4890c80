import Dispatch
import Foundation
import KafkaIngest
import Logging
import RecModel
import ServiceLifecycle
import Synchronization

/// Applies every valid consumed event to the learner, on one dedicated writer thread.
///
/// Isolation: `learner` and `tracker` belong to the writer thread alone. Other parts reach the
/// model through `perform`, whose closures run on that thread between two batches (the safe
/// point), or through `status`, a snapshot the writer publishes under a `Mutex`.
public final class IngestService: Service, @unchecked Sendable {
    // @unchecked: `learner` and `tracker` are touched only by the writer thread, or by `perform`
    // callers after the writer has exited (`writer.finished` under the `commands` lock orders it).
    /// What the writer publishes for logs and stats.
    public struct Status: Sendable {
        public var domains: [Learner.DomainStatistics]
        public var counters: IngestCounters.Snapshot
        public var users: Int
        public var evictedUsers: Int
        public var appliedEvents: Int
    }

    public let consumer: KafkaConsumer
    private let logger: Logger
    private var learner: Learner
    private var tracker: OffsetTracker
    private let published: Mutex<Status>
    private let commands = Mutex<(pending: [@Sendable (inout Learner) -> Void], finished: Bool)>(([], false))
    private let writerDone = DispatchSemaphore(value: 0)
    /// Monotonic ns of the writer's last loop turn: liveness for the watchdog.
    public let lastProgressNanos = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - positions: next offset to apply per partition, from the restored checkpoint (the
    ///     consumer's `positions` must start from the same values).
    public init(
        learner: Learner, positions: [PartitionKey: Int64] = [:], consumer: KafkaConsumer, logger: Logger
    ) {
        self.learner = learner
        self.consumer = consumer
        self.logger = logger
        tracker = OffsetTracker(positions: positions)
        published = Mutex(Self.status(of: learner, counters: consumer.counters.snapshot))
    }

    public var status: Status { published.withLock { $0 } }

    /// Runs `body` on the writer thread at the next safe point and returns its result.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (inout Learner) -> T) async -> T {
        await withCheckedContinuation { continuation in
            let runNow = commands.withLock { state -> Bool in
                if state.finished { return true }
                state.pending.append { learner in continuation.resume(returning: body(&learner)) }
                return false
            }
            // The writer has exited: nothing mutates the learner any more.
            if runNow { continuation.resume(returning: body(&learner)) }
        }
    }

    public func run() async throws {
        try consumer.start()
        let thread = Thread { [self] in writerLoop() }
        thread.name = "crossrec-ingest-writer"
        thread.start()
        try? await gracefulShutdown()
        logger.info("stopping ingest")
        // Both waits block, so they run off the cooperative pool.
        await Self.onDedicatedThread { [consumer, writerDone] in
            consumer.stop()
            writerDone.wait()
        }
        logger.info("ingest stopped", metadata: [LoggingKeys.events: "\(status.appliedEvents)"])
    }

    /// A consistent cut for a checkpoint: the learner (a copy-on-write copy) and the next offset
    /// of every partition, both taken at one safe point, so the learner holds exactly the
    /// events before those offsets.
    public struct Cut: Sendable {
        public var learner: Learner
        public var positions: [PartitionKey: Int64]
        /// Time the writer thread spent taking the cut.
        public var stallNanos: UInt64
    }

    public func cut() async -> Cut {
        await perform { [self] learner in
            let start = DispatchTime.now().uptimeNanoseconds
            let copy = learner
            let positions = tracker.positions
            return Cut(learner: copy, positions: positions, stallNanos: DispatchTime.now().uptimeNanoseconds - start)
        }
    }

    /// Forgets a user on the writer thread (the caller updates the serving model). Returns
    /// whether the user was known.
    public func forget(user: String) async -> Bool {
        let known = await perform { learner in learner.forget(user: user) }
        logger.notice("user forgotten", metadata: ["crossrec.known": "\(known)"])
        return known
    }

    private func writerLoop() {
        var lastPublish = DispatchTime.now().uptimeNanoseconds
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            lastProgressNanos.store(now, ordering: .relaxed)
            runCommands()
            if let batch = consumer.nextBatch(timeoutSeconds: 0.05) {
                // Resets are marked before the assignment that produces their records.
                for key in consumer.positions.takeResets() { tracker.forget(key) }
                apply(batch)
            } else if consumer.isDrained {
                break
            }
            if now &- lastPublish > 250_000_000 {
                publish()
                lastPublish = now
            }
        }
        publish()
        let pending = commands.withLock { state in
            state.finished = true
            defer { state.pending = [] }
            return state.pending
        }
        for command in pending { command(&learner) }
        writerDone.signal()
    }

    private func apply(_ batch: [IngestRecord]) {
        for record in batch where tracker.admit(record) {
            guard case .event(let event) = record.outcome else { continue }
            learner.apply(
                Rating(
                    domain: record.topicIndex, user: event.user, item: event.item, value: event.rating,
                    timestampMillis: event.timestampMillis ?? record.kafkaTimestampMillis ?? learner.clockMillis))
        }
        consumer.positions.publish(tracker.positions)
    }

    private func runCommands() {
        let pending = commands.withLock { state in
            defer { state.pending = [] }
            return state.pending
        }
        for command in pending { command(&learner) }
    }

    private func publish() {
        let status = Self.status(of: learner, counters: consumer.counters.snapshot)
        published.withLock { $0 = status }
    }

    private static func status(of learner: Learner, counters: IngestCounters.Snapshot) -> Status {
        Status(
            domains: learner.configuration.domains.indices.map { learner.statistics(domain: $0) }, counters: counters,
            users: learner.userCount, evictedUsers: learner.evictedUsers, appliedEvents: learner.appliedEvents)
    }

    /// Runs blocking work on a thread of its own and resumes when it is done.
    static func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }
}
