internal import CRdKafka
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The development broker: librdkafka's in-process mock cluster, a real Kafka-protocol server
/// on 127.0.0.1 for tests, CI and the quick start.
///
/// Limits of the 2.0.2 mock, designed around (see docs/ARCHITECTURE.md): it binds a random port
/// (published through `writeAddressFile`); each partition keeps only about 5 MiB, older batches
/// are dropped silently, so use enough partitions; it aborts the process if a listener cannot
/// bind; a group join takes ~3 s; nothing persists across its own restart.
///
/// `@unchecked Sendable`: the mock cluster's API is thread-safe (it runs its own thread and
/// serializes operations onto it); this class holds no other mutable state.
public final class DevBroker: @unchecked Sendable {
    /// The client instance the mock cluster needs for bookkeeping; it must outlive the cluster.
    private let handle: RDKafkaHandle
    private let cluster: OpaquePointer
    /// `bootstrap.servers` for clients: `127.0.0.1:port[,...]`.
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 1, topics: [String: Int] = [:], logger: Logger) throws(KafkaError) {
        // Nobody polls this handle, so librdkafka's threads call the log callback directly.
        handle = try RDKafkaHandle(.producer, config: RDKafkaConfig(), logger: logger, queuedLogs: false)
        guard let cluster = rd_kafka_mock_cluster_new(handle.pointer, Int32(brokers)) else {
            throw .make(.devBroker, "rd_kafka_mock_cluster_new failed")
        }
        self.cluster = cluster
        self.brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        for (name, partitions) in topics.sorted(by: { $0.key < $1.key }) {
            try createTopic(name, partitions: partitions)
        }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    public func createTopic(_ name: String, partitions: Int) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .rdKafka(.devBroker, err, context: "create \(name)") }
    }

    /// Disconnects the broker (nil: all) and refuses new connections until `setUp`.
    public func setDown(broker: Int32? = nil) {
        rd_kafka_mock_broker_set_down(cluster, broker ?? -1)
    }

    public func setUp(broker: Int32? = nil) {
        rd_kafka_mock_broker_set_up(cluster, broker ?? -1)
    }

    /// Publishes the bootstrap address atomically (temp file + rename) for the daemon and the CLI.
    public func writeAddressFile(path: String) throws(KafkaError) {
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "w") else {
            throw .make(.devBroker, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        fputs(bootstrapServers + "\n", file)
        fclose(file)
        guard rename(temporary, path) == 0 else {
            throw .make(.devBroker, "cannot rename to \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Reads a bootstrap address published by `writeAddressFile`; nil when absent or empty.
    public static func readAddressFile(path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        let text = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingASCIIWhitespace()
        return text.isEmpty ? nil : text
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
