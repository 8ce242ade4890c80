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

    /// p ← p + rateP·(g·q − reg·p), q ← q + rateQ·(g·p_old − reg·q), clamped to ±`limit`.
    @inline(__always)
    static func coupledStep(
        _ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ count: Int,
        gradient g: Float, rateP: Float, rateQ: Float, regularization reg: Float, limit: Float
    ) {
        var index = 0
        let rawP = UnsafeMutableRawPointer(p)
        let rawQ = UnsafeMutableRawPointer(q)
        let vg = SIMD8<Float>(repeating: g)
        let vreg = SIMD8<Float>(repeating: reg)
        let vrateP = SIMD8<Float>(repeating: rateP)
        let vrateQ = SIMD8<Float>(repeating: rateQ)
        let high = SIMD8<Float>(repeating: limit)
        let low = -high
        while index + 8 <= count {
            let offset = index * 4
            let pv = rawP.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let qv = rawQ.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let newP = (pv + vrateP * (vg * qv - vreg * pv)).clampedFast(low, high)
            let newQ = (qv + vrateQ * (vg * pv - vreg * qv)).clampedFast(low, high)
            rawP.storeBytes(of: newP, toByteOffset: offset, as: SIMD8<Float>.self)
            rawQ.storeBytes(of: newQ, toByteOffset: offset, as: SIMD8<Float>.self)
            index += 8
        }
        while index < count {
            let pv = p[index]
            let qv = q[index]
            p[index] = min(max(pv + rateP * (g * qv - reg * pv), -limit), limit)
            q[index] = min(max(qv + rateQ * (g * pv - reg * qv), -limit), limit)
            index += 1
        }
    }
}

extension VectorMath {
    /// The coupled step with one AdaGrad accumulator per row (the mean squared gradient of the
    /// row is added to it): frequent users and items slow down, rare ones keep learning fast.
    @inline(__always)
    static func adagradStep(
        _ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ count: Int,
        gradient g: Float, learningRate lr: Float, regularization reg: Float, limit: Float,
        accumulatorP: inout Float, accumulatorQ: inout Float
    ) {
        // Pass 1: squared norms of both gradients (8 lanes, scalar tail).
        var index = 0
        var normP = SIMD8<Float>()
        var normQ = SIMD8<Float>()
        let rawP = UnsafeMutableRawPointer(p)
        let rawQ = UnsafeMutableRawPointer(q)
        let vg = SIMD8<Float>(repeating: g)
        let vreg = SIMD8<Float>(repeating: reg)
        while index + 8 <= count {
            let pv = rawP.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
            let qv = rawQ.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
            let gp = vg * qv - vreg * pv
            let gq = vg * pv - vreg * qv
            normP += gp * gp
            normQ += gq * gq
            index += 8
        }
        var sumP = normP.sum()
        var sumQ = normQ.sum()
        while index < count {
            let gp = g * q[index] - reg * p[index]
            let gq = g * p[index] - reg * q[index]
            sumP += gp * gp
            sumQ += gq * gq
            index += 1
        }
        // Pass 2: the coupled step with each row's own rate.
        coupledStep(
            p, q, count, gradient: g, rateP: adagradRate(lr, accumulator: &accumulatorP, squaredNorm: sumP, count: count),
            rateQ: adagradRate(lr, accumulator: &accumulatorQ, squaredNorm: sumQ, count: count), regularization: reg,
            limit: limit)
    }

    /// The AdaGrad rule of a row: its accumulator grows by the mean squared gradient, and its
    /// rate is `lr` over the accumulator's square root. (The learner's user twins follow the
    /// same rule, Learner+Twins.swift.)
    @inline(__always)
    static func adagradRate(_ lr: Float, accumulator: inout Float, squaredNorm: Float, count: Int) -> Float {
        accumulator += squaredNorm / Float(count)
        return lr / (accumulator + 1e-6).squareRoot()
    }
}

extension SIMD8 where Scalar == Float {
    /// Lane-wise clamp through masks; the stdlib's `clamped` calls unspecialized helpers here.
    @inline(__always)
    func clampedFast(_ low: SIMD8<Float>, _ high: SIMD8<Float>) -> SIMD8<Float> {
        var value = self
        value.replace(with: high, where: value .> high)
        value.replace(with: low, where: value .< low)
        return value
    }
}
