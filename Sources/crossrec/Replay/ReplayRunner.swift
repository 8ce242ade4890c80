import Foundation
import RecModel

/// Drives the learner over replay events and measures it.
struct ReplayRunner {
    let configuration: LearnerConfiguration
    let showProgress: Bool

    func run(_ replay: ReplayEvents) -> (report: ReplayReport, learner: Learner) {
        var learner = Learner(configuration: configuration)
        let domainCount = replay.domainNames.count
        // Each rating is moved into `apply`, as the ingest path hands over a rating it built:
        // a copy at the call would retain and release both id strings.
        let ratings = UnsafeMutableBufferPointer<Rating>.allocate(capacity: replay.count)
        defer { ratings.deallocate() }
        _ = ratings.initialize(from: replay.events.lazy.map {
            Rating(domain: $0.domain, user: $0.user, item: $0.item, value: $0.rating, timestampMillis: $0.timeMillis)
        })
        // Only the learner is timed: predictions are kept, and scored on the tail afterwards.
        var predictions = [Double](repeating: 0, count: replay.count)
        let progress = ProgressBar(total: replay.count, enabled: showProgress)
        let start = DispatchTime.now().uptimeNanoseconds
        predictions.withUnsafeMutableBufferPointer { predictions in
            for index in ratings.indices {
                predictions[index] = learner.apply(ratings.moveElement(from: index))
                if index & 0xFFFF == 0 { progress.update(index) }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        progress.finish()
        // "Last 10 %" is per domain: the tail starts at 90 % of that domain's events.
        var perDomain = [Int](repeating: 0, count: domainCount)
        for event in replay.events { perDomain[event.domain] += 1 }
        let tailStart = perDomain.map { Int((Double($0) * 0.9).rounded(.down)) }
        var tails = perDomain.map { _ in PrequentialMetrics(window: 1) }
        var seenPerDomain = [Int](repeating: 0, count: domainCount)
        for (event, prediction) in zip(replay.events, predictions) {
            if seenPerDomain[event.domain] >= tailStart[event.domain] {
                tails[event.domain].record(error: prediction - event.rating, baselineError: 0)
            }
            seenPerDomain[event.domain] += 1
        }
        let report = ReplayReport(
            domains: (0..<domainCount).map { d in
                ReplayReport.Domain(statistics: learner.statistics(domain: d), tailRMSE: tails[d].rmse, tailMAE: tails[d].mae)
            },
            events: replay.count, seconds: seconds, peakResidentBytes: peakResidentBytes(),
            dimension: configuration.dimension)
        return (report, learner)
    }
}

/// Peak resident set size of this process so far.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024  // Linux reports kilobytes
}

/// A one-line progress bar on standard error, only on a terminal.
final class ProgressBar {
    let total: Int
    let enabled: Bool

    init(total: Int, enabled: Bool) {
        self.total = max(total, 1)
        self.enabled = enabled && isatty(STDERR_FILENO) != 0
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let fraction = Double(done) / Double(total)
        let filled = Int(fraction * 40)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 40 - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(Int(fraction * 100))% \(done)/\(total)".utf8))
    }

    func finish() {
        guard enabled else { return }
        update(total)
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
