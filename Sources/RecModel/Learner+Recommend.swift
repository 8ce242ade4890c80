/// Top-k answers straight from the learner (exact float scores over every item of a domain):
/// the teacher's answers, which the serving model's are measured against (fidelity, benchmarks).
extension Learner {
    /// How an answer was produced.
    public enum Strategy: String, Sendable {
        /// The user has ratings in this domain.
        case personal
        /// The user is known from other domains only: their shared vector (and, in the serving
        /// model, the transfer map) carries the taste over.
        case transfer
        /// Unknown user: decayed popularity.
        case popular
    }

    public struct Recommendation: Sendable, Equatable {
        public var item: String
        public var score: Double
    }

    /// The `k` best items of domain `d` for `user`, best first, ties broken by item id.
    public func recommend(user: String, domain d: Int, k: Int, excludeSeen: Bool) -> (
        items: [Recommendation], strategy: Strategy
    ) {
        let key = Self.userKey(user, domain: d, shared: configuration.shareUserVectors)
        guard let u = users.find(key, hash: StableHash.hash(key)) else {
            return (popular(domain: d, k: k).map { Recommendation(item: $0.item, score: $0.count) }, .popular)
        }
        let state = domains[d]
        let strategy: Strategy = userRecords[Int(u), domain: d, UserColumn.ratings] > 0 ? .personal : .transfer
        // Seen items as a bitset over rows: a bit test per item instead of a hash lookup.
        var seenRows = [UInt64](repeating: 0, count: excludeSeen ? (state.items.rowLimit + 63) / 64 : 0)
        if excludeSeen {
            for hash in state.seen[u]?.suffix(configuration.seenItemsPerUser) ?? [] {
                if let row = state.items.row(ofHash: hash) { seenRows[Int(row) >> 6] |= 1 << (UInt64(row) & 63) }
            }
        }
        // Scores by row first; ids (strings) only for the winners.
        var best = TopRows(k: k)
        let scorer = listScorer(userRow: Int(u), domain: d)
        for row in 0..<state.items.rowLimit where state.items.isLive(Int32(row)) {
            if excludeSeen, seenRows[row >> 6] & (1 << (UInt64(row) & 63)) != 0 { continue }
            best.offer(score: scorer.score(itemRow: row), row: Int32(row), ids: state.items)
        }
        return (best.sorted(ids: state.items), strategy)
    }

    /// The ranking head's bias of an item (its learned share of choices); nil when unknown.
    public func rankingBias(item: String, domain d: Int) -> Float? {
        domains[d].items.find(item, hash: StableHash.hash(item)).map { domains[d].itemRecords.rank(Int($0))[dimension] }
    }

    /// What orders user row `u`'s lists in domain `d`, read once for all the items it scores.
    func listScorer(userRow u: Int, domain d: Int, users: UserRecords? = nil) -> ListScorer {
        ListScorer(
            items: domains[d].itemRecords, user: (users ?? userRecords).vector(u), dimension: dimension,
            ranking: configuration.ranking.isEnabled,
            base: domains[d].mean + userRecords[u, domain: d, UserColumn.bias], range: configuration.domains[d].ratingRange)
    }
}

/// The teacher's list score of one user: the ranking head's c_i + p_u·w_i when it is on, else
/// the predicted rating, clipped. Valid while the learner it came from is not changed.
struct ListScorer {
    let items: ItemRecords
    let user: UnsafePointer<Float>
    let dimension: Int
    let ranking: Bool
    /// The rating head's per-user part: the domain mean plus the user's bias.
    let base: Double
    let range: ClosedRange<Double>

    @inline(__always)
    func score(itemRow row: Int) -> Double {
        if ranking {
            let rank = items.rank(row)
            return Double(rank[dimension] + VectorMath.dot(user, rank, dimension))
        }
        let raw = base + items[row, Learner.ItemColumn.bias] + Double(VectorMath.dot(user, items.vector(row), dimension))
        return min(max(raw, range.lowerBound), range.upperBound)
    }
}

/// Keeps the k best (score, row) pairs (a min-heap; ties: the smaller id ranks higher, so
/// answers do not depend on row order).
struct TopRows {
    let k: Int
    private var heap: [(score: Double, row: Int32)] = []

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    /// The lowest kept score once `k` are kept (nil before): nothing below it can enter.
    var worstKept: Double? { heap.count == k && k > 0 ? heap[0].score : nil }

    /// `a` ranks below `b`; ids are compared only on equal scores.
    private static func worse(_ a: (score: Double, row: Int32), _ b: (score: Double, row: Int32), _ ids: IDIndex) -> Bool {
        if a.score != b.score { return a.score < b.score }
        return (ids.key(of: a.row) ?? "") > (ids.key(of: b.row) ?? "")
    }

    @inline(__always)
    mutating func offer(score: Double, row: Int32, ids: IDIndex) {
        guard k > 0 else { return }
        let candidate = (score, row)
        if heap.count < k {
            heap.append(candidate)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.worse(heap[child], heap[parent], ids) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if score >= heap[0].score, Self.worse(heap[0], candidate, ids) {
            heap[0] = candidate
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count, Self.worse(heap[left], heap[smallest], ids) { smallest = left }
                if right < heap.count, Self.worse(heap[right], heap[smallest], ids) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }

    /// The kept (score, row) pairs, best first.
    func sortedRows(ids: IDIndex) -> [(score: Double, row: Int32)] {
        heap.sorted { Self.worse($1, $0, ids) }
    }

    func sorted(ids: IDIndex) -> [Learner.Recommendation] {
        sortedRows(ids: ids).map { Learner.Recommendation(item: ids.key(of: $0.row) ?? "", score: $0.score) }
    }
}

extension Learner {
    /// Where `item` would stand in `user`'s list of domain `d` right now (0: first), among the
    /// items a list could hold (those the user rated excluded, the item itself never), and the
    /// size of that list; nil unless the user has ratings in `d` and the item is known. Ties
    /// count against the item. For prequential ranking metrics: asked before the event is
    /// learned, it says whether the model would have shown the item the user then chose.
    public func listPosition(of item: String, user: String, domain d: Int) -> (position: Int, candidates: Int)? {
        let state = domains[d]
        let key = Self.userKey(user, domain: d, shared: configuration.shareUserVectors)
        guard let u = users.find(key, hash: StableHash.hash(key)), userRecords[Int(u), domain: d, UserColumn.ratings] > 0,
            let target = state.items.find(item, hash: StableHash.hash(item))
        else { return nil }
        let seen = Set(state.seen[u]?.suffix(configuration.seenItemsPerUser) ?? [])
        let scorer = listScorer(userRow: Int(u), domain: d)
        let targetScore = scorer.score(itemRow: Int(target))
        var (above, candidates) = (0, 0)
        for row in 0..<state.items.rowLimit where row != Int(target) && state.items.isLive(Int32(row)) {
            if !seen.isEmpty, seen.contains(state.items.hash(of: Int32(row))) { continue }
            candidates += 1
            if scorer.score(itemRow: row) >= targetScore { above += 1 }
        }
        return (above, candidates + 1)
    }
}
