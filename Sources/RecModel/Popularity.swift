#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time-decayed counts kept in the log2 domain relative to the epoch: a rating at time t adds
/// 2^(t/halfLife), so comparing two items' scores needs no decay at all, and the decayed count
/// at `now` is 2^(score − now/halfLife). No overflow whatever the time span.
public enum DecayedCount {
    /// Score of "no rating yet".
    public static let empty = -Double.infinity

    @inline(__always)
    public static func add(_ score: Double, atMillis time: Int64, halfLifeMillis: Double) -> Double {
        let term = Double(time) / halfLifeMillis
        if score == empty { return term }
        let high = max(score, term)
        let low = min(score, term)
        return high + log2(1 + exp2(low - high))
    }

    /// The decayed number of ratings at `now`.
    public static func count(_ score: Double, nowMillis: Int64, halfLifeMillis: Double) -> Double {
        score == empty ? 0 : exp2(score - Double(nowMillis) / halfLifeMillis)
    }
}
