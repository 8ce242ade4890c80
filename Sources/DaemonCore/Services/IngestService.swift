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
        /// Per domain, since start.
        public var hitRates: [OnlineHitRate]
    }

    public let consumer: KafkaConsumer
    private let logger: Logger
    private var learner: Learner
    private var tracker: OffsetTracker
    private let published: Mutex<Status>
    private let commands = Mutex<(pending: [@Sendable (inout Learner) -> Void], cuts: [CheckedContinuation<Cut, Never>], finished: Bool)>(([], [], false))
    /// Writer-only: callers of `cut` waiting for the snapshot being pre-copied.
    private var snapshotWaiters: [CheckedContinuation<Cut, Never>] = []
    /// Writer-only: the longest time one safe point has spent on that snapshot so far.
    private var snapshotStallNanos: UInt64 = 0
    private let writerDone = DispatchSemaphore(value: 0)
    /// Monotonic ns of the writer's last loop turn: liveness for the watchdog.
    public let lastProgressNanos = Atomic<UInt64>(0)
    /// The serving model the online hit rate is measured against (the daemon's published one).
    private let servingModel = Mutex<(@Sendable () -> ServingModel?)?>(nil)
    /// Writer-only: the online hit rate per domain, and when the last event was sampled.
    private var hitRates: [OnlineHitRate]
    private var lastHitSampleNanos: UInt64 = 0
    /// At most one sampled event per this many ns (100 a second): a sample scores every item
    /// of its domain once (about 50 µs at 100 000 items), which the writer pays.
    static let hitSampleIntervalNanos: UInt64 = 10_000_000

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
        hitRates = Array(repeating: OnlineHitRate(), count: learner.configuration.domains.count)
        published = Mutex(Self.status(of: learner, counters: consumer.counters.snapshot, hitRates: hitRates))
    }

    public var status: Status { published.withLock { $0 } }

    /// Measures the online hit rate against the models `model` returns (the published one).
    public func measureHitRate(against model: @escaping @Sendable () -> ServingModel?) {
        servingModel.withLock { $0 = model }
    }

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
        await DedicatedThread.run { [consumer, writerDone] in
            consumer.stop()
            writerDone.wait()
        }
        logger.info("ingest stopped", metadata: [LoggingKeys.events: "\(status.appliedEvents)"])
    }

    /// A consistent cut for a checkpoint or a distillation: a snapshot of the learner and the
    /// next offset of every partition, both taken at one safe point, so the learner holds
    /// exactly the events before those offsets.
    public struct Cut: Sendable {
        public var learner: Learner
        public var positions: [PartitionKey: Int64]
        /// The longest time one safe point of the writer spent on this cut (ns).
        public var stallNanos: UInt64
    }

    /// The writer pre-copies the learner a slice per safe point (`Learner.beginSnapshot`) and
    /// takes the cut when the copy is complete, so it never shares a parameter chunk with the
    /// snapshot and never pays for a burst of copy-on-write copies afterwards. Concurrent
    /// callers share one cut.
    public func cut() async -> Cut {
        await withCheckedContinuation { continuation in
            let runNow = commands.withLock { state -> Bool in
                if state.finished { return true }
                state.cuts.append(continuation)
                return false
            }
            // The writer has exited: nothing mutates the learner any more.
            if runNow { continuation.resume(returning: Cut(learner: learner, positions: tracker.positions, stallNanos: 0)) }
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
            advanceSnapshot()
            // While a snapshot is being copied, an idle writer goes on copying.
            if let batch = consumer.nextBatch(timeoutSeconds: snapshotWaiters.isEmpty ? 0.05 : 0) {
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
        let (pending, cuts) = commands.withLock { state in
            state.finished = true
            defer { (state.pending, state.cuts) = ([], []) }
            return (state.pending, state.cuts)
        }
        for command in pending { command(&learner) }
        snapshotWaiters += cuts
        if !snapshotWaiters.isEmpty { resumeSnapshotWaiters() }
        writerDone.signal()
    }

    private func apply(_ batch: [IngestRecord]) {
        // The first event of the batch is sampled when the last sample is old enough.
        var sampleAgainst: ServingModel?
        let now = DispatchTime.now().uptimeNanoseconds
        if !batch.isEmpty, now &- lastHitSampleNanos >= Self.hitSampleIntervalNanos, let model = servingModel.withLock({ $0 })?() {
            sampleAgainst = model
            lastHitSampleNanos = now
        }
        for record in batch where tracker.admit(record) {
            guard case .event(let event) = record.outcome else { continue }
            if let model = sampleAgainst {
                // Before the event is learned: what the user was being shown.
                hitRates[record.topicIndex].sample(model, user: event.user, item: event.item, domain: record.topicIndex)
                sampleAgainst = nil
            }
            learner.apply(
                Rating(
                    domain: record.topicIndex, user: event.user, item: event.item, value: event.rating,
                    timestampMillis: event.timestampMillis ?? record.kafkaTimestampMillis ?? learner.clockMillis))
        }
        consumer.positions.publish(tracker.positions)
    }

    private func runCommands() {
        let (pending, cuts) = commands.withLock { state in
            defer { (state.pending, state.cuts) = ([], []) }
            return (state.pending, state.cuts)
        }
        for command in pending { command(&learner) }
        if snapshotWaiters.isEmpty, !cuts.isEmpty {
            learner.beginSnapshot()
            snapshotStallNanos = 0
        }
        snapshotWaiters += cuts
    }

    /// One slice of the snapshot being prepared; the cut once it is complete.
    private func advanceSnapshot() {
        guard !snapshotWaiters.isEmpty else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        let complete = learner.advanceSnapshot()
        snapshotStallNanos = max(snapshotStallNanos, DispatchTime.now().uptimeNanoseconds - start)
        if complete { resumeSnapshotWaiters() }
    }

    private func resumeSnapshotWaiters() {
        let start = DispatchTime.now().uptimeNanoseconds
        let snapshot = learner.takeSnapshot()
        let stall = max(snapshotStallNanos, DispatchTime.now().uptimeNanoseconds - start)
        for waiter in snapshotWaiters {
            waiter.resume(returning: Cut(learner: snapshot, positions: tracker.positions, stallNanos: stall))
        }
        snapshotWaiters = []
    }

    private func publish() {
        let status = Self.status(of: learner, counters: consumer.counters.snapshot, hitRates: hitRates)
        published.withLock { $0 = status }
    }

    private static func status(of learner: Learner, counters: IngestCounters.Snapshot, hitRates: [OnlineHitRate]) -> Status {
        Status(
            domains: learner.configuration.domains.indices.map { learner.statistics(domain: $0) }, counters: counters,
            users: learner.userCount, evictedUsers: learner.evictedUsers, appliedEvents: learner.appliedEvents,
            hitRates: hitRates)
    }
}
