internal import CRdKafka
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A plain producer: the CLI's `produce`, the dead-letter sink and the tests use it.
///
/// `@unchecked Sendable`: librdkafka's produce, poll and flush calls are thread-safe on one
/// handle, and this class holds no other mutable state.
public final class KafkaProducer: @unchecked Sendable {
    private let handle: RDKafkaHandle

    /// - Parameter properties: passed through to librdkafka after our defaults.
    public init(bootstrapServers: String, properties: [String: String] = [:], logger: Logger) throws(KafkaError) {
        var all = ["bootstrap.servers": bootstrapServers, "linger.ms": "5", "enable.idempotence": "false"]
        all.merge(properties) { $1 }
        handle = try RDKafkaHandle(.producer, config: RDKafkaConfig(all), logger: logger)
    }

    /// Deliveries that failed after librdkafka's retries (counted when `poll`/`flush` serve reports).
    public var failedDeliveries: Int { handle.context.failedDeliveries.load(ordering: .relaxed) }

    /// Queues one message (payload copied). Waits while librdkafka's local queue is full, serving
    /// delivery reports, up to `queueFullTimeoutMs`.
    public func send(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: UnsafeRawBufferPointer,
        headers: [(String, String)] = [], queueFullTimeoutMs: Int = 30_000
    ) throws(KafkaError) {
        var waitedMs = 0
        while true {
            let err = produce(topic: topic, partition: partition, key: key, value: value, headers: headers)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL, waitedMs < queueFullTimeoutMs else {
                throw .rdKafka(.produce, err, context: "produce to \(topic)")
            }
            handle.poll(timeoutMs: 10)
            waitedMs += 10
        }
    }

    public func send(
        topic: String, partition: Int32? = nil, key: String? = nil, value: String, headers: [(String, String)] = []
    ) throws(KafkaError) {
        try send(topic: topic, partition: partition, key: key.map { Array($0.utf8) }, bytes: Array(value.utf8), headers: headers)
    }

    public func send(
        topic: String, partition: Int32? = nil, key: [UInt8]?, bytes: [UInt8], headers: [(String, String)] = []
    ) throws(KafkaError) {
        let result: Result<Void, KafkaError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(KafkaError) in
                try send(topic: topic, partition: partition, key: key, value: buffer, headers: headers)
            }
        }
        try result.get()
    }

    /// Serves delivery reports and logs without blocking longer than `timeoutMs`.
    public func poll(timeoutMs: Int32 = 0) {
        handle.poll(timeoutMs: timeoutMs)
    }

    /// The low and high watermarks of every partition of `topic`, by partition (metadata and
    /// watermark queries: each blocks up to `timeoutMs`).
    public func watermarks(topic: String, timeoutMs: Int32 = 5_000) throws(KafkaError) -> [Int32: (low: Int64, high: Int64)] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let topicHandle = rd_kafka_topic_new(handle.pointer, topic, nil)
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        let err = rd_kafka_metadata(handle.pointer, 0, topicHandle, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw .rdKafka(.brokerUnavailable, err, context: "metadata of \(topic)") }
        // The metadata is librdkafka's allocation: read it, then give it back.
        defer { rd_kafka_metadata_destroy(metadata) }
        var partitions: [Int32] = []
        for t in 0..<Int(metadata.pointee.topic_cnt) where String(cString: metadata.pointee.topics[t].topic) == topic {
            let entry = metadata.pointee.topics[t]
            for p in 0..<Int(entry.partition_cnt) { partitions.append(entry.partitions[p].id) }
        }
        var result: [Int32: (low: Int64, high: Int64)] = [:]
        for partition in partitions {
            var (low, high): (Int64, Int64) = (0, 0)
            let err = rd_kafka_query_watermark_offsets(handle.pointer, topic, partition, &low, &high, timeoutMs)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.brokerUnavailable, err, context: "watermarks of \(topic)/\(partition)") }
            result[partition] = (low, high)
        }
        return result
    }

    /// Waits until every queued message is delivered or failed.
    public func flush(timeoutMs: Int32 = 30_000) throws(KafkaError) {
        let err = rd_kafka_flush(handle.pointer, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.produce, err, context: "flush") }
    }

    private func produce(
        topic: String, partition: Int32?, key: [UInt8]?, value: UnsafeRawBufferPointer, headers: [(String, String)]
    ) -> rd_kafka_resp_err_t {
        // rd_kafka_produceva copies the payload (RD_KAFKA_MSG_F_COPY) and header values, so every
        // pointer below only needs to live for the duration of the call.
        topic.withCString { topicName in
            var fields: [rd_kafka_vu_t] = []
            var field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_TOPIC
            field.u.cstr = topicName
            fields.append(field)
            field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_PARTITION
            field.u.i32 = partition ?? RD_KAFKA_PARTITION_UA
            fields.append(field)
            field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
            field.u.i = RD_KAFKA_MSG_F_COPY
            fields.append(field)
            field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_VALUE
            field.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
            field.u.mem.size = value.count
            fields.append(field)
            let headerNames = headers.map { strdup($0.0) }
            let headerValues = headers.map { Array($0.1.utf8) }
            defer { headerNames.forEach { free($0) } }
            return withKey(key) { keyPointer, keyCount in
                if keyCount > 0 {
                    field = rd_kafka_vu_t()
                    field.vtype = RD_KAFKA_VTYPE_KEY
                    field.u.mem.ptr = keyPointer
                    field.u.mem.size = keyCount
                    fields.append(field)
                }
                return withHeaderValues(headerValues) { valuePointers in
                    for (index, name) in headerNames.enumerated() {
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_HEADER
                        field.u.header.name = UnsafePointer(name)
                        field.u.header.val = valuePointers[index].0
                        field.u.header.size = valuePointers[index].1
                        fields.append(field)
                    }
                    let error = fields.withUnsafeBufferPointer { rd_kafka_produceva(handle.pointer, $0.baseAddress, $0.count) }
                    guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
                    defer { rd_kafka_error_destroy(error) }  // we own the returned error object
                    return rd_kafka_error_code(error)
                }
            }
        }
    }
}

private func withKey<T>(_ key: [UInt8]?, _ body: (UnsafeMutableRawPointer?, Int) -> T) -> T {
    guard var key, !key.isEmpty else { return body(nil, 0) }
    return key.withUnsafeMutableBytes { body($0.baseAddress, $0.count) }
}

/// Keeps every header value's bytes alive for the duration of `body`.
private func withHeaderValues<T>(_ values: [[UInt8]], _ body: ([(UnsafeRawPointer?, Int)]) -> T) -> T {
    func recurse(_ index: Int, _ collected: [(UnsafeRawPointer?, Int)]) -> T {
        guard index < values.count else { return body(collected) }
        return values[index].withUnsafeBytes { recurse(index + 1, collected + [($0.baseAddress, $0.count)]) }
    }
    return recurse(0, [])
}
