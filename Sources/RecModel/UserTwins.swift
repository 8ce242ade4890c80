/// Source-only twins of the shared user vectors, for the users who rated in a target domain.
///
/// A cold user's shared vector has learned from the source domains alone, while an overlapping
/// user's has also learned from their target ratings. A transfer fitted on the overlapping
/// users' shared vectors is therefore fitted on vectors unlike those it serves, and judged on
/// held-out users whose vectors already saw the ratings they are judged on. The twin starts as
/// a copy of the shared vector just before the user's first target rating and from then on
/// takes the same steps on source events only: it is what the shared vector would be had the
/// target ratings never arrived. A user without target ratings needs no twin (theirs is the
/// shared vector itself), so the table holds overlapping users only.
struct UserTwins: Sendable {
    /// Per user row: 0 (no twin) or the twin's row + 1.
    var slots = ChunkedMatrix<Int32>(width: 1, fill: 0)
    /// Twin rows: the vector, then its AdaGrad accumulator.
    var rows: ChunkedMatrix<Float>
    var freeRows: [Int32] = []
    /// Rows handed out so far (live twins: `rowLimit - freeRows.count`).
    var rowLimit = 0

    init(dimension: Int) {
        rows = ChunkedMatrix(width: dimension + 1, fill: 0)
    }

    var count: Int { rowLimit - freeRows.count }

    /// The twin row of user row `user`, if any.
    @inline(__always)
    func row(ofUser user: Int) -> Int? {
        guard user < slots.capacity else { return nil }
        let slot = slots[user, 0]
        return slot == 0 ? nil : Int(slot - 1)
    }

    /// The twin of `user`, created as a copy of `vector` and `accumulator` when absent.
    mutating func ensure(user: Int, vector: UnsafePointer<Float>, accumulator: Float, dimension: Int) {
        guard row(ofUser: user) == nil else { return }
        let row: Int32
        if let reused = freeRows.popLast() {
            row = reused
        } else {
            row = Int32(rowLimit)
            rowLimit += 1
            rows.reserve(rows: rowLimit)
        }
        slots.reserve(rows: user + 1)
        slots[user, 0] = row + 1
        let twin = rows.mutableRow(Int(row))
        twin.update(from: vector, count: dimension)
        twin[dimension] = accumulator
    }

    /// What is wrong with a restored table, if anything: slots must point at distinct rows
    /// below `rowLimit`, and free rows be below it and unused.
    func inconsistency(users: Int) -> String? {
        var used = [Bool](repeating: false, count: rowLimit)
        for user in 0..<users {
            let slot = Int(slots[user, 0])
            guard slot == 0 || (slot <= rowLimit && !used[slot - 1]) else { return "twin slot \(slot) of user row \(user)" }
            if slot > 0 { used[slot - 1] = true }
        }
        for row in freeRows {
            guard row >= 0, Int(row) < rowLimit, !used[Int(row)] else { return "free twin row \(row)" }
            used[Int(row)] = true
        }
        return nil
    }

    /// Drops the twin of `user` (evicted or forgotten).
    mutating func remove(user: Int) {
        guard let row = row(ofUser: user) else { return }
        slots[user, 0] = 0
        rows.mutableRow(row).update(repeating: 0, count: rows.width)
        freeRows.append(Int32(row))
    }
}
