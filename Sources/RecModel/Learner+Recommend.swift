/// Top-k answers straight from the learner (exact float scores over every item of a domain),
/// served until the compact distilled model takes over.
extension Learner {
    /// How an answer was produced.
    public enum Strategy: String, Sendable {
        /// The user has ratings in this domain.
        case personal
        /// The user is known from other domains only: their shared vector carries the taste over.
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
        let key = configuration.shareUserVectors ? user : Self.perDomainKey(user, d)
        guard let u = users.find(key, hash: StableHash.hash(key)) else {
            return (popular(domain: d, k: k).map { Recommendation(item: $0.item, score: $0.count) }, .popular)
        }
        let state = domains[d]
        let strategy: Strategy = state.userScalars[Int(u), UserColumn.ratings] > 0 ? .personal : .transfer
        let seen = excludeSeen ? Set(state.seen[u]?.suffix(configuration.seenItemsPerUser) ?? []) : []
        let range = configuration.domains[d].ratingRange
        let base = state.mean + state.userScalars[Int(u), UserColumn.bias]
        let userVector = userVectors.row(Int(u))
        var best = TopK(k: k)
        state.items.forEach { row, id in
            if !seen.isEmpty, seen.contains(state.items.hash(of: row)) { return }
            let raw = base + state.itemScalars[Int(row), ItemColumn.bias]
                + Double(VectorMath.dot(userVector, state.itemVectors.row(Int(row)), dimension))
            best.offer(Recommendation(item: id, score: min(max(raw, range.lowerBound), range.upperBound)))
        }
        return (best.sorted(), strategy)
    }
}

/// Keeps the k best recommendations seen so far (a min-heap on score; ties: smaller id wins).
struct TopK {
    let k: Int
    private var heap: [Learner.Recommendation] = []

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    /// `a` ranks below `b`.
    private static func worse(_ a: Learner.Recommendation, _ b: Learner.Recommendation) -> Bool {
        a.score != b.score ? a.score < b.score : a.item > b.item
    }

    mutating func offer(_ candidate: Learner.Recommendation) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.append(candidate)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.worse(heap[child], heap[parent]) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if Self.worse(heap[0], candidate) {
            heap[0] = candidate
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count, Self.worse(heap[left], heap[smallest]) { smallest = left }
                if right < heap.count, Self.worse(heap[right], heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }

    func sorted() -> [Learner.Recommendation] {
        heap.sorted { Self.worse($1, $0) }
    }
}
