/// One consumed topic and how its messages become events of a domain.
public struct TopicSettings: Sendable, Equatable {
    public var name: String
    public var domain: String
    public var format: EventFormat
    public var ratingRange: ClosedRange<Double>

    public init(name: String, domain: String, format: EventFormat = .json, ratingRange: ClosedRange<Double>) {
        self.name = name
        self.domain = domain
        self.format = format
        self.ratingRange = ratingRange
    }
}

/// What the consumer needs; everything else goes through `extra` to librdkafka unchanged.
public struct ConsumerSettings: Sendable {
    /// How partitions are obtained.
    public enum Assignment: Sendable, Equatable {
        /// Join `groupID` and let the group balance partitions (rebalances handled).
        case group
        /// Take exactly these partitions (no group join; commits still go to `groupID`).
        case manual([TopicPartition])
    }

    public var bootstrapServers: String
    public var groupID: String
    public var topics: [TopicSettings]
    public var assignment: Assignment = .group
    /// Where to start a partition with neither a supplied nor a committed offset.
    public var autoOffsetReset: String = "earliest"
    public var sessionTimeoutMs: Int = 10_000
    /// Records buffered between the poll thread and the stream consumer before partitions are
    /// paused (resumed below half of it). Bounds memory without ever dropping a message.
    public var maxBufferedRecords: Int = 100_000
    /// Records handed over in one batch at most.
    public var batchSize: Int = 2_048
    /// When set, rejected messages are produced here with the reason in a header.
    public var deadLetterTopic: String?
    /// Rejection log lines per second at most; the rest are counted and summarized.
    public var rejectLogsPerSecond: Int = 10
    /// Passed to librdkafka after our settings, so an operator can override anything.
    public var extra: [String: String] = [:]

    public init(bootstrapServers: String, groupID: String, topics: [TopicSettings]) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.topics = topics
    }

    /// The librdkafka properties of the consumer handle (also the raw-consume benchmark's).
    package var librdkafkaProperties: [String: String] {
        var properties = [
            "bootstrap.servers": bootstrapServers,
            "group.id": groupID,
            // Offsets are committed by the owner of the state, only after it is durable.
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": autoOffsetReset,
            "session.timeout.ms": String(sessionTimeoutMs),
            "enable.partition.eof": "false",
            // librdkafka 2.0.2 stops fetching for a hard-coded 1 s once the local queue holds
            // queued.min.messages (fetch.queue.backoff.ms only arrived in 2.2): with the default
            // 100 000 a consumer that falls behind briefly stalls for a second at a time. Memory
            // stays bounded by queued.max.messages.kbytes (64 MiB default).
            "queued.min.messages": "1000000",
        ]
        properties.merge(extra) { $1 }
        return properties
    }
}
