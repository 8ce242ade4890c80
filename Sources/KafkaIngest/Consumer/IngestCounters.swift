import Metrics
import Synchronization

/// Counts of consumed and rejected messages per configured topic, for `stats` and metrics.
///
/// Isolation: one `Mutex` (updated once per batch and once per rejection, never per valid event).
/// The swift-metrics counters are created once per (topic, reason) and are thread-safe.
public final class IngestCounters: Sendable {
    /// A point-in-time copy.
    public struct Snapshot: Sendable, Equatable {
        /// Messages consumed (valid or not), per topic index.
        public var consumed: [Int]
        /// Rejections per topic index and reason.
        public var rejected: [[RejectReason: Int]]
        /// Rejected messages of topics not in the configuration.
        public var unknownTopic: Int
        /// Rejected messages that could not be queued to the dead-letter topic.
        public var deadLetterFailures = 0

        public func rejected(_ topicIndex: Int, _ reason: RejectReason) -> Int { rejected[topicIndex][reason] ?? 0 }
        public var totalRejected: Int { rejected.reduce(unknownTopic) { $0 + $1.values.reduce(0, +) } }
    }

    private let state: Mutex<Snapshot>
    private let consumedMetrics: [Counter]
    private let rejectedMetrics: [[RejectReason: Counter]]
    private let deadLetterFailuresMetric = Counter(label: "crossrec_dead_letter_failures_total")
    /// Created at start, at 0, like every series here: Prometheus' `increase()` sees the first
    /// reset only if the series existed before it.
    private let offsetResetMetrics: [Counter]

    public init(topics: [String]) {
        state = Mutex(Snapshot(consumed: topics.map { _ in 0 }, rejected: topics.map { _ in [:] }, unknownTopic: 0))
        consumedMetrics = topics.map { Counter(label: "crossrec_ingest_messages_total", dimensions: [("topic", $0)]) }
        offsetResetMetrics = topics.map { Counter(label: "crossrec_offset_resets_total", dimensions: [("topic", $0)]) }
        rejectedMetrics = topics.map { topic in
            Dictionary(uniqueKeysWithValues: RejectReason.allCases.map { reason in
                (reason, Counter(label: "crossrec_ingest_rejected_total",
                    dimensions: [("topic", topic), ("reason", reason.rawValue)]))
            })
        }
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    func consumed(_ counts: [Int]) {
        state.withLock { snapshot in
            for (index, count) in counts.enumerated() where count > 0 { snapshot.consumed[index] += count }
        }
        for (index, count) in counts.enumerated() where count > 0 { consumedMetrics[index].increment(by: count) }
    }

    func offsetReset(topicIndex: Int) {
        offsetResetMetrics[topicIndex].increment()
    }

    func deadLetterFailed() {
        state.withLock { $0.deadLetterFailures += 1 }
        deadLetterFailuresMetric.increment()
    }

    func rejected(topicIndex: Int?, _ reason: RejectReason) {
        guard let topicIndex else {
            state.withLock { $0.unknownTopic += 1 }
            return
        }
        state.withLock { $0.rejected[topicIndex][reason, default: 0] += 1 }
        rejectedMetrics[topicIndex][reason]?.increment()
    }
}

/// At most `perSecond` lines a second; the others are counted and reported in the next line.
/// Used only from the poll thread.
struct RateLimitedLog {
    let perSecond: Int
    private var windowStart: UInt64 = 0
    private var inWindow = 0
    private(set) var suppressed = 0

    init(perSecond: Int) {
        self.perSecond = perSecond
    }

    /// Whether to log now; when true, `takeSuppressed()` tells how many were skipped since.
    mutating func allow(nowNanos: UInt64) -> Bool {
        if nowNanos &- windowStart >= 1_000_000_000 {
            windowStart = nowNanos
            inWindow = 0
        }
        guard inWindow < perSecond else {
            suppressed += 1
            return false
        }
        inWindow += 1
        return true
    }

    mutating func takeSuppressed() -> Int {
        defer { suppressed = 0 }
        return suppressed
    }
}
