import Metrics
import Synchronization

/// A Prometheus counter that follows a total kept elsewhere (the daemon's own count, the
/// kernel's CPU time): each scrape raises it by what the total gained since the last one.
/// A total below the last one (a restart of what counts) is not reported: counters only
/// count up. Scrapes may run on two event loops at once, hence the lock.
final class RaisedCounter<Value: AdditiveArithmetic & Comparable & Sendable>: Sendable {
    private let reported = Mutex<Value>(.zero)
    private let increment: @Sendable (Value) -> Void

    init(_ increment: @escaping @Sendable (Value) -> Void) { self.increment = increment }

    func raise(to total: Value) {
        let delta = reported.withLock { last -> Value in
            guard total > last else { return .zero }
            defer { last = total }
            return total - last
        }
        if delta > .zero { increment(delta) }
    }
}

extension RaisedCounter where Value == Int {
    convenience init(label: String, dimensions: [(String, String)] = []) {
        let counter = Metrics.Counter(label: label, dimensions: dimensions)
        self.init { counter.increment(by: $0) }
    }
}

extension RaisedCounter where Value == Double {
    convenience init(label: String, dimensions: [(String, String)] = []) {
        let counter = Metrics.FloatingPointCounter(label: label, dimensions: dimensions)
        self.init { counter.increment(by: $0) }
    }
}
