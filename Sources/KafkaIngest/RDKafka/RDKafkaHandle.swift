internal import CRdKafka
import Logging

/// Owns one `rd_kafka_t` (producer or consumer) and the context its callbacks reach.
/// Package-wide: the raw-consume benchmark drives librdkafka's own loop on one.
package final class RDKafkaHandle {
    package let pointer: OpaquePointer
    /// Kept alive here: librdkafka holds only an unretained pointer to it (see `install`).
    let context: RDKafkaClientContext

    package enum Kind {
        case producer, consumer
    }

    /// - Parameter queuedLogs: serve logs from our own poll calls (true) or let librdkafka's
    ///   threads call the log callback directly (false, for handles nobody polls: the dev broker's).
    package init(_ kind: Kind, config: RDKafkaConfig, logger: Logger, queuedLogs: Bool = true) throws(KafkaError) {
        let context = RDKafkaClientContext(logger: logger)
        try context.install(on: config, kind: kind, queuedLogs: queuedLogs)
        var errstr = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        // rd_kafka_new takes ownership of the conf only when it succeeds; on failure we still own it.
        guard let conf = config.pointer, let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            let message = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .make(.clientCreation, message)
        }
        _ = config.take()
        self.pointer = rk
        self.context = context
        // Forward logs to the main queue (served by rd_kafka_poll, or by consumer_poll once
        // rd_kafka_poll_set_consumer forwards the main queue to the consumer queue).
        if queuedLogs { rd_kafka_set_log_queue(rk, nil) }
    }

    deinit {
        // Must not run on a librdkafka thread; our owners release handles from their own threads.
        rd_kafka_destroy(pointer)
    }

    /// Serves queued callbacks (logs, delivery reports, errors) for up to `timeoutMs`.
    @discardableResult
    func poll(timeoutMs: Int32) -> Int32 {
        rd_kafka_poll(pointer, timeoutMs)
    }
}
