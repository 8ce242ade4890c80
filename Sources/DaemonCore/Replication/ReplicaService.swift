import Atomics
import Dispatch
import Foundation
import KafkaIngest
import Logging
import Metrics
import RecModel
import Replication
import ServiceLifecycle
import Synchronization

/// A read replica's one job: follow the model topic and serve its newest complete version.
/// At start it reads the topic's last message, whose `crossrec.resume` header names where
/// the newest complete full version begins, and reads from there (deltas follow it); it never
/// reads the topic from its beginning. Every chunk is checked against its manifest, every
/// whole against its checksum, and a version is decoded completely before one atomic swap:
/// a partial, corrupt or undecodable version is refused and the previous one keeps serving.
///
/// Threads: the topic is read, assembled and decoded on one thread of its own (blocking
/// librdkafka calls, background priority); queries load the model with one atomic read.
public final class ReplicaService: Service, Sendable {
    public struct Status: Sendable {
        /// The served version's manifest, and when it was swapped in (monotonic ns).
        public var served: VersionManifest?
        public var servedAtNanos: UInt64 = 0
        /// The newest manifest read from the topic (served or not).
        public var newest: VersionManifest?
        /// When a version newer than the served one was first seen on the topic (monotonic ns; 0: none waiting).
        public var waitingSinceNanos: UInt64 = 0
        public var fullApplied = 0
        public var deltasApplied = 0
        public var rejected = 0
        /// The last refused version: why, and when (monotonic ns).
        public var lastRejection: (version: Int, reason: String, atNanos: UInt64)?
        public var bytesReceived = 0
        public var lastApplyMillis = 0.0
        /// Wall-clock ms from the learner's start of publishing to the swap here (the clocks
        /// of two hosts: meaningful when they are synchronized).
        public var lastLatencyMillis = 0.0
        /// The offset reading started at, and the last read.
        public var startOffset: Int64 = -1
        public var position: Int64 = -1
        /// Last answer from the broker (monotonic ns), and the last fetch error since then.
        public var lastContactNanos: UInt64 = 0
        public var lastError: String?
        public var ignoredMessages = 0
    }

    final class Published: AtomicReference, Sendable {
        let model: ServingModel
        init(_ model: ServingModel) { self.model = model }
    }

    public let topic: String
    public let maxLagSeconds: Double
    private let bootstrapServers: String
    private let properties: [String: String]
    private let logger: Logger
    private let published: ManagedAtomic<Published?> = ManagedAtomic(nil)
    private let state = Mutex(Status())
    private let stopRequested = Atomic<Bool>(false)
    /// Monotonic ns of the reading loop's last turn (the watchdog's liveness of this thread).
    let lastLoopNanos = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
    /// Monotonic ns when the replica started following the topic.
    let startedNanos = DispatchTime.now().uptimeNanoseconds
    private let appliedCounters = [
        "full": Counter(label: "crossrec_replica_versions_applied_total", dimensions: [("kind", "full")]),
        "delta": Counter(label: "crossrec_replica_versions_applied_total", dimensions: [("kind", "delta")]),
    ]
    private let rejectedCounter = Counter(label: "crossrec_replica_versions_rejected_total")
    private let bytesCounter = Counter(label: "crossrec_replica_bytes_received_total")
    private let versionGauge = Gauge(label: "crossrec_model_version")

    public init(topic: String, bootstrapServers: String, properties: [String: String], maxLagSeconds: Double, logger: Logger) {
        self.topic = topic
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.maxLagSeconds = maxLagSeconds
        self.logger = logger
    }

    /// The served model; nil until the first complete version.
    public var model: ServingModel? { published.load(ordering: .acquiring)?.model }

    public var status: Status { state.withLock { $0 } }

    /// Seconds since the process started following the topic.
    public var uptimeSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startedNanos) / 1e9 }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await DedicatedThread.run(nice: DedicatedThread.backgroundNice) { [self] in follow() }
        } onGracefulShutdown: { [self] in
            stopRequested.store(true, ordering: .releasing)
        }
    }

    private var stopping: Bool { stopRequested.load(ordering: .acquiring) }

    /// The reading loop: find where to start (retrying while the broker is away), then read.
    private func follow() {
        var reader: PartitionReader?
        while !stopping, reader == nil {
            lastLoopNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
            do {
                let candidate = try PartitionReader(bootstrapServers: bootstrapServers, topic: topic, properties: properties, logger: logger)
                let start = try startOffset(candidate)
                try candidate.start(at: start)
                state.withLock { $0.startOffset = start; $0.lastContactNanos = DispatchTime.now().uptimeNanoseconds; $0.lastError = nil }
                logger.notice("following the model topic", metadata: ["crossrec.topic": "\(topic)", "crossrec.offset": "\(start)"])
                reader = candidate
            } catch {
                state.withLock { $0.lastError = "\(error)" }
                logger.warning("model topic not reachable yet; retrying", metadata: ["crossrec.topic": "\(topic)", LoggingKeys.error: "\(error)"])
                sleepUnlessStopping(seconds: 1)
            }
        }
        guard let reader else { return }
        startProbing()
        var follower = VersionFollower()
        while !stopping {
            lastLoopNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
            do {
                if let message = try reader.next(timeoutMs: 100) {
                    state.withLock { status in
                        status.bytesReceived += message.value.count
                        status.position = message.offset
                        status.lastContactNanos = DispatchTime.now().uptimeNanoseconds
                        status.lastError = nil
                    }
                    bytesCounter.increment(by: message.value.count)
                    take(follower.receive(offset: message.offset, key: message.key, value: message.value), &follower)
                    noteNewest(follower.newestManifest)
                }
            } catch {
                state.withLock { $0.lastError = "\(error)" }
            }
        }
    }

    /// Whether the topic is reachable: the broker answers fetches even when nothing is new,
    /// but those answers do not reach us, so a watermark query every 2 s, through a client of
    /// its own on a thread of its own. librdkafka's watermark query can wait on a broker that
    /// went down far past its timeout (over a minute with librdkafka 2.0.2); on the reading
    /// thread that held off SIGTERM and the watchdog's liveness. Nobody waits for this
    /// thread: a stop ends it with the process.
    private func startProbing() {
        let thread = Thread { [self] in
            guard let probe = try? PartitionReader(bootstrapServers: bootstrapServers, topic: topic, properties: properties, logger: logger)
            else { return }
            while !stopping {
                if (try? probe.watermarks(timeoutMs: 1_000)) != nil {
                    state.withLock { $0.lastContactNanos = DispatchTime.now().uptimeNanoseconds }
                }
                sleepUnlessStopping(seconds: 2, updatingLoopClock: false)
            }
        }
        thread.start()
    }

    /// Where the newest complete full version starts, from the last message's resume header;
    /// the low watermark when the header is absent or points to what retention deleted.
    private func startOffset(_ reader: PartitionReader) throws(KafkaError) -> Int64 {
        let (low, last) = try reader.tail()
        guard let resume = last?.resumeOffset, resume >= low else { return low }
        return resume
    }

    private func take(_ outcome: VersionFollower.Outcome, _ follower: inout VersionFollower) {
        let now = DispatchTime.now().uptimeNanoseconds
        switch outcome {
        case .pending:
            break
        case .ignored(let reason):
            state.withLock { $0.ignoredMessages += 1 }
            logger.debug("model topic message ignored", metadata: ["crossrec.reason": "\(reason)"])
        case .rejected(let version, let reason):
            reject(version: version, reason: reason, now: now)
        case .completed(let completed):
            let started = DispatchTime.now().uptimeNanoseconds
            switch built(completed) {
            case .failure(let problem):
                reject(version: completed.version, reason: problem.reason, now: now)
            case .success(let model):
                follower.accepted(completed)
                published.store(Published(model), ordering: .releasing)
                versionGauge.record(model.version)
                let isDelta = completed.manifest.patch != nil
                appliedCounters[isDelta ? "delta" : "full"]!.increment()
                let applyMillis = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                state.withLock { status in
                    status.served = completed.manifest
                    status.servedAtNanos = DispatchTime.now().uptimeNanoseconds
                    if isDelta { status.deltasApplied += 1 } else { status.fullApplied += 1 }
                    status.lastApplyMillis = applyMillis
                    status.lastLatencyMillis = Date().timeIntervalSince1970 * 1_000 - Double(completed.manifest.publishedUnixMillis)
                }
                logger.info(
                    "model version applied", metadata: [
                        "crossrec.version": "\(model.version)", "crossrec.kind": "\(isDelta ? "delta" : "full")",
                        "crossrec.bytes": "\(completed.bytes.count)", "crossrec.apply_ms": "\(applyMillis)",
                    ])
            }
        }
    }

    private struct Refusal: Error {
        var reason: String
    }

    /// The model a completed version describes: its encoding decoded, or its patch applied to
    /// the served model and checked against the checksum of the version's encoding.
    private func built(_ completed: VersionFollower.Completed) -> Result<ServingModel, Refusal> {
        guard let patch = completed.manifest.patch else {
            return Result { () throws(ArchiveError) in try ServingModel.decoded(completed.bytes) }
                .mapError { Refusal(reason: "does not decode: \($0)") }
        }
        guard let base = model, base.version == patch.base else {
            return .failure(Refusal(reason: "a patch of version \(patch.base), but this replica serves \(model.map { String($0.version) } ?? "none")"))
        }
        do {
            let patched = try base.applying(patch: completed.bytes)
            let (bytes, checksum) = ModelChunks.measure(patched)
            guard bytes == patch.modelBytes, checksum == patch.modelChecksum else {
                return .failure(Refusal(reason: "the patched version's encoding (\(bytes) bytes) does not match its checksum"))
            }
            return .success(patched)
        } catch {
            return .failure(Refusal(reason: "the patch does not apply: \(error)"))
        }
    }

    /// The newest manifest read, and since when a version newer than the served one waits.
    private func noteNewest(_ manifest: VersionManifest?) {
        guard let manifest else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { status in
            status.newest = manifest
            if manifest.version == status.served?.version {
                status.waitingSinceNanos = 0
            } else if status.waitingSinceNanos == 0 {
                status.waitingSinceNanos = now
            }
        }
    }

    private func reject(version: Int, reason: String, now: UInt64) {
        rejectedCounter.increment()
        let served = state.withLock { status in
            status.rejected += 1
            status.lastRejection = (version, reason, now)
            return status.served?.version
        }
        logger.error(
            "model version refused; the previous version keeps serving",
            metadata: ["crossrec.version": "\(version)", "crossrec.reason": "\(reason)", "crossrec.serving": "\(served.map(String.init) ?? "none")"])
    }

    private func sleepUnlessStopping(seconds: Double, updatingLoopClock: Bool = true) {
        let until = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while !stopping, DispatchTime.now().uptimeNanoseconds < until {
            if updatingLoopClock { lastLoopNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
            usleep(50_000)
        }
    }
}
