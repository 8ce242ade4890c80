import ArgumentParser
import CLISupport
import Foundation
import KafkaIngest
import Logging
import QueryProtocol

/// `crossrec produce`: rating files into a Kafka topic, one message per rating.
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce ratings from CSV/TSV/JSONL files to a Kafka topic.",
        discussion: """
            CSV/TSV lines are converted to the topic's format (--format). JSONL lines are sent as they \
            are. Messages are keyed by user, so one user's ratings stay in order in one partition.
            """
    )

    @Argument(help: "Input files (.csv, .tsv, .jsonl; '-' for standard input as JSONL).") var files: [String]
    @Option(help: "Destination topic.") var topic: String
    @Option(help: "Message format on the topic: json or csv.") var format = "json"
    @Option(help: "Columns of CSV/TSV input, e.g. user=0,item=1,rating=2,time=3.") var columns = "user=0,item=1,rating=2,time=3"
    @Option(help: "Field delimiter of CSV/TSV input: tab or comma (default: detected).") var delimiter: String?
    @Flag(inversion: .prefixedNo, help: "First line is a header (default: detected).") var header: Bool?
    @OptionGroup var broker: BrokerOptions
    @Flag(inversion: .prefixedNo, help: "Show a progress bar on a terminal.") var progress = true

    func run() throws {
        guard let output = EventFormat(rawValue: format) else { throw ValidationError("--format is json or csv") }
        let producer = try KafkaProducer(bootstrapServers: try broker.resolve(), logger: cliLogger("produce"))
        // Where each partition's log ended before: our messages are from there on.
        let before = try? producer.watermarks(topic: topic)
        var sent = 0
        for file in files {
            let messages = try messages(of: file, output: output)
            let bar = ProgressBar(total: messages.count, enabled: progress)
            for (index, message) in messages.enumerated() {
                try producer.send(topic: topic, key: message.key, value: message.value)
                if index & 0x3FF == 0 {
                    producer.poll()
                    bar.update(index)
                }
            }
            bar.finish()
            sent += messages.count
        }
        try producer.flush()
        let failed = producer.failedDeliveries
        print("produced \(sent - failed) messages to \(topic)\(failed > 0 ? " (\(failed) failed)" : "")")
        warnOfRetention(producer, before: before)
        if failed > 0 { throw ExitCode(1) }
    }

    /// Says loudly when the broker no longer holds some of what was just produced: the dev
    /// broker (librdkafka's mock cluster) keeps about 5 MiB per partition and drops older
    /// batches without a word. A consumer that read them in time (crossrecd running) has them.
    private func warnOfRetention(_ producer: KafkaProducer, before: [Int32: (low: Int64, high: Int64)]?) {
        guard let before, let after = try? producer.watermarks(topic: topic) else { return }
        var dropped: Int64 = 0
        var details: [String] = []
        for (partition, now) in after.sorted(by: { $0.key < $1.key }) {
            let firstOurs = before[partition]?.high ?? 0
            guard now.low > firstOurs else { continue }
            dropped += min(now.low, now.high) - firstOurs
            details.append("\(topic)/\(partition) now starts at \(now.low), ours from \(firstOurs)")
        }
        guard dropped > 0 else { return }
        FileHandle.standardError.write(Data("""
            WARNING: the broker no longer holds \(dropped) of the messages just produced (\(details.joined(separator: "; "))).
            A consumer that was not reading them meanwhile will never see them. The dev broker keeps about 5 MiB per
            partition: raise kafka.dev_broker_partitions, or produce while crossrecd consumes.

            """.utf8))
    }

    private func messages(of file: String, output: EventFormat) throws -> [(key: String?, value: String)] {
        let isJSONLines = file == "-" || file.hasSuffix(".jsonl") || file.hasSuffix(".ndjson")
        if isJSONLines {
            let data: Data
            do {
                data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw RatingFileReader.ReadError(path: file, reason: FileProblem.describe(path: file, error: error))
            }
            return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map { (nil, String($0)) }
        }
        let reader = RatingFileReader(
            columns: try ReplayEvents.parseColumns(columns), delimiter: try ReplayEvents.parseDelimiter(delimiter),
            hasHeader: header)
        let result = try reader.read(path: file)
        for rejected in result.rejected.prefix(5) { FileHandle.standardError.write(Data("\(file): \(rejected.reason)\n".utf8)) }
        return result.lines.map { line in
            (line.user, RatingPayload.text(line, format: output))
        }
    }
}
