internal import CRdKafka
import Foundation
import Logging
import Synchronization

/// Consumes the configured domain topics on its own poll thread and hands parsed batches to
/// one stream consumer (`nextBatch`), with bounded buffering.
///
/// Guarantees: on every assignment a partition is sought to the owner's applied position
/// (`AppliedPositions`), else the group's committed offset, else `auto.offset.reset`; buffered
/// records of revoked partitions are dropped before the revocation completes; offsets are
/// committed only through `commit`. Rejected messages are counted, logged at a bounded rate,
/// dead-lettered when configured, and still delivered so that positions advance past them.
///
/// `@unchecked Sendable`: the C handle is used by the poll thread (poll, assign, pause) and by
/// callers for thread-safe librdkafka calls only (commit, watermarks); Swift state touched from
/// several threads is in `Mutex`/`Atomic` or the `RecordBuffer`; the rest is poll-thread-only
/// (`PollState`), created before the thread starts and used by it alone.
public final class KafkaConsumer: @unchecked Sendable {
    public let settings: ConsumerSettings
    public let counters: IngestCounters
    public let positions: AppliedPositions
    let logger: Logger
    let handle: RDKafkaHandle
    let buffer = RecordBuffer()
    /// The dead-letter topic and its producer: both may change at a reload (`setDeadLetterTopic`).
    let deadLetterState: Mutex<(topic: String?, producer: KafkaProducer?)>
    let parsers: [EventParser]
    let topicIndex: [String: Int]
    /// Partitions currently assigned, for lag reporting.
    let assigned = Mutex<Set<TopicPartition>>([])
    /// Positions found unavailable at assignment (see `checkedStartOffset`).
    let offsetResets = Mutex<[OffsetReset]>([])
    let stopRequested = Atomic<Bool>(false)
    let pollThreadDone = DispatchSemaphore(value: 0)
    /// Set by the poll thread on every loop turn: a wedged loop stops updating it.
    let lastPollNanos = Atomic<UInt64>(0)
    /// Set by the poll thread whenever a batch brought messages.
    let lastMessageNanos = Atomic<UInt64>(0)
    var pollState: PollState
    /// Rejection log limiter, used by whichever thread parses (the stream consumer's).
    let rejectLog: Mutex<RateLimitedLog>
    private let started = Atomic<Bool>(false)

    public init(settings: ConsumerSettings, positions: AppliedPositions = AppliedPositions(), logger: Logger)
        throws(KafkaError)
    {
        precondition(!settings.topics.isEmpty, "a consumer needs at least one topic")
        self.settings = settings
        self.positions = positions
        self.logger = logger
        counters = IngestCounters(topics: settings.topics.map(\.name))
        parsers = settings.topics.map { EventParser(format: $0.format, ratingRange: $0.ratingRange) }
        topicIndex = Dictionary(settings.topics.enumerated().map { ($1.name, $0) }) { first, _ in first }
        handle = try RDKafkaHandle(.consumer, config: RDKafkaConfig(settings.librdkafkaProperties), logger: logger)
        if let topic = settings.deadLetterTopic {
            deadLetterState = Mutex((topic, try Self.deadLetterProducer(settings, logger: logger)))
            logger.info("dead-letter topic configured", metadata: [LoggingKeys.topic: "\(topic)"])
        } else {
            deadLetterState = Mutex((nil, nil))
        }
        pollState = PollState(pending: RawBatch(capacity: settings.batchSize))
        rejectLog = Mutex(RateLimitedLog(perSecond: settings.rejectLogsPerSecond))
        // Serve logs, errors and rebalances from consumer_poll on our poll thread.
        rd_kafka_poll_set_consumer(handle.pointer)
    }

    /// Subscribes (or assigns) and starts the poll thread.
    public func start() throws(KafkaError) {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else {
            throw .make(.state, "consumer already started")
        }
        // Set before subscribe: the first rebalance can only arrive after it.
        handle.context.rebalance = { [unowned self] err, list in rebalance(err, list) }
        switch settings.assignment {
        case .group:
            let list = RDKafkaTopicPartitionList()
            for topic in settings.topics { list.add(TopicPartition(topic.name, RD_KAFKA_PARTITION_UA)) }
            let err = list.withPointer { rd_kafka_subscribe(handle.pointer, $0) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.subscription, err, context: "subscribe") }
        case .manual(let partitions):
            let list = RDKafkaTopicPartitionList()
            for partition in partitions { list.add(partition, offset: checkedStartOffset(for: partition)) }
            let err = list.withPointer { rd_kafka_assign(handle.pointer, $0) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.assignment, err, context: "assign") }
            assigned.withLock { $0 = Set(partitions) }
        }
        let thread = Thread { [self] in runPollLoop() }
        thread.name = "crossrec-kafka-poll"
        thread.start()
    }

    /// Stops the poll thread, leaves the group (revoking every partition) and waits for it.
    /// Already buffered batches stay available to `nextBatch` until drained.
    public func stop() {
        guard started.load(ordering: .acquiring), !stopRequested.exchange(true, ordering: .acquiringAndReleasing)
        else { return }
        pollThreadDone.wait()
    }

    /// The next batch, parsed on the calling thread, waiting up to `timeoutSeconds`; nil on
    /// timeout or once stopped and drained. One stream consumer calls this (rejections are
    /// counted, logged and dead-lettered here).
    public func nextBatch(timeoutSeconds: Double = 0.1) -> [IngestRecord]? {
        buffer.pop(timeoutSeconds: timeoutSeconds).map(parse)
    }

    /// Changes (or disables, with nil) where rejected messages go; the producer is created the
    /// first time one is needed and kept.
    public func setDeadLetterTopic(_ topic: String?) throws(KafkaError) {
        var producer = deadLetterState.withLock { $0.producer }
        if producer == nil, topic != nil {
            producer = try Self.deadLetterProducer(settings, logger: logger)
        }
        deadLetterState.withLock { [producer] in $0 = (topic, producer) }
        logger.info("dead-letter topic set", metadata: [LoggingKeys.topic: "\(topic ?? "none")"])
    }

    var deadLetter: KafkaProducer? { deadLetterState.withLock { $0.producer } }

    /// The dead-letter producer takes the consumer's client properties (`kafka.properties`):
    /// a secured cluster's SSL/SASL settings apply to both. Consumer-only ones are left out, so
    /// librdkafka has nothing to warn about.
    static func deadLetterProducer(_ settings: ConsumerSettings, logger: Logger) throws(KafkaError) -> KafkaProducer {
        let consumerOnly: Set<String> = [
            "group.id", "group.instance.id", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
            "auto.offset.reset", "enable.auto.commit", "enable.auto.offset.store", "auto.commit.interval.ms",
            "queued.min.messages", "queued.max.messages.kbytes", "fetch.wait.max.ms", "fetch.min.bytes", "fetch.max.bytes",
            "fetch.message.max.bytes", "max.partition.fetch.bytes", "partition.assignment.strategy", "isolation.level",
            "check.crcs", "enable.partition.eof", "fetch.error.backoff.ms", "group.protocol.type", "coordinator.query.interval.ms",
        ]
        return try KafkaProducer(
            bootstrapServers: settings.bootstrapServers, properties: settings.extra.filter { !consumerOnly.contains($0.key) },
            logger: logger)
    }

    /// True once `stop` was called: the group was (or is being) left, commits are pointless.
    public var isStopping: Bool { stopRequested.load(ordering: .acquiring) }

    /// True once the consumer stopped and every buffered batch was taken.
    public var isDrained: Bool { buffer.isDrained }

    /// Commits exactly these next-offsets to the group (synchronous; call off the poll thread).
    public func commit(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(offsets)
        let err = list.withPointer { rd_kafka_commit(handle.pointer, $0, 0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .rdKafka(.commit, err, context: "commit \(offsets.count) partitions")
        }
        for entry in list.entries where entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .rdKafka(.commit, entry.error, context: "commit \(entry.partition)")
        }
    }

    /// The group's committed next-offsets for these partitions (nil entries: none committed).
    public func committed(_ partitions: [TopicPartition], timeoutMs: Int32 = 10_000) throws(KafkaError)
        -> [TopicPartition: Int64]
    {
        let list = RDKafkaTopicPartitionList(capacity: partitions.count)
        for partition in partitions { list.add(partition) }
        let err = list.withPointer { rd_kafka_committed(handle.pointer, $0, timeoutMs) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.commit, err, context: "committed") }
        var result: [TopicPartition: Int64] = [:]
        for entry in list.entries where entry.offset >= 0 { result[entry.partition] = entry.offset }
        return result
    }

    /// Lag per assigned partition: high watermark (as last fetched) minus the applied position.
    public func lag() -> [PartitionLag] {
        let partitions = assigned.withLock { $0 }.sorted()
        return partitions.map { partition in
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_get_watermark_offsets(handle.pointer, partition.topic, partition.partition, &low, &high)
            let known = err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0
            let key = topicIndex[partition.topic].map { PartitionKey(topicIndex: $0, partition: partition.partition) }
            return PartitionLag(
                partition: partition, position: key.flatMap { positions.position($0) }, highWatermark: known ? high : nil)
        }
    }

    /// Partitions currently assigned to this member.
    public var assignment: Set<TopicPartition> { assigned.withLock { $0 } }

    /// The client's last error (e.g. all brokers down), if it came after the last message
    /// consumed: the consumer is then cut off from Kafka.
    public var unresolvedError: String? {
        guard let error = handle.context.lastError.withLock({ $0 }) else { return nil }
        return error.atNanos > lastMessageNanos.load(ordering: .relaxed) ? error.message : nil
    }

    /// Nanoseconds (monotonic) of the poll loop's last turn, for liveness checks.
    public var lastPollTime: UInt64 { lastPollNanos.load(ordering: .relaxed) }

    /// Where a partition starts: the owner's applied position, else librdkafka's choice
    /// (`RD_KAFKA_OFFSET_INVALID` = committed offset, else `auto.offset.reset`).
    func startOffset(for partition: TopicPartition) -> Int64 {
        guard let index = topicIndex[partition.topic],
            let position = positions.position(PartitionKey(topicIndex: index, partition: partition.partition))
        else { return Int64(RD_KAFKA_OFFSET_INVALID) }
        return position
    }
}
