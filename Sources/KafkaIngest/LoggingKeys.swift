/// Metadata keys of this module's log lines: dotted, lowercase, one place.
enum LoggingKeys {
    static let topic = "kafka.topic"
    static let partition = "kafka.partition"
    static let offset = "kafka.offset"
    static let reason = "kafka.reject.reason"
    static let suppressed = "kafka.reject.suppressed"
    static let facility = "rdkafka.facility"
    static let error = "kafka.error"
    static let bootstrap = "kafka.bootstrap"
    static let partitions = "kafka.partitions"
    static let buffered = "ingest.buffered"
}
