import CRdKafka
import Dispatch
import KafkaIngest
import Logging

/// The reference for the end-to-end consume benchmark: librdkafka's own consume loop with
/// nothing on top (no parse, no hand-off), on the same broker, topic and settings.
enum RawConsumeBenchmark {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Consumes `count` messages from every partition of `topic` (assigned directly) and returns
    /// the seconds from the first message to the last.
    /// Uses the librdkafka properties `settings` would give the real consumer, and the same
    /// handle setup (`RDKafkaHandle`), so the two runs differ only in what crossrec adds.
    static func run(settings: ConsumerSettings, topic: String, partitions: Int32, count: Int, logger: Logger) throws -> Double {
        let handle = try RDKafkaHandle(.consumer, config: RDKafkaConfig(settings.librdkafkaProperties), logger: logger)
        rd_kafka_poll_set_consumer(handle.pointer)
        let list = rd_kafka_topic_partition_list_new(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let err = rd_kafka_assign(handle.pointer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw Failure(description: "assign: \(String(cString: rd_kafka_err2str(err)))") }
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
