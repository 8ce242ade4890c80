/// Messages as the poll thread hands them over: payloads copied into one byte arena, metadata
/// beside them. Parsing happens on the stream consumer's thread (`KafkaConsumer.nextBatch`),
/// which keeps the poll loop short and splits the per-message work across two threads.
struct RawBatch: Sendable {
    struct Record: Sendable {
        /// Index into the configured topics; -1 for a topic that is not configured.
        var topicIndex: Int32
        var partition: Int32
        var offset: Int64
        /// Kafka message timestamp (ms), -1 when absent.
        var timestampMillis: Int64
        var payloadStart: Int32
        var payloadCount: Int32
        /// The message key's bytes follow the payload's in the arena; -1: no key.
        var keyCount: Int32
        /// The message had no value at all (a tombstone), not an empty one.
        var isNull: Bool
    }

    var arena: [UInt8] = []
    var records: [Record] = []
    /// Names of unconfigured topics, by record index (rare: only for logs and dead letters).
    var unknownTopics: [Int: String] = [:]

    var isEmpty: Bool { records.isEmpty }

    init(capacity: Int) {
        records.reserveCapacity(capacity)
        arena.reserveCapacity(capacity * 96)
    }

    mutating func append(
        topicIndex: Int?, topicName: () -> String, partition: Int32, offset: Int64, timestampMillis: Int64,
        payload: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer?
    ) {
        if topicIndex == nil { unknownTopics[records.count] = topicName() }
        // Keys are kept for dead letters only, but copying a few bytes here is cheaper than
        // keeping the librdkafka message alive until the parse.
        records.append(
            Record(
                topicIndex: Int32(topicIndex ?? -1), partition: partition, offset: offset, timestampMillis: timestampMillis,
                payloadStart: Int32(arena.count), payloadCount: Int32(payload.count), keyCount: Int32(key?.count ?? -1),
                isNull: payload.baseAddress == nil))
        arena.append(contentsOf: payload)
        if let key { arena.append(contentsOf: key) }
    }

    /// Drops the records of these partitions (their bytes stay in the arena, unreferenced).
    mutating func removeRecords(of partitions: Set<PartitionKey>) -> Int {
        let before = records.count
        records.removeAll { partitions.contains(PartitionKey(topicIndex: Int($0.topicIndex), partition: $0.partition)) }
        return before - records.count
    }
}
