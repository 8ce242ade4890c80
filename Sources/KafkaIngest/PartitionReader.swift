internal import CRdKafka
import Logging

/// One partition of one topic read from an offset the caller chooses, without a consumer
/// group: no subscription, no rebalance, nothing committed. Read replicas follow the model
/// topic with it, and a learner reads the topic's last message at start.
///
/// Not `Sendable`: one thread owns it (librdkafka's consume calls for one handle are meant
/// for one poller).
public final class PartitionReader {
    /// One message, copied out of librdkafka's buffers.
    public struct Message: Sendable {
        public var offset: Int64
        public var key: [UInt8]
        public var value: [UInt8]
        /// Header values by name (the last value when a name repeats).
        public var headers: [String: String]
        /// The message's timestamp (ms since the epoch; -1 when absent).
        public var timestampMillis: Int64

        public func header(_ name: String) -> String? { headers[name] }
    }

    public let topic: String
    public let partition: Int32
    private let handle: RDKafkaHandle
    private let logger: Logger

    /// - Parameter properties: client properties (security settings …), after ours.
    public init(bootstrapServers: String, topic: String, partition: Int32 = 0, properties: [String: String] = [:], logger: Logger)
        throws(KafkaError)
    {
        self.topic = topic
        self.partition = partition
        self.logger = logger
        // A group id is required by the consumer API even when nothing joins or commits.
        var all = [
            "bootstrap.servers": bootstrapServers, "group.id": "crossrec-partition-reader", "enable.auto.commit": "false",
            "enable.auto.offset.store": "false", "enable.partition.eof": "false", "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": "100", "fetch.message.max.bytes": "\(4 << 20)",
        ]
        all.merge(properties) { $1 }
        handle = try RDKafkaHandle(.consumer, config: RDKafkaConfig(all), logger: logger)
        rd_kafka_poll_set_consumer(handle.pointer)
    }

    deinit {
        rd_kafka_consumer_close(handle.pointer)
    }

    /// The partition's low and high watermarks (asks the broker: blocks up to `timeoutMs`).
    public func watermarks(timeoutMs: Int32 = 5_000) throws(KafkaError) -> (low: Int64, high: Int64) {
        var (low, high): (Int64, Int64) = (0, 0)
        let err = rd_kafka_query_watermark_offsets(handle.pointer, topic, partition, &low, &high, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.brokerUnavailable, err, context: "watermarks of \(topic)/\(partition)") }
        return (low, high)
    }

    /// Reads from `offset` on (an offset below the low watermark starts at the low watermark).
    public func start(at offset: Int64) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList()
        list.add(TopicPartition(topic, partition), offset: offset)
        let err = list.withPointer { rd_kafka_assign(handle.pointer, $0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.assignment, err, context: "assign \(topic)/\(partition)") }
    }

    /// The next message, waiting up to `timeoutMs`; nil on timeout. A fetch error (broker down,
    /// offset out of range) is thrown; reading goes on after it.
    public func next(timeoutMs: Int32) throws(KafkaError) -> Message? {
        // We own what consumer_poll returns: copied, then destroyed here.
        guard let message = rd_kafka_consumer_poll(handle.pointer, timeoutMs) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let rkm = message.pointee
        guard rkm.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .rdKafka(.brokerUnavailable, rkm.err, context: "fetch \(topic)/\(partition)")
        }
        let key = rkm.key.map { Array(UnsafeRawBufferPointer(start: $0, count: rkm.key_len)) } ?? []
        let value = rkm.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: rkm.len)) } ?? []
        var headers: [String: String] = [:]
        var list: OpaquePointer?
        // The header list belongs to the message: read before the message is destroyed.
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers[String(cString: name)] = bytes.map {
                        String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self)
                    } ?? ""
                }
                index += 1
            }
        }
        return Message(
            offset: rkm.offset, key: key, value: value, headers: headers, timestampMillis: rd_kafka_message_timestamp(message, nil))
    }

    /// The message at `offset`, read on its own: assigns, waits up to `timeoutMs` for it.
    /// Nil when it did not come in time (deleted by retention, or nothing there yet).
    public func message(at offset: Int64, timeoutMs: Int32 = 5_000) throws(KafkaError) -> Message? {
        try start(at: offset)
        var waited: Int32 = 0
        while waited < timeoutMs {
            if let message = try next(timeoutMs: 100), message.offset >= offset { return message.offset == offset ? message : nil }
            waited += 100
        }
        return nil
    }
}
