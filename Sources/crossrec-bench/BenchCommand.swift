import ArgumentParser
import CLISupport
import Dispatch
import Foundation
import KafkaIngest
import QueryProtocol
import RecModel

/// `crossrec-bench`: the benchmarks behind docs/BENCHMARKS.md (run them on a release build;
/// `make bench` runs them all).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossrec-bench", abstract: "The benchmarks behind docs/BENCHMARKS.md (use the release build).",
        version: CrossrecVersion.current,
        subcommands: [ParseBench.self, ConsumeBench.self, QueryBench.self, FeedBench.self, CheckpointBench.self, TopKBench.self, DistillBench.self])
}

/// Event parsing on one core: JSON and CSV payloads with realistic ids.
struct ParseBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "parse", abstract: "Event parse rate, one core.")

    @Option(help: "Distinct payloads parsed round-robin.") var payloads = 100_000
    @Option(help: "Parses per format.") var events = 20_000_000
    @Option(help: "Repetitions; the median is reported.") var repeats = 5

    func run() throws {
        var generator = SplitMix64(seed: 1)
        let samples = (0..<payloads).map { _ -> RatingFileReader.Line in
            let user = "user-\(generator.next() % 1_000_000)"
            let item = "item-\(generator.next() % 100_000)"
            let rating = Double(generator.next() % 9 + 2) / 2
            return RatingFileReader.Line(user: user, item: item, rating: rating, time: Double(1_700_000_000 + generator.next() % 10_000_000), domain: nil)
        }
        for format in [EventFormat.json, .csv] {
            let texts = samples.map { format == .json ? RatingPayload.json($0) : RatingPayload.csv($0) }
            // One contiguous buffer with offsets: the loop touches no reference counts.
            let buffer = Array(texts.joined().utf8)
            var offsets = [0]
            for text in texts { offsets.append(offsets.last! + text.utf8.count) }
            let parser = EventParser(format: format, ratingRange: 0.5...5)
            var rates: [Double] = []
            var accepted = 0
            buffer.withUnsafeBytes { all in
                offsets.withUnsafeBufferPointer { offsets in
                    for _ in 0..<repeats {
                        let start = DispatchTime.now().uptimeNanoseconds
                        var slot = 0
                        for _ in 0..<events {
                            slot = slot + 1 == offsets.count - 1 ? 0 : slot + 1
                            let payload = UnsafeRawBufferPointer(rebasing: all[offsets[slot]..<offsets[slot + 1]])
                            if case .event = parser.parse(payload) { accepted += 1 }
                        }
                        rates.append(Double(events) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
                    }
                }
            }
            precondition(accepted == events * repeats, "every generated payload must parse")
            let averageBytes = Double(buffer.count) / Double(texts.count)
            print(String(format: "parse %@: median %.2f M events/s (%.0f-byte payloads, %d × %d events)",
                format.rawValue, median(rates) / 1e6, averageBytes, repeats, events))
        }
    }
}

/// End-to-end consume (poll, parse, hand-off, exactly-once gate) vs librdkafka's bare loop.
struct ConsumeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume", abstract: "End-to-end consume rate vs raw librdkafka, dev broker.")

    @Option(help: "Events produced.") var events = 1_000_000
    @Option(help: "Partitions of the topic (the dev broker keeps ~5 MiB each).") var partitions: Int32 = 16
    @Option(help: "Alternating raw/end-to-end runs; medians are reported.") var repeats = 3
    @Flag(help: "Also apply every event to a learner (d=32) on the writer side.") var withLearner = false

    func run() throws {
        let logger = cliLogger("bench")
        let topic = "bench.ratings"
        let broker = try DevBroker(topics: [topic: Int(partitions)], logger: logger)
        let producer = try KafkaProducer(
            bootstrapServers: broker.bootstrapServers, properties: ["linger.ms": "50", "batch.num.messages": "10000"],
            logger: logger)
        var generator = SplitMix64(seed: 3)
        for index in 0..<events {
            let line = RatingFileReader.Line(
                user: "u\(generator.next() % 100_000)", item: "i\(generator.next() % 20_000)",
                rating: Double(generator.next() % 5 + 1), time: Double(1_700_000_000 + index), domain: nil)
            try producer.send(topic: topic, partition: Int32(index) % partitions, value: RatingPayload.json(line))
            if index & 0xFFF == 0 { producer.poll() }
        }
        try producer.flush()
        var raw: [Double] = []
        var endToEnd: [Double] = []
        for _ in 0..<repeats {
            let settings = settings(broker: broker, topic: topic)
            raw.append(Double(events) / (try RawConsumeBenchmark.run(
                settings: settings, topic: topic, partitions: partitions, count: events, logger: logger)))
            endToEnd.append(Double(events) / (try consumeEndToEnd(settings: settings)))
        }
        let rawMedian = median(raw)
        let e2eMedian = median(endToEnd)
        print(String(format: "raw librdkafka consume: median %.0f events/s (%@)", rawMedian, raw.map { String(Int($0)) }.joined(separator: ", ")))
        print(String(format: "end-to-end%@: median %.0f events/s (%@)", withLearner ? " + learner" : "", e2eMedian,
            endToEnd.map { String(Int($0)) }.joined(separator: ", ")))
        print(String(format: "ratio end-to-end / raw: %.1f %% (%d events, %d partitions)", 100 * e2eMedian / rawMedian, events, partitions))
    }

    /// The consumer's settings with defaults, plus `CROSSREC_BENCH_EXTRA` (k=v,...) librdkafka properties.
    private func settings(broker: DevBroker, topic: String) -> ConsumerSettings {
        var settings = ConsumerSettings(
            bootstrapServers: broker.bootstrapServers, groupID: "bench-\(UInt32.random(in: 0...UInt32.max))",
            topics: [TopicSettings(name: topic, domain: "bench", ratingRange: 1...5)])
        settings.assignment = .manual((0..<partitions).map { TopicPartition(topic, $0) })
        for pair in (ProcessInfo.processInfo.environment["CROSSREC_BENCH_EXTRA"] ?? "").split(separator: ",") {
            let keyValue = pair.split(separator: "=")
            if keyValue.count == 2 { settings.extra[String(keyValue[0])] = String(keyValue[1]) }
        }
        return settings
    }

    private func consumeEndToEnd(settings: ConsumerSettings) throws -> Double {
        // Start from offset 0 like the raw loop (no committed-offset lookup).
        let positions = AppliedPositions(Dictionary(uniqueKeysWithValues: (0..<partitions).map {
            (PartitionKey(topicIndex: 0, partition: $0), Int64(0))
        }))
        let consumer = try KafkaConsumer(settings: settings, positions: positions, logger: cliLogger("bench"))
        var learner = Learner(configuration: LearnerConfiguration(domains: [DomainSpec(name: "bench", ratingRange: 1...5)]))
        var tracker = OffsetTracker()
        var received = 0
        var start: UInt64 = 0
        try consumer.start()
        while received < events {
            guard let batch = consumer.nextBatch(timeoutSeconds: 0.1) else { continue }
            if received == 0 { start = DispatchTime.now().uptimeNanoseconds }
            for record in batch where tracker.admit(record) {
                received += 1
                if withLearner, case .event(let event) = record.outcome {
                    learner.apply(Rating(domain: 0, user: event.user, item: event.item, value: event.rating,
                        timestampMillis: event.timestampMillis ?? 0))
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        consumer.stop()
        return seconds
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Applies each batch to `learner`; the time of each, in ms.
/// Milliseconds per batch; `afterEach` runs at the safe point after each batch and is timed
/// with it (the daemon's writer runs its snapshot steps there).
func applyTimed(_ batches: [[Rating]], to learner: inout Learner, afterEach: (inout Learner) -> Void = { _ in }) -> [Double] {
    batches.map { batch in
        let start = DispatchTime.now().uptimeNanoseconds
        for rating in batch { learner.apply(rating) }
        afterEach(&learner)
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }
}

/// The daemon's cut (`IngestService.cut`) under load: the writer pre-copies the learner a
/// slice after each batch (timed with the batch), takes the snapshot once the copy is
/// complete and hands it to `use` (which starts the work on another thread), then goes on
/// until `finished()` and at least `batches.count` batches. Returns the batch times (ms) and
/// how many batches the pre-copy spanned.
func applyThroughCut(
    _ batches: [[Rating]], to learner: inout Learner, use: (Learner) -> Void, finished: () -> Bool
) -> (times: [Double], precopyBatches: Int) {
    var times: [Double] = []
    var precopyBatches = 0
    var snapshotTaken = false
    learner.beginSnapshot()
    while !snapshotTaken || !finished() || times.count < batches.count {
        let start = DispatchTime.now().uptimeNanoseconds
        for rating in batches[times.count % batches.count] { learner.apply(rating) }
        if !snapshotTaken {
            precopyBatches += 1
            if learner.advanceSnapshot() {
                use(learner.takeSnapshot())
                snapshotTaken = true
            }
        }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return (times, precopyBatches)
}
