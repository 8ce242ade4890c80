import Testing

@testable import RecModel

/// The learner's vector steps (C kernels): the AVX2 and baseline code give the same bits, and
/// both follow the documented rule exactly, so a replay's parameters do not depend on the CPU.
@Suite("Vector steps")
struct VectorMathTests {
    /// Rows with elements in ±1.5 (some beyond a limit of 1), a gradient in ±4.
    static func randomCase(_ dimension: Int, seed: UInt64) -> (p: [Float], q: [Float], g: Float) {
        var generator = SplitMix64(seed: seed)
        let p = (0..<dimension).map { _ in generator.nextSignedUnitFloat() * 1.5 }
        let q = (0..<dimension).map { _ in generator.nextSignedUnitFloat() * 1.5 }
        return (p, q, generator.nextSignedUnitFloat() * 4)
    }

    /// Rows and accumulators after one AdaGrad step (lr 0.1, reg 0.03, limit 1).
    struct Stepped: Equatable {
        var p: [UInt32], q: [UInt32], accumulators: [UInt32]

        init(_ p: [Float], _ q: [Float], _ accumulatorP: Float, _ accumulatorQ: Float) {
            (self.p, self.q) = (p.map(\.bitPattern), q.map(\.bitPattern))
            accumulators = [accumulatorP.bitPattern, accumulatorQ.bitPattern]
        }
    }

    /// The rule of `crossrec_adagrad_step`, written out element by element.
    static func reference(_ p: [Float], _ q: [Float], g: Float, accumulator: Float) -> Stepped {
        let (lr, reg, limit): (Float, Float, Float) = (0.1, 0.03, 1)
        let count = p.count
        var laneP = [Float](repeating: 0, count: 8), laneQ = [Float](repeating: 0, count: 8)
        let blocked = count - count % 8
        for i in 0..<blocked {
            let gp = g * q[i] - reg * p[i], gq = g * p[i] - reg * q[i]
            laneP[i % 8] += gp * gp
            laneQ[i % 8] += gq * gq
        }
        var sumP: Float = -0.0, sumQ: Float = -0.0
        for l in 0..<8 {
            sumP += laneP[l]
            sumQ += laneQ[l]
        }
        for i in blocked..<count {
            let gp = g * q[i] - reg * p[i], gq = g * p[i] - reg * q[i]
            sumP += gp * gp
            sumQ += gq * gq
        }
        let accumulatorP = accumulator + sumP / Float(count)
        let rateP = lr / (accumulatorP + 1e-6).squareRoot()
        let accumulatorQ = accumulator + sumQ / Float(count)
        let rateQ = lr / (accumulatorQ + 1e-6).squareRoot()
        let newP = zip(p, q).map { pv, qv in min(max(pv + rateP * (g * qv - reg * pv), -limit), limit) }
        let newQ = zip(p, q).map { pv, qv in min(max(qv + rateQ * (g * pv - reg * qv), -limit), limit) }
        return Stepped(newP, newQ, accumulatorP, accumulatorQ)
    }

    static func kernel(_ p: [Float], _ q: [Float], g: Float, accumulator: Float, portable: Bool) -> Stepped {
        var (p, q, accumulatorP, accumulatorQ) = (p, q, accumulator, accumulator)
        let count = p.count
        p.withUnsafeMutableBufferPointer { p in
            q.withUnsafeMutableBufferPointer { q in
                VectorMath.adagradStep(
                    p.baseAddress!, q.baseAddress!, count, gradient: g, learningRate: 0.1, regularization: 0.03, limit: 1,
                    accumulatorP: &accumulatorP, accumulatorQ: &accumulatorQ, portable: portable)
            }
        }
        return Stepped(p, q, accumulatorP, accumulatorQ)
    }

    @Test(arguments: [1, 7, 8, 16, 20, 32, 33, 64])
    func adagradStepIsTheSameOnEveryPathAndFollowsTheRule(dimension: Int) {
        for seed in 0..<50 as Range<UInt64> {
            let (p, q, g) = Self.randomCase(dimension, seed: seed)
            let accumulator = Float(seed) * 0.25
            let expected = Self.reference(p, q, g: g, accumulator: accumulator)
            #expect(Self.kernel(p, q, g: g, accumulator: accumulator, portable: false) == expected)
            #expect(Self.kernel(p, q, g: g, accumulator: accumulator, portable: true) == expected)
            #expect(expected.p.allSatisfy { abs(Float(bitPattern: $0)) <= 1 })
        }
    }

    static func coupled(_ p: [Float], _ q: [Float], g: Float, portable: Bool) -> (p: [Float], q: [Float]) {
        var (p, q) = (p, q)
        let count = p.count
        p.withUnsafeMutableBufferPointer { p in
            q.withUnsafeMutableBufferPointer { q in
                VectorMath.coupledStep(
                    p.baseAddress!, q.baseAddress!, count, gradient: g, rateP: 0.05, rateQ: 0.02, regularization: 0.03,
                    limit: 1, portable: portable)
            }
        }
        return (p, q)
    }

    @Test(arguments: [1, 9, 32, 40])
    func coupledStepIsTheSameOnEveryPathAndFollowsTheRule(dimension: Int) {
        for seed in 0..<50 as Range<UInt64> {
            let (p, q, g) = Self.randomCase(dimension, seed: seed)
            let vector = Self.coupled(p, q, g: g, portable: false)
            let portable = Self.coupled(p, q, g: g, portable: true)
            let expectedP = zip(p, q).map { pv, qv in min(max(pv + 0.05 * (g * qv - 0.03 * pv), -1), 1) }
            let expectedQ = zip(p, q).map { pv, qv in min(max(qv + 0.02 * (g * pv - 0.03 * qv), -1), 1) }
            #expect(vector.p.map(\.bitPattern) == expectedP.map(\.bitPattern))
            #expect(vector.q.map(\.bitPattern) == expectedQ.map(\.bitPattern))
            #expect(portable.p.map(\.bitPattern) == expectedP.map(\.bitPattern))
            #expect(portable.q.map(\.bitPattern) == expectedQ.map(\.bitPattern))
        }
    }

    @Test(arguments: [1, 7, 8, 15, 16, 20, 24, 32, 33, 64])
    func kernelDotGivesTheBitsOfTheSwiftDot(dimension: Int) {
        for seed in 0..<50 as Range<UInt64> {
            let (p, q, _) = Self.randomCase(dimension, seed: seed)
            let expected = VectorMath.dot(p, q, dimension)
            #expect(VectorMath.kernelDot(p, q, dimension).bitPattern == expected.bitPattern)
            #expect(VectorMath.kernelDot(p, q, dimension, portable: true).bitPattern == expected.bitPattern)
            let plain = zip(p, q).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(expected - plain) <= 1e-5 * max(1, abs(plain)), "a dot product, whatever the order")
        }
    }
}
