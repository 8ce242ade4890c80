internal import CRdKafka

/// Owns one `rd_kafka_topic_partition_list_t`; lent to C only through `withPointer`.
final class RDKafkaTopicPartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    /// False when librdkafka owns the list (rebalance callback argument): we must not free it.
    private let owned: Bool

    init(capacity: Int = 8) {
        pointer = rd_kafka_topic_partition_list_new(Int32(capacity))
        owned = true
    }

    /// Borrows a list that librdkafka owns for the duration of a callback.
    init(borrowing pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = false
    }

    /// Takes ownership of a list librdkafka returned to us (e.g. `rd_kafka_assignment`).
    init(adopting pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = true
    }

    convenience init(_ offsets: [TopicPartition: Int64]) {
        self.init(capacity: offsets.count)
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            add(partition, offset: offset)
        }
    }

    deinit {
        if owned { rd_kafka_topic_partition_list_destroy(pointer) }
    }

    func add(_ partition: TopicPartition, offset: Int64 = Int64(RD_KAFKA_OFFSET_INVALID)) {
        let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)!
        element.pointee.offset = offset
    }

    /// Entries as Swift values; `offset` is librdkafka's (may be a logical offset below zero).
    var entries: [(partition: TopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        (0..<Int(pointer.pointee.cnt)).map { index in
            let element = pointer.pointee.elems[index]
            return (TopicPartition(String(cString: element.topic), element.partition), element.offset, element.err)
        }
    }

    func setOffset(at index: Int, _ offset: Int64) {
        pointer.pointee.elems[index].offset = offset
    }

    func withPointer<T>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> T) rethrows -> T {
        try body(pointer)
    }
}
