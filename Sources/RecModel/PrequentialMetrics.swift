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

    public init(window: Int) {
        precondition(window > 0)
        self.window = window
    }

    /// Records one event's errors (prediction − truth), both predictions already clipped.
    ///
    /// Why the window's sums are not kept up to date here: that cost about 85 instructions an
    /// event (a subtraction and an addition of four terms, and a full re-sum once a window to
    /// stop rounding drift), on the learner's hottest path, for figures read a few times a
    /// minute. They are summed from the ring when asked for (`windowSums`).
    @inline(__always)
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
            ring[ringNext] = entry
        }
        ringNext = ringNext + 1 == window ? 0 : ringNext + 1  // no division per event
    }

    /// Sums over the window, in ring order: model squared, model absolute, baseline squared,
    /// baseline absolute (a pass over at most `window` entries).
    var windowSums: SIMD4<Double> {
        ring.reduce(into: SIMD4<Double>()) { sums, e in
            let d = SIMD2<Double>(Double(e.x), Double(e.y))
            sums += SIMD4(d.x * d.x, abs(d.x), d.y * d.y, abs(d.y))
        }
    }

    private func root(_ value: Double, _ n: Int) -> Double { n == 0 ? .nan : (value / Double(n)).squareRoot() }
    private func mean(_ value: Double, _ n: Int) -> Double { n == 0 ? .nan : value / Double(n) }

    public var rmse: Double { root(sumSquared, count) }
    public var mae: Double { mean(sumAbsolute, count) }
    public var baselineRMSE: Double { root(baselineSumSquared, count) }
    public var baselineMAE: Double { mean(baselineSumAbsolute, count) }
    public var windowCount: Int { ring.count }

    /// The window's four figures from one pass over the ring (each property below is a pass).
    public struct WindowErrors: Sendable, Equatable {
        public let rmse, mae, baselineRMSE, baselineMAE: Double
    }

    public var windowErrors: WindowErrors {
        let sums = windowSums
        return WindowErrors(
            rmse: root(sums.x, ring.count), mae: mean(sums.y, ring.count), baselineRMSE: root(sums.z, ring.count),
            baselineMAE: mean(sums.w, ring.count))
    }

    public var windowRMSE: Double { windowErrors.rmse }
    public var windowMAE: Double { windowErrors.mae }
    public var windowBaselineRMSE: Double { windowErrors.baselineRMSE }
    public var windowBaselineMAE: Double { windowErrors.baselineMAE }
}
