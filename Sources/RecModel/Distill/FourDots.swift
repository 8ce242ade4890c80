/// Four dot products of `common` with four rows, each summed over j ascending from `start`:
/// four independent chains of adds where one would wait on each add, and the bits of the
/// four computed one at a time (the ridge solves' kernels and the bridge's conjugate
/// gradients use it where a build spends its time).
@inline(__always)
func fourDots(
    _ common: UnsafePointer<Double>, _ r0: UnsafePointer<Double>, _ r1: UnsafePointer<Double>, _ r2: UnsafePointer<Double>,
    _ r3: UnsafePointer<Double>, count: Int, start: Double = 0
) -> (Double, Double, Double, Double) {
    var (d0, d1, d2, d3) = (start, start, start, start)
    for j in 0..<count {
        let c = common[j]
        d0 += c * r0[j]
        d1 += c * r1[j]
        d2 += c * r2[j]
        d3 += c * r3[j]
    }
    return (d0, d1, d2, d3)
}
