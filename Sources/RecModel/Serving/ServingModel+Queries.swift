/// Answers from the compact student: O(items of one domain) per query, whatever the number of
/// users (a user is one hash lookup and one row).
extension ServingModel {
    public typealias Recommendation = Learner.Recommendation

    /// The `k` best items of domain `d` for `user`, best first, ties by item id: ranked by the
    /// ranking head's student when there is one (the score shown is its logit), else by the
    /// rating student's score (unclipped, so ranks stay distinct above the top of the range;
    /// the score shown is the predicted rating, clipped to the range).
    public func recommend(user: String, domain d: Int, k: Int, excludeSeen: Bool) -> (
        items: [Recommendation], strategy: Strategy
    ) {
        guard let (row, strategy) = userRow(user, domain: d) else {
            return (popular(domain: d, k: k).map { Recommendation(item: $0.item, score: $0.count) }, .popular)
        }
        let served = domains[d]
        let items = topItems(userRow: row, domain: d, k: k, excludeSeen: excludeSeen, useIndex: true)
        guard !served.lists.isRanking else { return (items, strategy) }
        let range = served.ratingRange
        return (items.map { Recommendation(item: $0.item, score: min(max($0.score, range.lowerBound), range.upperBound)) }, strategy)
    }

    /// The top `k` of domain `d` for a user row, unclipped; through the cluster index when the
    /// domain has one and `useIndex` (else the exact scan of every item).
    func topItems(userRow row: Int, domain d: Int, k: Int, excludeSeen: Bool, useIndex: Bool) -> [Recommendation] {
        let served = domains[d]
        guard served.items.rowLimit > 0 else { return [] }
        // Items to skip, by id hash: only candidates are looked up.
        let seenHashes = excludeSeen ? served.seen[Int32(row)]?.suffix(served.seenLimit) ?? [] : ArraySlice<UInt64>()
        let seen = SeenHashSet(seenHashes)  // empty: keep all
        // Candidate scores are item bias + dot, -∞ for free rows; the user's base is the same
        // for every item, so it is added only to the candidates.
        let lists = served.lists
        var scan = TopKScan(k: k, base: lists.base(userRow: row), seen: seenHashes.count)
        // Through the index, rows are positions in cluster order; without it, item rows.
        let index = useIndex ? served.index : nil
        let (itemAt, hashAt) = (index?.itemAt, index?.hashAt)
        lists.userRows.withUnsafeBufferPointer { rows in
            let query = rows.baseAddress! + row * dimension
            (index?.rows ?? lists.itemRows).visitCandidates(
                query, offsets: index?.offsets ?? lists.itemBias, ranges: index?.clustersToProbe(query),
                floor: { scan.floor(forRunWith: $0) }
            ) { position, score in
                if let itemAt, let hashAt {
                    scan.consider(score: score, item: Int(itemAt[position]), hash: hashAt[position], seen: seen, ids: served.items)
                } else {
                    scan.consider(
                        score: score, item: position, hash: served.items.hash(of: Int32(position)), seen: seen, ids: served.items)
                }
            }
        }
        return scan.best.sorted(ids: served.items)
    }

    /// The predicted rating of (user, item) in domain `d`, clipped, and how it was made; nil
    /// when the item is unknown. An unknown user gets the domain mean plus the item bias.
    public func predict(user: String, item: String, domain d: Int) -> (score: Double, strategy: Strategy)? {
        let served = domains[d]
        guard let itemRow = served.items.find(item, hash: StableHash.hash(item)) else { return nil }
        var raw = served.mean + Double(served.itemBias[Int(itemRow)])
        var strategy = Strategy.popular
        if let (row, userStrategy) = userRow(user, domain: d) {
            strategy = userStrategy
            let itemVector = served.itemRows.row(Int(itemRow))
            raw += Double(served.userBias[row])
            served.userRows.withUnsafeBufferPointer { rows in
                itemVector.withUnsafeBufferPointer { raw += Double(VectorMath.dot(rows.baseAddress! + row * dimension, $0.baseAddress!, dimension)) }
            }
        }
        return (min(max(raw, served.ratingRange.lowerBound), served.ratingRange.upperBound), strategy)
    }

    /// The `k` items of domain `d` most similar to `item` by cosine of the student item rows,
    /// best first, ties by id; nil when the item is unknown.
    public func similar(item: String, domain d: Int, k: Int) -> [Recommendation]? {
        let served = domains[d]
        guard let target = served.items.find(item, hash: StableHash.hash(item)).map(Int.init) else { return nil }
        let count = served.items.rowLimit
        var scores = [Float](repeating: 0, count: count)
        let query = served.itemRows.row(target)
        query.withUnsafeBufferPointer { query in
            scores.withUnsafeMutableBufferPointer { served.itemRows.scores(query.baseAddress!, into: $0) }
        }
        let targetNorm = served.itemNorms[target]
        var best = TopRows(k: k)
        for row in 0..<count where row != target && served.liveItems.contains(row) {
            let norms = targetNorm * served.itemNorms[row]
            best.offer(score: norms > 0 ? Double(scores[row] / norms) : 0, row: Int32(row), ids: served.items)
        }
        return best.sorted(ids: served.items)
    }

    /// The `k` most popular items of domain `d` at the cut (decayed counts), ties by id.
    public func popular(domain d: Int, k: Int) -> [(item: String, count: Double)] {
        let served = domains[d]
        return served.popular.prefix(k).map { (served.items.key(of: $0.row) ?? "", $0.count) }
    }

    /// True when domain `d` has a rating of `user` (for tests and tools).
    public func strategy(user: String, domain d: Int) -> Strategy {
        userRow(user, domain: d)?.strategy ?? .popular
    }
}
