/// The state of one top-k scan over candidate rows.
struct TopKScan {
    var best: TopRows
    /// What a candidate's score (bias + dot) must reach to be worth a look.
    var floor = -Float.infinity
    /// The user's part of every score (mean and user bias).
    let base: Float

    init(k: Int, base: Float) {
        best = TopRows(k: k)
        self.base = base
    }

    @inline(__always)
    mutating func consider(score: Float, item: Int, seen: borrowing SeenHashSet, ids: IDIndex) {
        guard score != -.infinity else { return }
        let total = Double(base + score)
        // Below the worst kept: out, before the seen test reads the item's hash.
        if let worst = best.worstKept, total < worst { return }
        if !seen.isEmpty, seen.contains(ids.hash(of: Int32(item))) { return }
        best.offer(score: total, row: Int32(item), ids: ids)
        if let worst = best.worstKept {
            // A pre-filter only (offer decides): low enough that rounding of base + s never
            // hides an item that ties or beats the worst kept one.
            let worst = Float(worst)
            floor = worst - base - 4 * max(abs(worst), abs(base)).ulp
        }
    }
}
