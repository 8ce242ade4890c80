internal import CRdKafka

/// Owns one `rd_kafka_conf_t` until it is handed to `rd_kafka_new`.
package final class RDKafkaConfig {
    /// Nil once ownership passed to a client (`rd_kafka_new` frees the conf only on success).
    private(set) var pointer: OpaquePointer?

    init() {
        pointer = rd_kafka_conf_new()
    }

    package convenience init(_ properties: [String: String]) throws(KafkaError) {
        self.init()
        // Sorted so that a conflicting pair always fails the same way.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            try set(key, value)
        }
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    func set(_ key: String, _ value: String) throws(KafkaError) {
        guard let pointer else { throw .make(.state, "configuration already consumed") }
        var errstr = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, key, value, &errstr, errstr.count)
        guard result == RD_KAFKA_CONF_OK else {
            let message = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .make(.configuration, "\(key)=\(value): \(message)")
        }
    }

    /// Gives up ownership: the caller's C call now owns the conf.
    func take() -> OpaquePointer? {
        defer { pointer = nil }
        return pointer
    }
}
