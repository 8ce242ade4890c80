import Checkpoint
import Dispatch
import Foundation
import KafkaIngest
import Logging
import Metrics
import QueryProtocol
import RecModel
import ServiceLifecycle
import Synchronization

/// Writes checkpoints: every `interval`, on request (`checkpointNow`), and a final one on
/// shutdown (after ingest has stopped: the service runs before ingest in the group, so it
/// stops after it). Offsets are committed to Kafka only once the checkpoint holding them is
/// durable. A failed write is logged, shown in `status`, and retried at the next interval.
///
/// Isolation: requests go through one `AsyncStream` consumed by `run`, so writes are serial
/// and sequence numbers follow the order of the cuts; `status` is under a `Mutex`.
public final class CheckpointService: Service, Sendable {
    public struct Success: Sendable {
        public var path: String
        public var sequence: UInt64
        public var bytes: UInt64
        public var offsets: [StoredOffset]
        public var appliedEvents: Int
        /// Forgotten users at the cut (a `forget` changes the model without an event).
        public var tombstones: Int
        public var wallMillis: Int64
        public var monotonicNanos: UInt64
        /// Cut on the writer thread, and the whole write (serialize, fsync, rename).
        public var stallNanos: UInt64
        public var writeNanos: UInt64
    }

    public struct Status: Sendable {
        /// The checkpoint restored at start, if any.
        public var restoredFrom: String?
        /// Checkpoints passed over at start (damaged, or from a newer format), with why.
        public var skippedAtStart: [String] = []
        /// True from a start that found checkpoints but could use none (`on_unusable:
        /// start_empty`) until a checkpoint is written: the model lacks its history.
        public var startedWithoutHistory = false
        public var lastSuccess: Success?
        public var lastError: String?
        public var consecutiveFailures = 0
        public var writes = 0
        public var failures = 0
    }

    private enum Request: Sendable {
        case periodic
        case now(CheckedContinuation<Result<Success, CheckpointError>, Never>)
    }

    /// The store and interval, which a reload may change.
    private let schedule: Mutex<(store: CheckpointStore, intervalSeconds: Double)>
    private let ingest: IngestService
    private let topics: [String]
    private let logger: Logger
    private let state: Mutex<Status>
    private let requests: AsyncStream<Request>
    private let requestSink: AsyncStream<Request>.Continuation
    private let writesCounter = Counter(label: "crossrec_checkpoint_writes_total")
    private let failuresCounter = Counter(label: "crossrec_checkpoint_failures_total")
    private let lastSuccessGauge = Gauge(label: "crossrec_checkpoint_last_success_timestamp_seconds")
    private let bytesGauge = Gauge(label: "crossrec_checkpoint_bytes")
    private let durationTimer = Metrics.Timer(label: "crossrec_checkpoint_write_duration_seconds")

    public init(
        store: CheckpointStore, ingest: IngestService, intervalSeconds: Double, restoredFrom: String?, skipped: [String] = [],
        startedWithoutHistory: Bool = false, logger: Logger
    ) {
        schedule = Mutex((store, intervalSeconds))
        self.ingest = ingest
        topics = ingest.consumer.settings.topics.map(\.name)
        self.logger = logger
        state = Mutex(Status(restoredFrom: restoredFrom, skippedAtStart: skipped, startedWithoutHistory: startedWithoutHistory))
        (requests, requestSink) = AsyncStream.makeStream(of: Request.self, bufferingPolicy: .unbounded)
    }

    public var status: Status { state.withLock { $0 } }

    /// A reload: the next interval and retention apply from the next checkpoint on.
    public func update(intervalSeconds: Double, retain: Int) {
        schedule.withLock { $0 = (CheckpointStore(directory: $0.store.directory, retain: retain), intervalSeconds) }
    }

    /// Writes a checkpoint now (after any already queued) and returns it.
    public func checkpointNow() async -> Result<Success, CheckpointError> {
        await withCheckedContinuation { continuation in
            if case .terminated = requestSink.yield(.now(continuation)) {
                continuation.resume(returning: .failure(CheckpointError(.io, "the daemon is shutting down", step: "shutdown")))
            }
        }
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                while (try? await Task.sleep(for: .seconds(schedule.withLock { $0.intervalSeconds }))) != nil {
                    requestSink.yield(.periodic)
                }
            }
            await withGracefulShutdownHandler {
                for await request in requests {
                    switch request {
                    case .periodic: _ = await write(reason: "interval", skipIfUnchanged: true)
                    case .now(let continuation): continuation.resume(returning: await write(reason: "request", skipIfUnchanged: false))
                    }
                }
            } onGracefulShutdown: { [requestSink] in
                requestSink.finish()
            }
            group.cancelAll()
        }
        // Ingest has stopped (it shuts down before this service): this cut is its final state.
        _ = await write(reason: "shutdown", skipIfUnchanged: true)
    }

    private func write(reason: String, skipIfUnchanged: Bool) async -> Result<Success, CheckpointError> {
        let started = DispatchTime.now().uptimeNanoseconds
        let cut = await ingest.cut()
        let offsets = cut.positions.map { key, offset in
            StoredOffset(topic: topics[key.topicIndex], partition: key.partition, offset: offset)
        }.sorted()
        if skipIfUnchanged, let last = state.withLock({ $0.lastSuccess }), last.offsets == offsets,
            last.appliedEvents == cut.learner.appliedEvents, last.tombstones == cut.learner.tombstoneCount
        {
            return .success(last)
        }
        let metadata = [
            "reason": reason, "applied_events": String(cut.learner.appliedEvents),
            "host": ProcessInfo.processInfo.hostName, "writer": "crossrecd", "crossrec.version": CrossrecVersion.current,
        ]
        let store = schedule.withLock { $0.store }
        let wallMillis = Int64(Date().timeIntervalSince1970 * 1_000)
        // File I/O and the synchronous offset commit block: both run on a thread of their own.
        let result: Result<CheckpointStore.Written, CheckpointError> = await DedicatedThread.run(nice: DedicatedThread.backgroundNice) { [self] in
            let result = Result { () throws(CheckpointError) in
                try store.write(learner: cut.learner, offsets: offsets, metadata: metadata, createdMillis: wallMillis)
            }
            if case .success = result { commit(offsets: cut.positions) }
            return result
        }
        let now = DispatchTime.now().uptimeNanoseconds
        switch result {
        case .success(let written):
            let success = Success(
                path: written.path, sequence: written.sequence, bytes: written.bytes, offsets: offsets,
                appliedEvents: cut.learner.appliedEvents, tombstones: cut.learner.tombstoneCount, wallMillis: wallMillis, monotonicNanos: now,
                stallNanos: cut.stallNanos, writeNanos: now - started)
            state.withLock { status in
                status.lastSuccess = success
                status.lastError = nil
                status.consecutiveFailures = 0
                status.startedWithoutHistory = false
                status.writes += 1
            }
            writesCounter.increment()
            lastSuccessGauge.record(Double(wallMillis) / 1_000)
            bytesGauge.record(Int64(written.bytes))
            durationTimer.recordNanoseconds(Int64(now - started))
            logger.info(
                "checkpoint written", metadata: [
                    LoggingKeys.path: "\(written.path)", LoggingKeys.events: "\(success.appliedEvents)",
                    "crossrec.bytes": "\(written.bytes)", "crossrec.reason": "\(reason)",
                    "crossrec.write_ms": "\((now - started) / 1_000_000)",
                ])
            return .success(success)
        case .failure(let error):
            state.withLock { status in
                status.lastError = error.message
                status.consecutiveFailures += 1
                status.failures += 1
            }
            failuresCounter.increment()
            logger.error(
                "checkpoint failed; earlier checkpoints are intact, retrying at the next interval",
                metadata: [LoggingKeys.error: "\(error.message)", "crossrec.step": "\(error.step ?? "")"])
            return .failure(error)
        }
    }

    /// Commits the durable offsets to the consumer group (for tools that read group lag; the
    /// daemon itself resumes from its checkpoint). Not possible once ingest has closed the
    /// consumer, which is the case for the shutdown checkpoint.
    private func commit(offsets positions: [PartitionKey: Int64]) {
        guard !positions.isEmpty, !ingest.consumer.isStopping else { return }
        let offsets = Dictionary(uniqueKeysWithValues: positions.map { key, offset in
            (TopicPartition(topics[key.topicIndex], key.partition), offset)
        })
        do {
            try ingest.consumer.commit(offsets)
        } catch {
            logger.warning("offset commit failed", metadata: [LoggingKeys.error: "\(error)"])
        }
    }
}
