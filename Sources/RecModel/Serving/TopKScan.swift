/// The state of one top-k scan over candidate rows.
struct TopKScan {
    var best: TopRows
    /// What a candidate's score (bias + dot) must reach to be worth a look.
    var floor = -Float.infinity
    /// The user's part of every score (mean and user bias).
    let base: Float
    /// Rows that must reach a score before it can be the floor: k, plus the seen items that
    /// could be among them and will be skipped.
    private let needed: Int

    init(k: Int, base: Float, seen: Int) {
        best = TopRows(k: k)
        self.base = base
        needed = k + seen
    }

    /// The floor for a run of rows whose largest score per block of 16 is `blockMaxima`.
    /// Before k rows are kept, every row would be a candidate; but `needed` blocks reaching a
    /// score put `needed` rows at or above it, so the scan can start from the `needed`-th
    /// largest maximum (a few hundred candidates fewer on the first run).
    mutating func floor(forRunWith blockMaxima: UnsafeBufferPointer<Float>) -> Float {
        if best.worstKept == nil, needed > 0, needed <= blockMaxima.count,
            let reached = Self.largest(needed, of: blockMaxima), reached.isFinite
        {
            // Low enough that rounding of base + s never hides a row that ties the one at
            // `reached` (ties are broken by id).
            let slack = 4 * max(abs(base + reached), abs(base), abs(reached)).ulp
            floor = max(floor, reached - slack)
        }
        return floor
    }

    /// The m-th largest of `values` (NaN left out), nil when fewer (`ClusterIndex.best`'s
    /// selection).
    static func largest(_ m: Int, of values: UnsafeBufferPointer<Float>) -> Float? {
        guard let last = ClusterIndex.best(m, of: Array(values)).last, !values[last].isNaN, m <= values.count else {
            return nil
        }
        return values[last]
    }

    /// Offers a candidate; `hash` (the item's id hash, read only when the seen set must be
    /// asked) may cost a cache miss, so it comes last.
    @inline(__always)
    mutating func consider(score: Float, item: Int, hash: @autoclosure () -> UInt64, seen: borrowing SeenHashSet, ids: IDIndex) {
        guard score != -.infinity else { return }
        let total = Double(base + score)
        // Below the worst kept: out, before the seen test reads the item's hash.
        if let worst = best.worstKept, total < worst { return }
        if !seen.isEmpty, seen.contains(hash()) { return }
        best.offer(score: total, row: Int32(item), ids: ids)
        if let worst = best.worstKept {
            // A pre-filter only (offer decides): low enough that rounding of base + s never
            // hides an item that ties or beats the worst kept one.
            let worst = Float(worst)
            floor = max(floor, worst - base - 4 * max(abs(worst), abs(base)).ulp)
        }
    }
}
