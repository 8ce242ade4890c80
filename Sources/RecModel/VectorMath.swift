internal import CKernels

/// Dense kernels over Float rows; 8 lanes at a time, then a scalar tail.
public enum VectorMath {
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var index = 0
        var acc0 = SIMD8<Float>()
        var acc1 = SIMD8<Float>()
        let rawA = UnsafeRawPointer(a)
        let rawB = UnsafeRawPointer(b)
        while index + 16 <= count {
            acc0 += rawA.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
            acc1 += rawA.loadUnaligned(fromByteOffset: index * 4 + 32, as: SIMD8<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: index * 4 + 32, as: SIMD8<Float>.self)
            index += 16
        }
        while index + 8 <= count {
            acc0 += rawA.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
            index += 8
        }
        var sum = (acc0 + acc1).sum()
        while index < count {
            sum += a[index] * b[index]
            index += 1
        }
        return sum
    }

    /// The coupled SGD step of matrix factorization, with every element clamped to ±`limit`:
    /// p ← p + lr·(g·q − reg·p), q ← q + lr·(g·p_old − reg·q).
    @inline(__always)
    static func sgdStep(
        _ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ count: Int,
        gradient g: Float, learningRate lr: Float, regularization reg: Float, limit: Float
    ) {
        coupledStep(p, q, count, gradient: g, rateP: lr, rateQ: lr, regularization: reg, limit: limit)
    }

    /// p ← p + rateP·(g·q − reg·p), q ← q + rateQ·(g·p_old − reg·q), clamped to ±`limit`
    /// (in C: CKernels/sgd_steps.c says why).
    @inline(__always)
    static func coupledStep(
        _ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ count: Int,
        gradient g: Float, rateP: Float, rateQ: Float, regularization reg: Float, limit: Float, portable: Bool = false
    ) {
        crossrec_coupled_step(p, q, count, g, rateP, rateQ, reg, limit, portable ? 0 : 1)
    }
}

extension VectorMath {
    /// `dot` in C, AVX2 where the CPU has it: the same bits as `dot` (same order, no FMA).
    /// The learner's step uses it; Swift's `dot` inlines as SSE, about 50 instructions more.
    @inline(__always)
    static func kernelDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int, portable: Bool = false) -> Float {
        crossrec_dot(a, b, count, portable ? 0 : 1)
    }

    /// The coupled step with one AdaGrad accumulator per row (the mean squared gradient of the
    /// row is added to it): frequent users and items slow down, rare ones keep learning fast.
    @inline(__always)
    static func adagradStep(
        _ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ count: Int,
        gradient g: Float, learningRate lr: Float, regularization reg: Float, limit: Float,
        accumulatorP: inout Float, accumulatorQ: inout Float, portable: Bool = false
    ) {
        // `portable`: the baseline code even where AVX2 is there (tests compare the two).
        crossrec_adagrad_step(p, q, count, g, lr, reg, limit, &accumulatorP, &accumulatorQ, portable ? 0 : 1)
    }

    /// The AdaGrad rule of a row: its accumulator grows by the mean squared gradient, and its
    /// rate is `lr` over the accumulator's square root. (The learner's user twins follow the
    /// same rule, Learner+Twins.swift.)
    @inline(__always)
    static func adagradRate(_ lr: Float, accumulator: inout Float, squaredNorm: Float, count: Int) -> Float {
        crossrec_adagrad_rate(lr, &accumulator, squaredNorm, count)
    }
}
