/// One consumed message, parsed, as handed to the stream consumer.
public struct IngestRecord: Sendable, Equatable {
    /// Index into `ConsumerSettings.topics`: which domain this event belongs to.
    public var topicIndex: Int
    public var partition: Int32
    public var offset: Int64
    /// Rejected records are already counted, logged and dead-lettered by the consumer; they are
    /// delivered anyway so that the owner's position advances past them.
    public var outcome: ParseOutcome
    /// The message's Kafka timestamp (ms), the event time of events that carry none: it is part
    /// of the message, so a replay sees the same value.
    public var kafkaTimestampMillis: Int64?

    public init(topicIndex: Int, partition: Int32, offset: Int64, outcome: ParseOutcome, kafkaTimestampMillis: Int64? = nil) {
        self.topicIndex = topicIndex
        self.partition = partition
        self.offset = offset
        self.outcome = outcome
        self.kafkaTimestampMillis = kafkaTimestampMillis
    }
}

/// Compact key of a partition of a configured topic (cheaper to hash than `TopicPartition`).
public struct PartitionKey: Hashable, Sendable, Comparable {
    public var topicIndex: Int
    public var partition: Int32

    public init(topicIndex: Int, partition: Int32) {
        self.topicIndex = topicIndex
        self.partition = partition
    }

    public static func < (lhs: PartitionKey, rhs: PartitionKey) -> Bool {
        (lhs.topicIndex, lhs.partition) < (rhs.topicIndex, rhs.partition)
    }
}

/// Next offset to apply per partition, kept by the single owner of the state.
///
/// `admit` is the exactly-once gate: a record whose offset is below the position was already
/// applied (redelivered after a seek or a rebalance) and is skipped. Batches come in runs of
/// one partition, so the current partition's position is kept outside the dictionary.
public struct OffsetTracker: Sendable, Equatable {
    private var stored: [PartitionKey: Int64]
    private var currentKey: PartitionKey?
    /// Next offset of `currentKey`; `Int64.min` when it has no position yet.
    private var currentNext: Int64 = .min

    public init(positions: [PartitionKey: Int64] = [:]) {
        stored = positions
    }

    public var positions: [PartitionKey: Int64] {
        var all = stored
        if let currentKey, currentNext != .min { all[currentKey] = currentNext }
        return all
    }

    /// Drops the position of a partition that restarts from the reset policy.
    public mutating func forget(_ key: PartitionKey) {
        if currentKey == key { currentNext = .min }
        stored[key] = nil
    }

    /// True when the record is new to the state; advances the position past it.
    @inline(__always)
    public mutating func admit(_ record: IngestRecord) -> Bool {
        let key = PartitionKey(topicIndex: record.topicIndex, partition: record.partition)
        if key != currentKey {
            if let currentKey, currentNext != .min { stored[currentKey] = currentNext }
            currentKey = key
            currentNext = stored[key] ?? .min
        }
        guard record.offset >= currentNext else { return false }
        currentNext = record.offset + 1
        return true
    }

    public static func == (lhs: OffsetTracker, rhs: OffsetTracker) -> Bool { lhs.positions == rhs.positions }
}
