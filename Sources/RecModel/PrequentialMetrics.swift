/// Test-then-train error of the model and of a biases-only baseline on the same stream:
/// cumulative and over the last `window` events.
public struct PrequentialMetrics: Sendable, Equatable {
    public let window: Int
    public internal(set) var count = 0
    var sumSquared = 0.0
    var sumAbsolute = 0.0
    var baselineSumSquared = 0.0
    var baselineSumAbsolute = 0.0
    /// Ring of the last `window` errors: model, baseline.
    var ring: [SIMD2<Float>] = []
    var ringNext = 0
    var windowSums = SIMD4<Double>()  // model sq, model abs, baseline sq, baseline abs

    public init(window: Int) {
        precondition(window > 0)
        self.window = window
    }

    /// Records one event's errors (prediction − truth), both predictions already clipped.
    public mutating func record(error: Double, baselineError: Double) {
        count += 1
        sumSquared += error * error
        sumAbsolute += abs(error)
        baselineSumSquared += baselineError * baselineError
        baselineSumAbsolute += abs(baselineError)
        let entry = SIMD2<Float>(Float(error), Float(baselineError))
        if ring.count < window {
            ring.append(entry)
        } else {
            let old = SIMD2<Double>(Double(ring[ringNext].x), Double(ring[ringNext].y))
            windowSums -= SIMD4(old.x * old.x, abs(old.x), old.y * old.y, abs(old.y))
            ring[ringNext] = entry
        }
        ringNext = ringNext + 1 == window ? 0 : ringNext + 1  // no division per event
        let new = SIMD2<Double>(Double(entry.x), Double(entry.y))
        windowSums += SIMD4(new.x * new.x, abs(new.x), new.y * new.y, abs(new.y))
        // Re-sum exactly once per window so that add/subtract rounding never accumulates.
        if ringNext == 0 { windowSums = ring.reduce(into: SIMD4<Double>()) { sums, e in
            let d = SIMD2<Double>(Double(e.x), Double(e.y))
            sums += SIMD4(d.x * d.x, abs(d.x), d.y * d.y, abs(d.y))
        } }
    }

    private func root(_ value: Double, _ n: Int) -> Double { n == 0 ? .nan : (value / Double(n)).squareRoot() }
    private func mean(_ value: Double, _ n: Int) -> Double { n == 0 ? .nan : value / Double(n) }

    public var rmse: Double { root(sumSquared, count) }
    public var mae: Double { mean(sumAbsolute, count) }
    public var baselineRMSE: Double { root(baselineSumSquared, count) }
    public var baselineMAE: Double { mean(baselineSumAbsolute, count) }
    public var windowCount: Int { ring.count }
    public var windowRMSE: Double { root(max(0, windowSums.x), ring.count) }
    public var windowMAE: Double { mean(max(0, windowSums.y), ring.count) }
    public var windowBaselineRMSE: Double { root(max(0, windowSums.z), ring.count) }
    public var windowBaselineMAE: Double { mean(max(0, windowSums.w), ring.count) }
}
