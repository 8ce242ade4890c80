import ArgumentParser
import CLISupport
import Dispatch
import Foundation
import KafkaIngest
import RecModel

/// `crossrec-bench feed`: ratings into a topic at a fixed rate (the ingest load of the query
/// benchmark), or as fast as possible with `--rate 0`.
struct FeedBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "feed", abstract: "Produce generated ratings at a fixed rate.")

    @Option var topic = "ratings.movies"
    @Option(help: "Events per second (0: as fast as possible).") var rate = 10_000
    @Option(help: "Events in all.") var events = 100_000
    @Option var users = 20_000
    @Option var items = 100_000
    @Option var seed: UInt64 = 5
    @Option(help: "Latent taste dimensions shared by users and items (0: ratings uniform at random, no structure).")
    var tastes = 0
    @Option(help: "Zipf exponent of item popularity (0: every item equally likely).") var zipf = 0.0
    // The dev broker (librdkafka's mock cluster) finds the log entry for each fetch by walking
    // the partition's list of message sets from the start and returns one set per fetch, so
    // its cost grows with the square of the number of sets: at 10 000 events/s over 16
    // partitions, 5 ms batches of ~3 events took it from half a core to a whole core within a
    // minute; 100 ms batches keep it at a few percent (docs/BENCHMARKS.md).
    @Option(help: "Producer linger.ms (the batch window).") var lingerMs = 100
    @OptionGroup var broker: BrokerOptions

    func validate() throws {
        guard users > 0, items > 0 else { throw ValidationError("--users and --items must be positive") }
        guard tastes >= 0, zipf >= 0 else { throw ValidationError("--tastes and --zipf must not be negative") }
    }

    func run() throws {
        let producer = try KafkaProducer(
            bootstrapServers: try broker.resolve(), properties: ["linger.ms": "\(lingerMs)"], logger: cliLogger("feed"))
        var ratings = GeneratedRatings(users: users, items: items, tastes: tastes, zipf: zipf, seed: seed)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<events {
            if rate > 0 {
                let due = start + UInt64(Double(index) / Double(rate) * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(UInt32((due - now) / 1_000)) }
            }
            let rating = ratings.next()
            let line = RatingFileReader.Line(
                user: "u\(rating.user)", item: "i\(rating.item)", rating: rating.value, time: Double(1_700_000_000 + index / 100))
            try producer.send(topic: topic, key: line.user, value: RatingPayload.json(line))
            if index & 0x3FF == 0 { producer.poll() }
        }
        try producer.flush()
        print("fed \(events) events to \(topic)")
    }
}

/// Ratings for load tests. Without structure (the default): users, items and ratings 1–5
/// uniform at random. With `tastes` > 0, users and items get taste vectors (a pure function
/// of the id and seed) and a rating is 3 + their normalized dot product + noise, rounded and
/// clipped to 1–5, so that a model has something to learn and items fall into groups the way
/// a catalog's do; with `zipf` > 0, the item of the r-th most popular rank is drawn with
/// weight 1 / r^zipf (the head of the catalog gets most ratings).
struct GeneratedRatings {
    private let users: Int
    private let items: Int
    private let tastes: Int
    private let seed: UInt64
    /// Cumulative item weights (empty: uniform items).
    private let cumulative: [Double]
    private var generator: SplitMix64

    init(users: Int, items: Int, tastes: Int, zipf: Double, seed: UInt64) {
        self.users = users
        self.items = items
        self.tastes = tastes
        self.seed = seed
        generator = SplitMix64(seed: seed)
        var total = 0.0
        cumulative = zipf > 0 ? (1...items).map { rank in
            total += 1 / pow(Double(rank), zipf)
            return total
        } : []
    }

    mutating func next() -> (user: Int, item: Int, value: Double) {
        next(user: Int(generator.next() % UInt64(users)))
    }

    /// A rating by `user`.
    mutating func next(user: Int) -> (user: Int, item: Int, value: Double) {
        let item = nextItem()
        guard tastes > 0 else { return (user, item, Double(generator.next() % 5 + 1)) }
        // Elements uniform in [-1, 1) have variance 1/3, so the dot product has standard
        // deviation √tastes / 3: scaled to 1.
        var userTaste = SplitMix64(seed: StableHash.hash("user \(user)") ^ seed)
        var itemTaste = SplitMix64(seed: StableHash.hash("item \(item)") ^ seed)
        var dot: Float = 0
        for _ in 0..<tastes { dot += userTaste.nextSignedUnitFloat() * itemTaste.nextSignedUnitFloat() }
        let score = 3 + Double(dot) * 3 / Double(tastes).squareRoot() + Double(generator.nextSignedUnitFloat()) * 0.5
        return (user, item, min(5, max(1, score.rounded())))
    }

    private mutating func nextItem() -> Int {
        guard let total = cumulative.last else { return Int(generator.next() % UInt64(items)) }
        let target = Double(generator.next() >> 11) / Double(1 << 53) * total
        // The first rank whose cumulative weight exceeds the target.
        var (low, high) = (0, cumulative.count - 1)
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
