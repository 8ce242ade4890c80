#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time-decayed rating counts of one domain's items. A rating at time t adds 2^((t − ref)/h)
/// to its item's score (h: half-life), so scores compare directly with no decay step, and the
/// decayed count at `now` is score · 2^((ref − now)/h). When terms grow past 2^256 every score
/// is scaled down and `ref` moves forward (rare: once per 256 half-lives).
public struct DecayClock: Sendable, Equatable {
    public let halfLifeMillis: Double
    /// Reference time of the scores, ms.
    public internal(set) var referenceMillis: Int64?
    var lastTime: Int64 = .min
    var lastTerm = 0.0

    static let rebaseExponent = 256.0

    public init(halfLifeMillis: Double) {
        self.halfLifeMillis = halfLifeMillis
    }

    /// The term a rating at `time` adds; nil when the scores must be rescaled first by
    /// `rebase(to:)` (the caller multiplies every score by the returned factor).
    @inline(__always)
    public mutating func term(atMillis time: Int64) -> Double? {
        if time == lastTime { return lastTerm }  // ratings often share a timestamp
        let reference = referenceMillis ?? time
        referenceMillis = reference
        let exponent = Double(time - reference) / halfLifeMillis
        guard exponent < Self.rebaseExponent else { return nil }
        lastTime = time
        lastTerm = exp2(exponent)
        return lastTerm
    }

    /// Moves the reference to `time`; returns the factor every stored score must be multiplied by.
    public mutating func rebase(to time: Int64) -> Double {
        let factor = exp2(Double((referenceMillis ?? time) - time) / halfLifeMillis)
        referenceMillis = time
        lastTime = .min
        return factor
    }

    /// The decayed count at `now` of a stored score.
    public func count(_ score: Double, nowMillis: Int64) -> Double {
        guard let referenceMillis else { return 0 }
        return score * exp2(Double(referenceMillis - nowMillis) / halfLifeMillis)
    }
}
