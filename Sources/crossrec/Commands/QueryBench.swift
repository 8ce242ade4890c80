import ArgumentParser
import Dispatch
import Foundation
import Histogram
import KafkaIngest
import QueryProtocol
import RecModel

/// `crossrec bench query`: N connections asking `recommend` as fast as they are answered;
/// latency percentiles from an HdrHistogram per connection, merged, and throughput.
struct QueryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Query latency and throughput against a running crossrecd.")

    @Option(help: "Concurrent connections, comma-separated runs.") var connections = "1,10,100"
    @Option(help: "Seconds per run.") var seconds = 10.0
    @Option(help: "Domain to query.") var domain = "movies"
    @Option(help: "Users are u0..u<users-1>.") var users = 20_000
    @Option var k = 10
    @Option(help: "Query socket.") var socket = ".run/crossrecd.sock"

    func run() throws {
        for count in connections.split(separator: ",").compactMap({ Int($0) }) {
            let result = try measure(connections: count)
            let p = { (percentile: Double) in Double(result.histogram.valueAtPercentile(percentile)) / 1_000 }
            print(String(format: "%3d connections: %8.0f queries/s  latency µs p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%d queries, %d errors)",
                count, Double(result.histogram.totalCount) / seconds, p(50), p(90), p(99), p(99.9),
                Double(result.histogram.max) / 1_000, result.histogram.totalCount, result.errors))
        }
    }

    private func measure(connections count: Int) throws -> (histogram: Histogram<UInt64>, errors: Int) {
        let merged = LockedResult()
        let group = DispatchGroup()
        let stop = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        for index in 0..<count {
            group.enter()
            let (domain, users, k, path) = (self.domain, self.users, self.k, self.socket)
            Thread {
                // Each connection lives on its own thread, as a separate client would.
                guard let client = try? QuerySocketClient(path: path) else {
                    merged.add(Histogram<UInt64>(highestTrackableValue: 60_000_000_000), errors: 1)
                    group.leave()
                    return
                }
                var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
                var generator = SplitMix64(seed: UInt64(index + 1))
                var errors = 0
                while DispatchTime.now().uptimeNanoseconds < stop {
                    // Encoded with the daemon's own encoder and checked by bytes: the client
                    // shares the 2 cores, and JSONSerialization took more CPU than the daemon.
                    let request = JSONValue.object([
                        "op": .string("recommend"), "user": .string("u\(generator.next() % UInt64(users))"),
                        "domain": .string(domain), "k": .integer(Int64(k)),
                    ]).encoded
                    let start = DispatchTime.now().uptimeNanoseconds
                    guard let line = try? client.request(line: request) else {
                        errors += 1
                        break
                    }
                    _ = histogram.record(DispatchTime.now().uptimeNanoseconds - start)
                    if !Self.isSuccess(line) { errors += 1 }
                }
                merged.add(histogram, errors: errors)
                group.leave()
            }.start()
        }
        group.wait()
        return merged.value
    }

    private static let okField = Array(#""ok":true"#.utf8)

    /// A success answer, checked by bytes (the generic `firstRange` spent most of its time in
    /// metadata look-ups, on the 2 cores the daemon needs).
    static func isSuccess(_ line: String) -> Bool {
        var line = line
        return line.withUTF8 { bytes in
            guard bytes.first == UInt8(ascii: "{"), bytes.count >= okField.count else { return false }
            return (0...(bytes.count - okField.count)).contains { start in
                okField.indices.allSatisfy { bytes[start + $0] == okField[$0] }
            }
        }
    }
}

/// Per-connection histograms merged under a lock.
private final class LockedResult: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    private var errors = 0

    func add(_ other: Histogram<UInt64>, errors count: Int) {
        lock.lock()
        histogram.add(other)
        errors += count
        lock.unlock()
    }

    var value: (histogram: Histogram<UInt64>, errors: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (histogram, errors)
    }
}

/// `crossrec bench feed`: ratings into a topic at a fixed rate (the ingest load of the query
/// benchmark), or as fast as possible with `--rate 0`.
struct FeedBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "feed", abstract: "Produce generated ratings at a fixed rate.")

    @Option var topic = "ratings.movies"
    @Option(help: "Events per second (0: as fast as possible).") var rate = 10_000
    @Option(help: "Events in all.") var events = 100_000
    @Option var users = 20_000
    @Option var items = 100_000
    @Option var seed: UInt64 = 5
    // The dev broker (librdkafka's mock cluster) finds the log entry for each fetch by walking
    // the partition's list of message sets from the start and returns one set per fetch, so
    // its cost grows with the square of the number of sets: at 10 000 events/s over 16
    // partitions, 5 ms batches of ~3 events took it from half a core to a whole core within a
    // minute; 100 ms batches keep it at a few percent (docs/BENCHMARKS.md).
    @Option(help: "Producer linger.ms (the batch window).") var lingerMs = 100
    @OptionGroup var broker: BrokerOptions

    func run() throws {
        let producer = try KafkaProducer(
            bootstrapServers: try broker.resolve(), properties: ["linger.ms": "\(lingerMs)"], logger: cliLogger("feed"))
        var generator = SplitMix64(seed: seed)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<events {
            if rate > 0 {
                let due = start + UInt64(Double(index) / Double(rate) * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(UInt32((due - now) / 1_000)) }
            }
            let line = RatingFileReader.Line(
                user: "u\(generator.next() % UInt64(users))", item: "i\(generator.next() % UInt64(items))",
                rating: Double(generator.next() % 5 + 1), time: Double(1_700_000_000 + index / 100))
            try producer.send(topic: topic, key: line.user, value: ProduceCommand.json(line))
            if index & 0x3FF == 0 { producer.poll() }
        }
        try producer.flush()
        print("fed \(events) events to \(topic)")
    }
}
