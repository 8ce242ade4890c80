import Foundation
import RecModel

/// Drives the learner over replay events and measures it.
struct ReplayRunner {
    let configuration: LearnerConfiguration
    let showProgress: Bool

    /// Every `rankEvery`-th event whose user has ratings in its domain is also ranked before it
    /// is learned (0: none); that work is not timed.
    var rankEvery = 0
    /// Events of one domain per point of the prequential curve (nil: no curve).
    var curveWindow: Int?
    /// A copy of the learner is kept after this many events (`--light-from`; not timed).
    var snapshotAt: Int?

    /// Learns the first `limit` events (all when nil).
    func run(_ replay: ReplayEvents, limit: Int? = nil) -> (report: ReplayReport, learner: Learner, snapshot: Learner?) {
        var learner = Learner(configuration: configuration)
        let domainCount = replay.domainNames.count
        let count = min(limit ?? replay.count, replay.count)
        var ranking = (0..<domainCount).map { _ in PrequentialRanking() }
        var untimed: UInt64 = 0
        var snapshot: Learner?
        var rankSamples: [PrequentialCurve.RankSample] = []
        // Each rating is moved into `apply`, as the ingest path hands over a rating it built:
        // a copy at the call would retain and release both id strings.
        let ratings = UnsafeMutableBufferPointer<Rating>.allocate(capacity: count)
        defer { ratings.deallocate() }
        _ = ratings.initialize(from: replay.events.prefix(count).lazy.map {
            Rating(domain: $0.domain, user: $0.user, item: $0.item, value: $0.rating, timestampMillis: $0.timeMillis)
        })
        // Only the learner is timed: predictions are kept, and scored on the tail afterwards.
        var predictions = [Double](repeating: 0, count: count)
        let progress = ProgressBar(total: count, enabled: showProgress)
        let start = DispatchTime.now().uptimeNanoseconds
        predictions.withUnsafeMutableBufferPointer { predictions in
            for index in ratings.indices {
                if rankEvery > 0, index % rankEvery == 0 {
                    let before = DispatchTime.now().uptimeNanoseconds
                    let event = ratings[index]
                    if let position = ranking[event.domain].sample(learner, user: event.user, item: event.item, domain: event.domain),
                       curveWindow != nil {
                        rankSamples.append(.init(index: index, position: position))
                    }
                    untimed += DispatchTime.now().uptimeNanoseconds - before
                }
                if index == snapshotAt {
                    let before = DispatchTime.now().uptimeNanoseconds
                    snapshot = learner
                    untimed += DispatchTime.now().uptimeNanoseconds - before
                }
                predictions[index] = learner.apply(ratings.moveElement(from: index))
                if index & 0xFFFF == 0 { progress.update(index) }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start - untimed) / 1e9
        progress.finish()
        // "Last 10 %" is per domain: the tail starts at 90 % of that domain's events.
        var perDomain = [Int](repeating: 0, count: domainCount)
        for event in replay.events.prefix(count) { perDomain[event.domain] += 1 }
        let tailStart = perDomain.map { Int((Double($0) * 0.9).rounded(.down)) }
        var tails = perDomain.map { _ in PrequentialMetrics(window: 1) }
        var seenPerDomain = [Int](repeating: 0, count: domainCount)
        for (event, prediction) in zip(replay.events.prefix(count), predictions) {
            if seenPerDomain[event.domain] >= tailStart[event.domain] {
                tails[event.domain].record(error: prediction - event.rating, baselineError: 0)
            }
            seenPerDomain[event.domain] += 1
        }
        var report = ReplayReport(
            domains: (0..<domainCount).map { d in
                ReplayReport.Domain(
                    statistics: learner.statistics(domain: d), tailRMSE: tails[d].rmse, tailMAE: tails[d].mae,
                    ranking: rankEvery > 0 ? ranking[d] : nil, items: learner.statistics(domain: d).items)
            },
            events: count, seconds: seconds, peakResidentBytes: peakResidentBytes(),
            dimension: configuration.dimension)
        if let curveWindow {
            let events = replay.events.prefix(count)
            report.curve = PrequentialCurve(
                errors: zip(events, predictions).map { $1 - $0.rating }, domains: events.map(\.domain),
                domainNames: replay.domainNames, samples: rankSamples, window: curveWindow)
        }
        return (report, learner, snapshot)
    }
}

/// Where sampled events' items stood in their users' lists (0 is first): the sums behind
/// HR@10, NDCG@10 and MRR, for a whole replay or one window of its curve.
struct ListPositions {
    var sampled = 0
    var hits10 = 0
    var ndcg10 = 0.0
    var reciprocalRank = 0.0

    mutating func add(position: Int) {
        sampled += 1
        reciprocalRank += 1 / Double(position + 1)
        if position < 10 {
            hits10 += 1
            ndcg10 += 1 / log2(Double(position) + 2)
        }
    }

    /// Means over the sampled events; nil before a sample.
    var hr10: Double? { sampled > 0 ? Double(hits10) / Double(sampled) : nil }
    var meanNDCG10: Double? { sampled > 0 ? ndcg10 / Double(sampled) : nil }
    var mrr: Double? { sampled > 0 ? reciprocalRank / Double(sampled) : nil }
}

/// Prequential ranking figures of one domain: for sampled events, before they are learned,
/// where the event's item stood in the user's list.
struct PrequentialRanking {
    var positions = ListPositions()
    /// Items in the sampled users' top 10 (for coverage).
    var listed: Set<String> = []

    var sampled: Int { positions.sampled }

    /// The item's position in the user's list (0 is first), nil when the user could not be ranked.
    @discardableResult
    mutating func sample(_ learner: Learner, user: String, item: String, domain d: Int) -> Int? {
        guard let (position, _) = learner.listPosition(of: item, user: user, domain: d) else { return nil }
        positions.add(position: position)
        for recommendation in learner.recommend(user: user, domain: d, k: 10, excludeSeen: true).items {
            listed.insert(recommendation.item)
        }
        return position
    }

    func json(items: Int) -> [String: Any] {
        [
            "sampled": sampled, "hr10": positions.hr10 ?? 0, "ndcg10": positions.meanNDCG10 ?? 0, "mrr": positions.mrr ?? 0,
            "coverage10": items > 0 ? Double(listed.count) / Double(items) : 0,
        ]
    }
}

/// Peak resident set size of this process so far.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024  // Linux reports kilobytes
}
