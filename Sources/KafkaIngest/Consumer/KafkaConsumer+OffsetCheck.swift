internal import CRdKafka
import Dispatch
import Logging

/// Positions the owner asks for that Kafka no longer has (retention deleted them, or the topic
/// was recreated and is shorter): reported loudly, then the partition starts over from
/// `auto.offset.reset`, and the owner is told to drop its position for it.
extension KafkaConsumer {
    /// A reset of an unavailable position, for logs, `health` and `stats`.
    public struct OffsetReset: Sendable, Equatable {
        public var partition: TopicPartition
        public var requested: Int64
        public var low: Int64
        public var high: Int64
        /// Monotonic ns when it happened.
        public var atNanos: UInt64

        public var description: String {
            "\(partition) position \(requested) is no longer in Kafka (log holds \(low)..<\(high)); restarted from auto.offset.reset"
        }
    }

    /// The owner's position for `partition` if Kafka still holds it; otherwise the reset
    /// policy's logical offset, after logging, counting and marking the reset for the owner.
    /// Runs on the poll thread (rebalance) or at start: the watermark query blocks (≤ 5 s).
    func checkedStartOffset(for partition: TopicPartition) -> Int64 {
        let start = startOffset(for: partition)
        guard start >= 0, let key = partitionKey(partition) else { return start }
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle.pointer, partition.topic, partition.partition, &low, &high, 5_000)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            logger.warning(
                "watermark query failed; seeking to the stored position unchecked",
                metadata: [LoggingKeys.partitions: "\(partition)", LoggingKeys.error: "\(String(cString: rd_kafka_err2str(err)))"])
            return start
        }
        guard start < low || start > high else { return start }
        let reset = OffsetReset(
            partition: partition, requested: start, low: low, high: high, atNanos: DispatchTime.now().uptimeNanoseconds)
        logger.error(
            "stored position no longer available in Kafka: events were lost to retention or the topic was recreated",
            metadata: [
                LoggingKeys.partitions: "\(partition)", "kafka.requested_offset": "\(start)",
                "kafka.low_watermark": "\(low)", "kafka.high_watermark": "\(high)",
                "kafka.auto_offset_reset": "\(settings.autoOffsetReset)",
            ])
        if let index = topicIndex[partition.topic] { counters.offsetReset(topicIndex: index) }
        offsetResets.withLock { $0.append(reset) }
        positions.markReset(key)
        return settings.autoOffsetReset == "latest" ? Int64(RD_KAFKA_OFFSET_END) : Int64(RD_KAFKA_OFFSET_BEGINNING)
    }

    /// Every reset of an unavailable position since start.
    public var resets: [OffsetReset] { offsetResets.withLock { $0 } }

    func partitionKey(_ partition: TopicPartition) -> PartitionKey? {
        topicIndex[partition.topic].map { PartitionKey(topicIndex: $0, partition: partition.partition) }
    }
}
