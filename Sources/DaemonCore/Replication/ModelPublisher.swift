import Dispatch
import Foundation
import KafkaIngest
import Logging
import Metrics
import RecModel
import Replication
import ServiceLifecycle
import Synchronization

/// Publishes every serving version the learner swaps in to the model topic
/// (`ReplicationTopic`): whole, or as a patch of the version it published last
/// (ServingModel+Patch.swift: the rows, index slots and seen lists that changed). The newest
/// version wins: versions built while one is being sent are skipped, never queued. A failed
/// publish is logged, shown in `health`, and retried with the newest version after a backoff.
///
/// Never stalls ingest or queries: `offer` stores a reference; encoding, diffing and producing
/// run on a thread of their own at background priority. Memory: with patches on
/// (`full_every` > 1), a reference to the model published last, which the learner's own
/// versions share most arrays with.
public final class ModelPublisher: Service, Sendable {
    public struct Status: Sendable {
        public var publishedVersion: Int?
        public var publishedUnixMillis: Int64 = 0
        public var fullVersions = 0
        public var deltas = 0
        /// Payload bytes produced (chunks), and of the last version.
        public var bytes = 0
        public var lastBytes = 0
        public var lastWasDelta = false
        public var lastPublishMillis = 0.0
        public var failures = 0
        public var consecutiveFailures = 0
        public var lastError: String?
    }

    public struct Settings: Sendable {
        public var topic: String
        public var fullEvery: Int
        public var maxDeltaShare: Double
        public var chunkBytes: Int
        public var pace = PublishPace(megabytesPerSecond: 0)
    }

    /// What a start reads from the topic's last message: the newest version there and where a
    /// replica starting now would read from.
    public struct Tail: Sendable, Equatable {
        public var version: Int
        public var resumeOffset: Int64
    }

    private let settings: Settings
    private let producer: KafkaProducer
    private let reader: Mutex<PartitionReader>
    private let logger: Logger
    private let pending = Mutex<ServingModel?>(nil)
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let state = Mutex(Status())
    /// Set at shutdown: a paced publish stops between chunks instead of waiting out its pace
    /// (the version's manifest is never sent, so replicas ignore the chunks already out).
    private let stopping = Atomic<Bool>(false)
    /// Owned by the publishing thread (one publish at a time): the base of the next delta and
    /// where the newest complete full version starts.
    private let chain: Mutex<(base: ServingModel?, sinceFull: Int, fullOffset: Int64)>
    private let versionGauge = Gauge(label: "crossrec_replication_published_version")
    private let fullBytes = Counter(label: "crossrec_replication_published_bytes_total", dimensions: [("kind", "full")])
    private let deltaBytes = Counter(label: "crossrec_replication_published_bytes_total", dimensions: [("kind", "delta")])
    private let failureCounter = Counter(label: "crossrec_replication_publish_failures_total")
    private let timer = Metrics.Timer(label: "crossrec_replication_publish_duration_seconds")

    public init(
        settings: Settings, bootstrapServers: String, properties: [String: String], tail: Tail?, logger: Logger
    ) throws(KafkaError) {
        self.settings = settings
        self.logger = logger
        // acks=all and idempotence: a chunk is either on the topic once or reported failed.
        var producerProperties = properties
        producerProperties["enable.idempotence"] = "true"
        producerProperties["message.max.bytes"] = producerProperties["message.max.bytes"] ?? "\(max(1_000_000, settings.chunkBytes + 64 * 1024))"
        producer = try KafkaProducer(bootstrapServers: bootstrapServers, properties: producerProperties, logger: logger)
        reader = Mutex(try PartitionReader(bootstrapServers: bootstrapServers, topic: settings.topic, properties: properties, logger: logger))
        chain = Mutex((nil, 0, tail?.resumeOffset ?? -1))
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var status: Status { state.withLock { $0 } }

    public var topic: String { settings.topic }

    /// Hands over a version just swapped in (cheap: a reference; the newest replaces any older
    /// one not yet sent).
    public func offer(_ model: ServingModel) {
        let newer = pending.withLock { current in
            guard current.map({ $0.version < model.version }) ?? true else { return false }
            current = model
            return true
        }
        if newer { wake.yield() }
    }

    public func run() async throws {
        var backoffSeconds = 1.0
        await withGracefulShutdownHandler {
            for await _ in wakes {
                while let model = pending.withLock({ current -> ServingModel? in defer { current = nil }; return current }) {
                    let result = await DedicatedThread.run(nice: DedicatedThread.backgroundNice) { [self] in
                        Result { () throws(KafkaError) in try publish(model) }
                    }
                    switch result {
                    case .success(false):
                        return
                    case .success(true):
                        backoffSeconds = 1
                    case .failure(let error):
                        let failures = state.withLock { status in
                            status.failures += 1
                            status.consecutiveFailures += 1
                            status.lastError = "\(error)"
                            return status.consecutiveFailures
                        }
                        failureCounter.increment()
                        logger.error(
                            "publishing a model version failed; retrying with the newest version",
                            metadata: [
                                "crossrec.version": "\(model.version)", LoggingKeys.error: "\(error)",
                                "crossrec.failures": "\(failures)", "crossrec.retry_seconds": "\(backoffSeconds)",
                            ])
                        // Retry this version unless a newer one came meanwhile.
                        pending.withLock { current in if current == nil { current = model } }
                        guard (try? await Task.sleep(for: .seconds(backoffSeconds))) != nil else { return }
                        backoffSeconds = min(backoffSeconds * 2, 30)
                    }
                }
            }
        } onGracefulShutdown: { [self] in
            stopping.store(true, ordering: .relaxed)
            wake.finish()
        }
    }

    /// Patches against the last published version (or encodes), produces the chunks then the
    /// manifest, and waits for every delivery. Runs on the publishing thread only. False: the
    /// daemon is stopping and the version was left unfinished.
    private func publish(_ model: ServingModel) throws(KafkaError) -> Bool {
        let started = DispatchTime.now().uptimeNanoseconds
        // The version's publishing time, in its manifest: before the patch or the encoding, so
        // that a replica's latency (`last_latency_ms`) counts the learner's work too.
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        var (base, sinceFull, fullOffset) = chain.withLock { $0 }
        var payload: [UInt8] = []
        var delta: PatchDescription?
        var lap = started
        /// Milliseconds since the previous lap (the debug log's split of a publish).
        func split() -> UInt64 {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { lap = now }
            return (now - lap) / 1_000_000
        }
        var patchMillis: UInt64 = 0
        if let base, sinceFull + 1 < settings.fullEvery, Self.mayPatch(model, from: base, maxDeltaShare: settings.maxDeltaShare),
            let patch = model.patch(from: base)
        {
            patchMillis = split()
            let (bytes, checksum) = ModelChunks.measure(model)
            if Double(patch.count) <= settings.maxDeltaShare * Double(bytes) {
                (delta, payload) = (PatchDescription(base: base.version, modelBytes: bytes, modelChecksum: checksum), patch)
            }
        }
        if delta == nil { payload = model.encoded() }
        let encodeMillis = split()
        // A full version starts at or after the current end of the partition: the offset a
        // replica reads from once its manifest is on the topic.
        let start = delta == nil ? try reader.withLock { reader throws(KafkaError) in try reader.watermarks().high } : fullOffset
        var (manifest, chunks) = ModelChunks.split(payload, version: model.version, chunkBytes: settings.chunkBytes, publishedUnixMillis: now)
        manifest.patch = delta
        let failedBefore = producer.failedDeliveries
        // Until this version's manifest is delivered, the newest complete full version is the previous one.
        let resumeBefore = [(ReplicationTopic.resumeHeader, "\(fullOffset)")]
        let firstChunk = DispatchTime.now().uptimeNanoseconds
        var sent = 0
        for chunk in chunks {
            guard waitForPace(sent: sent, since: firstChunk) else { return false }
            try producer.send(topic: settings.topic, partition: 0, key: Array(chunk.key.utf8), bytes: chunk.bytes, headers: resumeBefore)
            sent += chunk.bytes.count
        }
        try producer.flush()
        let sendMillis = split()
        let resume = [(ReplicationTopic.resumeHeader, "\(delta == nil ? start : fullOffset)")]
        try producer.send(
            topic: settings.topic, partition: 0, key: Array(ReplicationTopic.manifestKey(version: model.version).utf8),
            bytes: manifest.encoded(), headers: resume)
        try producer.flush()
        let failed = producer.failedDeliveries - failedBefore
        guard failed == 0 else { throw .make(.produce, "\(failed) of \(chunks.count + 1) messages of version \(model.version) not delivered") }
        if delta == nil { (sinceFull, fullOffset) = (0, start) } else { sinceFull += 1 }
        // Only patches need the version before.
        base = settings.fullEvery > 1 ? model : nil
        chain.withLock { $0 = (base, sinceFull, fullOffset) }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        timer.recordNanoseconds(Int64(elapsed))
        (delta == nil ? fullBytes : deltaBytes).increment(by: payload.count)
        versionGauge.record(model.version)
        state.withLock { status in
            status.publishedVersion = model.version
            status.publishedUnixMillis = now
            if delta == nil { status.fullVersions += 1 } else { status.deltas += 1 }
            status.bytes += payload.count
            status.lastBytes = payload.count
            status.lastWasDelta = delta != nil
            status.lastPublishMillis = Double(elapsed) / 1e6
            status.consecutiveFailures = 0
            status.lastError = nil
        }
        logger.debug(
            "model version published", metadata: [
                "crossrec.version": "\(model.version)", "crossrec.kind": "\(delta == nil ? "full" : "delta")",
                "crossrec.bytes": "\(payload.count)", "crossrec.model_bytes": "\(delta?.modelBytes ?? payload.count)", "crossrec.chunks": "\(chunks.count)",
                "crossrec.publish_ms": "\(elapsed / 1_000_000)",
                // A patch: diff, then the version's checksum; whole: the encoding. Then chunks
                // produced and delivered (the pace included).
                "crossrec.patch_ms": "\(patchMillis)", "crossrec.encode_or_checksum_ms": "\(encodeMillis)", "crossrec.send_ms": "\(sendMillis)",
            ])
        return true
    }

    /// Whether a patch of `base` is worth computing. A version on other projections than its
    /// base's (a full build) moves every row: its patch is about two thirds of the whole at
    /// 1 M users, sent whole at any share below 1, and computing it took the publishing thread
    /// 0.9–2 s per full version (`bench/replica-scale.sh`, debug log). Unknown bases are tried.
    static func mayPatch(_ model: ServingModel, from base: ServingModel, maxDeltaShare: Double) -> Bool {
        maxDeltaShare >= 1 || model.basisVersion == nil || model.basisVersion == base.basisVersion
    }

    /// Sleeps until `settings.pace` allows more than `sent` bytes, in slices short enough to
    /// notice a shutdown (false: stopping).
    private func waitForPace(sent: Int, since start: UInt64) -> Bool {
        while true {
            if stopping.load(ordering: .relaxed) { return false }
            let delay = settings.pace.delayNanos(sent: sent, elapsedNanos: DispatchTime.now().uptimeNanoseconds - start)
            if delay == 0 { return true }
            usleep(UInt32(min(delay, 50_000_000) / 1_000))
        }
    }

    /// The newest version on the topic and its resume offset, from the last message (nil: an
    /// empty topic). A learner numbers its versions after it, so that replicas see versions
    /// go up across the learner's restarts.
    public static func readTail(
        bootstrapServers: String, topic: String, properties: [String: String], logger: Logger
    ) throws(KafkaError) -> Tail? {
        let reader = try PartitionReader(bootstrapServers: bootstrapServers, topic: topic, properties: properties, logger: logger)
        guard let last = try reader.tail().last else { return nil }
        let version: Int? = switch ReplicationTopic.parse(key: last.key) {
        case .chunk(let version, _), .manifest(let version): version
        case nil: nil
        }
        guard let version else { return nil }
        return Tail(version: version, resumeOffset: last.resumeOffset)
    }
}

extension PartitionReader {
    /// The low watermark and the partition's last message (nil: empty, or gone before it was read).
    func tail() throws(KafkaError) -> (low: Int64, last: Message?) {
        let (low, high) = try watermarks()
        return (low, high > low ? try message(at: high - 1) : nil)
    }
}

extension PartitionReader.Message {
    /// The `crossrec.resume` header: where a replica starting now reads from (-1: none).
    var resumeOffset: Int64 { header(ReplicationTopic.resumeHeader).flatMap { Int64($0) } ?? -1 }
}
