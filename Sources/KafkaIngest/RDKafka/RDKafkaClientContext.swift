internal import CRdKafka
import Dispatch
import Logging
import Synchronization

/// What librdkafka's callbacks reach through the client's `opaque` pointer.
///
/// `@unchecked Sendable`: the callbacks run on whichever thread serves the client's queue
/// (the consumer's poll thread, or the thread calling `rd_kafka_poll` for a producer). The
/// handler closures are set once, before the client can deliver the event they handle
/// (before `subscribe`, before the first produce), and never changed after: the C call that
/// enables the event orders the write before every read. The counter is atomic.
final class RDKafkaClientContext: @unchecked Sendable {
    let logger: Logger
    /// Set before `subscribe`; called on the poll thread with a list librdkafka owns.
    var rebalance: ((rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    /// Producer delivery failures, counted for callers that must not lose data silently.
    let failedDeliveries = Atomic<Int>(0)
    /// Last client-level error (e.g. all brokers down) and when it came (monotonic ns), for
    /// health reporting.
    let lastError = Mutex<(message: String, atNanos: UInt64)?>(nil)

    init(logger: Logger) {
        self.logger = logger
    }

    /// Registers every callback on `conf`; the conf keeps an unretained pointer to `self`, so the
    /// owning `RDKafkaHandle` must keep `self` alive until after `rd_kafka_destroy`.
    func install(on config: RDKafkaConfig, kind: RDKafkaHandle.Kind, queuedLogs: Bool) throws(KafkaError) {
        guard let conf = config.pointer else { throw .make(.state, "configuration already consumed") }
        // Logs are served from the poll call of our own thread instead of librdkafka's.
        if queuedLogs { try config.set("log.queue", "true") }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdkafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdkafkaErrorCallback)
        // Each kind gets only its own callbacks (librdkafka warns about the others).
        switch kind {
        case .consumer: rd_kafka_conf_set_rebalance_cb(conf, rdkafkaRebalanceCallback)
        case .producer: rd_kafka_conf_set_dr_msg_cb(conf, rdkafkaDeliveryCallback)
        }
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaClientContext? {
        guard let opaque else { return nil }
        return Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// librdkafka's syslog-style levels mapped onto swift-log.
private func logLevel(_ syslogLevel: Int32) -> Logger.Level {
    switch syslogLevel {
    case ...2: .critical
    case 3: .error
    case 4: .warning
    case 5: .notice
    case 6: .info
    default: .debug
    }
}

private func rdkafkaLogCallback(
    rk: OpaquePointer?, level: Int32, facility: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?
) {
    guard let rk, let context = RDKafkaClientContext.from(rd_kafka_opaque(rk)) else { return }
    let text = message.map { String(cString: $0) } ?? ""
    let fac = facility.map { String(cString: $0) } ?? ""
    context.logger.log(
        level: logLevel(level), "librdkafka", metadata: [LoggingKeys.facility: "\(fac)", "message": "\(text)"])
}

private func rdkafkaErrorCallback(
    rk: OpaquePointer?, err: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?
) {
    guard let context = RDKafkaClientContext.from(opaque) else { return }
    let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(err)))
    context.lastError.withLock { $0 = (text, DispatchTime.now().uptimeNanoseconds) }
    context.logger.warning("librdkafka client error", metadata: [LoggingKeys.error: "\(text)"])
}

private func rdkafkaRebalanceCallback(
    rk: OpaquePointer?, err: rd_kafka_resp_err_t,
    partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let context = RDKafkaClientContext.from(opaque), let partitions, let rebalance = context.rebalance else {
        return
    }
    rebalance(err, partitions)
}

private func rdkafkaDeliveryCallback(
    rk: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let context = RDKafkaClientContext.from(opaque), let message else { return }
    if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
        context.failedDeliveries.add(1, ordering: .relaxed)
        context.logger.error(
            "message delivery failed",
            metadata: [LoggingKeys.error: "\(String(cString: rd_kafka_err2str(message.pointee.err)))"])
    }
}
