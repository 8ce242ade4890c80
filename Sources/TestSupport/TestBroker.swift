import Foundation
import KafkaIngest
import Logging

/// Test helpers around the dev broker: start one, produce into it, drain a consumer.
public enum TestKafka {
    /// A logger that stays quiet unless `CROSSREC_TEST_LOG` names a level.
    public static func logger(_ label: String = "test") -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = ProcessInfo.processInfo.environment["CROSSREC_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }

    /// A group id no other test uses.
    public static func uniqueGroup(_ prefix: String = "test") -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8))"
    }

    /// A started dev broker with these topics (name → partition count).
    public static func broker(_ topics: [String: Int], brokers: Int = 1) throws -> DevBroker {
        try DevBroker(brokers: brokers, topics: topics, logger: logger("dev-broker"))
    }

    /// Produces `values` to `topic` (round-robin over `partitions` when given) and waits for delivery.
    public static func produce(
        _ values: [String], to topic: String, partitions: Int32? = nil, broker: DevBroker
    ) throws {
        let producer = try KafkaProducer(bootstrapServers: broker.bootstrapServers, logger: logger("producer"))
        for (index, value) in values.enumerated() {
            let partition = partitions.map { Int32(index) % $0 }
            try producer.send(topic: topic, partition: partition, value: value)
        }
        try producer.flush()
        precondition(producer.failedDeliveries == 0, "test produce failed")
    }

    /// Takes batches until `done` says so or `limitSeconds` pass (a bound, not an assertion).
    public static func drain(
        _ consumer: KafkaConsumer, limitSeconds: Double = 60, until done: ([IngestRecord]) -> Bool
    ) -> [IngestRecord] {
        var records: [IngestRecord] = []
        let deadline = Date(timeIntervalSinceNow: limitSeconds)
        while !done(records), Date() < deadline {
            if let batch = consumer.nextBatch(timeoutSeconds: 0.1) { records += batch }
        }
        return records
    }

    /// Consumer settings for tests: short session timeout, reset to earliest.
    public static func settings(
        _ broker: DevBroker, topics: [TopicSettings], group: String = uniqueGroup(),
        assignment: ConsumerSettings.Assignment = .group
    ) -> ConsumerSettings {
        var settings = ConsumerSettings(bootstrapServers: broker.bootstrapServers, groupID: group, topics: topics)
        settings.assignment = assignment
        settings.sessionTimeoutMs = 3_000
        settings.extra["heartbeat.interval.ms"] = "500"
        settings.extra["topic.metadata.refresh.interval.ms"] = "1000"
        return settings
    }

    /// A JSON rating event line.
    public static func json(user: String, item: String, rating: Double, ts: Int? = nil) -> String {
        let time = ts.map { ",\"ts\":\($0)" } ?? ""
        return "{\"user\":\"\(user)\",\"item\":\"\(item)\",\"rating\":\(rating)\(time)}"
    }
}

/// Runs an external program (kcat, socat, ...) and returns its exit status and output.
public enum ExternalTool {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public static func isInstalled(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
        }
    }

    public static func run(_ arguments: [String], input: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}
