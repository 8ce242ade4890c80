internal import CRdKafka

/// The one error type of `KafkaIngest`: a stable code, a reason, and where it was raised.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// What failed, stable across releases so that callers can switch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate let raw: String
        public var description: String { raw }

        public static let configuration = Code(raw: "configuration")
        public static let clientCreation = Code(raw: "client_creation")
        public static let subscription = Code(raw: "subscription")
        public static let assignment = Code(raw: "assignment")
        public static let commit = Code(raw: "commit")
        public static let produce = Code(raw: "produce")
        public static let brokerUnavailable = Code(raw: "broker_unavailable")
        public static let devBroker = Code(raw: "dev_broker")
        public static let state = Code(raw: "state")
    }

    public let code: Code
    public let reason: String
    /// True when the same call may succeed later (transport errors, timeouts).
    public let isRetriable: Bool
    public let file: String
    public let line: UInt

    public var description: String { "KafkaError.\(code): \(reason)" }

    package static func make(
        _ code: Code, _ reason: String, retriable: Bool = false, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        KafkaError(code: code, reason: reason, isRetriable: retriable, file: file, line: line)
    }

    /// The one place where `rd_kafka_resp_err_t` becomes a Swift error.
    static func rdKafka(
        _ code: Code, _ err: rd_kafka_resp_err_t, context: String, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        let name = String(cString: rd_kafka_err2str(err))
        let retriable = err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT
            || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT
            || err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE || err == RD_KAFKA_RESP_ERR__QUEUE_FULL
        return KafkaError(
            code: code, reason: "\(context): \(name)", isRetriable: retriable, file: file, line: line)
    }
}
