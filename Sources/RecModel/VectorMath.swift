/// Dense kernels over Float rows; 8 lanes at a time, then a scalar tail.
enum VectorMath {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
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
        var index = 0
        let rawP = UnsafeMutableRawPointer(p)
        let rawQ = UnsafeMutableRawPointer(q)
        let vg = SIMD8<Float>(repeating: g)
        let vlr = SIMD8<Float>(repeating: lr)
        let vreg = SIMD8<Float>(repeating: reg)
        let high = SIMD8<Float>(repeating: limit)
        let low = -high
        while index + 8 <= count {
            let offset = index * 4
            let pv = rawP.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let qv = rawQ.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let newP = (pv + vlr * (vg * qv - vreg * pv)).clamped(lowerBound: low, upperBound: high)
            let newQ = (qv + vlr * (vg * pv - vreg * qv)).clamped(lowerBound: low, upperBound: high)
            rawP.storeBytes(of: newP, toByteOffset: offset, as: SIMD8<Float>.self)
            rawQ.storeBytes(of: newQ, toByteOffset: offset, as: SIMD8<Float>.self)
            index += 8
        }
        while index < count {
            let pv = p[index]
            let qv = q[index]
            p[index] = min(max(pv + lr * (g * qv - reg * pv), -limit), limit)
            q[index] = min(max(qv + lr * (g * pv - reg * qv), -limit), limit)
            index += 1
        }
    }
}
