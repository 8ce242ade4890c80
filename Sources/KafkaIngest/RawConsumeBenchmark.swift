internal import CRdKafka
import Dispatch
import Logging

/// The reference for the end-to-end consume benchmark: librdkafka's own consume loop with
/// nothing on top (no parse, no hand-off), on the same broker, topic and settings.
public enum RawConsumeBenchmark {
    /// Consumes `count` messages from every partition of `topic` (assigned directly) and returns
    /// the seconds from the first message to the last.
    /// Uses the librdkafka properties `settings` would give the real consumer, so the two runs
    /// differ only in what crossrec adds.
    public static func run(settings: ConsumerSettings, topic: String, partitions: Int32, count: Int, logger: Logger)
        throws(KafkaError) -> Double
    {
        let properties = settings.librdkafkaProperties
        let handle = try RDKafkaHandle(.consumer, config: RDKafkaConfig(properties), logger: logger)
        rd_kafka_poll_set_consumer(handle.pointer)
        let list = RDKafkaTopicPartitionList()
        for partition in 0..<partitions { list.add(TopicPartition(topic, partition), offset: Int64(RD_KAFKA_OFFSET_BEGINNING)) }
        let err = list.withPointer { rd_kafka_assign(handle.pointer, $0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.assignment, err, context: "assign") }
        var received = 0
        var start: UInt64 = 0
        var checksum = 0
        while received < count {
            guard let message = rd_kafka_consumer_poll(handle.pointer, 100) else { continue }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if received == 0 { start = DispatchTime.now().uptimeNanoseconds }
                received += 1
                checksum &+= message.pointee.len  // touch the message like a real consumer would
            }
            rd_kafka_message_destroy(message)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        rd_kafka_consumer_close(handle.pointer)
        _ = checksum
        return seconds
    }
}
