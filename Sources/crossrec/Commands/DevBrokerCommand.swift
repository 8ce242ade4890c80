import ArgumentParser
import Foundation
import KafkaIngest
import Logging

/// `crossrec dev-broker`: librdkafka's mock cluster as a standalone development broker.
struct DevBrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run a development Kafka broker (librdkafka's mock cluster) until interrupted.",
        discussion: """
            It listens on a random 127.0.0.1 port and writes its bootstrap address to --address-file, \
            where crossrecd (kafka.bootstrap: dev is separate: it embeds its own) and `crossrec produce` \
            find it. Limits: ~5 MiB kept per partition (older data silently dropped), no persistence.
            """
    )

    @Option(help: "Topics to create, as name:partitions, comma-separated.")
    var topics = "ratings.movies:4,ratings.books:4,ratings.deadletter:1"
    @Option(help: "Number of brokers in the cluster.") var brokers = 1
    @Option(help: "Where to publish the bootstrap address.") var addressFile = ".run/dev-broker.addr"

    func run() throws {
        var parsed: [String: Int] = [:]
        for spec in topics.split(separator: ",") {
            let parts = spec.split(separator: ":")
            guard parts.count == 2, let count = Int(parts[1]), count > 0 else {
                throw ValidationError("--topics wants name:partitions pairs")
            }
            parsed[String(parts[0])] = count
        }
        var logger = Logger(label: "dev-broker")
        logger.logLevel = .warning
        let broker = try DevBroker(brokers: brokers, topics: parsed, logger: logger)
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: addressFile).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try broker.writeAddressFile(path: addressFile)
        print("dev broker at \(broker.bootstrapServers) (address in \(addressFile)); Ctrl-C stops it")
        let signal = waitForTermination()
        try? FileManager.default.removeItem(atPath: addressFile)
        print("stopped on \(signal)")
        withExtendedLifetime(broker) {}
    }
}

/// Blocks until SIGINT or SIGTERM arrives; returns its name.
func waitForTermination() -> String {
    let received = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var name = ""
    var sources: [any DispatchSourceSignal] = []
    for (number, label) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            name = label
            received.signal()
        }
        source.resume()
        sources.append(source)
    }
    received.wait()
    sources.forEach { $0.cancel() }
    return name
}
