import ArgumentParser
import Dispatch
import Foundation
import Histogram
import KafkaIngest
import NIOCore
import NIOPosix
import QueryProtocol
import RecModel

/// `crossrec-bench query`: N connections asking `recommend` as fast as they are answered
/// (closed loop, `--pipeline` requests in flight per connection, default 1), all driven by
/// one client event loop;
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
    @Option(help: "Client event-loop threads that share the connections.") var clientThreads = 1
    @Option(help: "Requests in flight per connection (pipelined; latency counts the wait behind the others).")
    var pipeline = 1
    @Option(help: "Append each run's latency distribution here (CSV: label, connections, percentile, latency in µs; for bench/plots.py).")
    var percentiles: String?
    @Option(help: "The runs' label in --percentiles.") var label = "recommend"

    func validate() throws {
        guard pipeline >= 1 else { throw ValidationError("--pipeline must be at least 1") }
        guard connections.split(separator: ",").allSatisfy({ (Int($0) ?? 0) >= 1 }) else {
            throw ValidationError("--connections takes positive counts separated by commas")
        }
    }

    func run() throws {
        for count in connections.split(separator: ",").compactMap({ Int($0) }) {
            let result = try measure(connections: count)
            let p = { (percentile: Double) in Double(result.histogram.valueAtPercentile(percentile)) / 1_000 }
            let depth = pipeline > 1 ? ", pipeline \(pipeline)" : ""
            print(String(format: "%3d connections%@: %8.0f queries/s  latency µs p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%d queries, %d errors)",
                count, depth, Double(result.histogram.totalCount) / seconds, p(50), p(90), p(99), p(99.9),
                Double(result.histogram.max) / 1_000, result.histogram.totalCount, result.errors))
            if let percentiles { try appendDistribution(result.histogram, connections: count, to: percentiles) }
        }
    }

    /// Percentiles spaced evenly in log(1 / (1 − p)), from p50 to p99.99, as HdrHistogram's
    /// percentile plots draw them.
    private func appendDistribution(_ histogram: Histogram<UInt64>, connections: Int, to path: String) throws {
        var text = ""
        if !FileManager.default.fileExists(atPath: path) { text += "label,connections,percentile,latency_us\n" }
        for step in stride(from: 0.3, through: 4.0, by: 0.1) {
            let percentile = 100 * (1 - pow(10, -step))
            text += String(format: "%@,%d,%.4f,%.1f\n", label, connections, percentile,
                           Double(histogram.valueAtPercentile(percentile)) / 1_000)
        }
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { throw ValidationError("--percentiles: cannot write \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    private func measure(connections count: Int) throws -> (histogram: Histogram<UInt64>, errors: Int) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: clientThreads)
        defer { try? group.syncShutdownGracefully() }
        let stopAt = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        let (domain, users, k, depth) = (self.domain, self.users, self.k, pipeline)
        var results: [EventLoopFuture<QueryLoadConnection.Result>] = []
        for index in 0..<count {
            let loop = group.next()
            let done = loop.makePromise(of: QueryLoadConnection.Result.self)
            let connected = ClientBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(QueryLoadConnection(
                            domain: domain, users: users, k: k, depth: depth, seed: UInt64(index + 1), stopAt: stopAt, done: done))
                    }
                }
                .connect(unixDomainSocketPath: socket)
            connected.whenFailure { _ in done.succeed(.init(histogram: QueryLoadConnection.emptyHistogram(), errors: 1)) }
            results.append(done.futureResult)
        }
        var histogram = QueryLoadConnection.emptyHistogram()
        var errors = 0
        for result in try EventLoopFuture.whenAllSucceed(results, on: group.next()).wait() {
            histogram.add(result.histogram)
            errors += result.errors
        }
        return (histogram, errors)
    }

    private static let okField = Array(#""ok":true"#.utf8)

    /// A success answer, checked by bytes (the generic `firstRange` spent most of its time in
    /// metadata look-ups, on the 2 cores the daemon needs).
    static func isSuccess(_ line: ByteBufferView.SubSequence) -> Bool {
        guard line.first == UInt8(ascii: "{"), line.count >= okField.count else { return false }
        var start = line.startIndex
        while start + okField.count <= line.endIndex {
            if okField.indices.allSatisfy({ line[start + $0] == okField[$0] }) { return true }
            start += 1
        }
        return false
    }
}
