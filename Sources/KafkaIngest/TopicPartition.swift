/// One partition of one topic; the key of every offset map.
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// How far behind the end of its partition the consumer is, in messages.
public struct PartitionLag: Sendable, Equatable {
    public var partition: TopicPartition
    /// Next offset the consumer will hand out (last delivered + 1), or nil before the first message.
    public var position: Int64?
    /// Offset the broker will give the next produced message, as last seen by the fetcher.
    public var highWatermark: Int64?
    /// `highWatermark - position`, when both are known.
    public var lag: Int64? {
        guard let position, let highWatermark else { return nil }
        return max(0, highWatermark - position)
    }
}
