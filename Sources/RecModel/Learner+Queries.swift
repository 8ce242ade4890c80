/// Read-only views of the learner: predictions, counts and metrics.
extension Learner {
    /// Per-domain figures for `stats` and logs.
    public struct DomainStatistics: Sendable, Equatable {
        public var name: String
        public var events: Int
        public var users: Int
        public var items: Int
        public var evictedItems: Int
        public var mean: Double
        public var metrics: PrequentialMetrics
    }

    public var userCount: Int { users.count }

    public func statistics(domain d: Int) -> DomainStatistics {
        let state = domains[d]
        return DomainStatistics(
            name: configuration.domains[d].name, events: state.events, users: state.usersWithRatings,
            items: state.items.count, evictedItems: state.evictedItems, mean: state.mean, metrics: state.metrics)
    }

    public func domainIndex(named name: String) -> Int? {
        configuration.domains.firstIndex { $0.name == name }
    }

    /// The model's rating for (user, item) in domain `d`, clipped; nil when the item is unknown.
    /// An unknown user gets the domain mean plus the item bias.
    public func predict(user: String, item: String, domain d: Int) -> Double? {
        guard let i = domains[d].items.find(item, hash: StableHash.hash(item)) else { return nil }
        let range = configuration.domains[d].ratingRange
        var raw = domains[d].mean + domains[d].itemRecords[Int(i), ItemColumn.bias]
        let key = Self.userKey(user, domain: d, shared: configuration.shareUserVectors)
        if let u = users.find(key, hash: StableHash.hash(key)) {
            raw += userRecords[Int(u), domain: d, UserColumn.bias]
            raw += Double(VectorMath.dot(userRecords.vector(Int(u)), domains[d].itemRecords.vector(Int(i)), dimension))
        }
        return min(max(raw, range.lowerBound), range.upperBound)
    }

    /// True when the user rated the item in domain `d` (among the remembered most recent ones).
    public func hasSeen(user: String, item: String, domain d: Int) -> Bool {
        guard let u = users.find(user, hash: StableHash.hash(user)) else { return false }
        let limit = configuration.seenItemsPerUser
        return domains[d].seen[u]?.suffix(limit).contains(StableHash.hash(item)) ?? false
    }

    /// The user's shared vector, when known (a copy).
    public func userVector(_ user: String) -> [Float]? {
        guard let u = users.find(user, hash: StableHash.hash(user)) else { return nil }
        return Array(UnsafeBufferPointer(start: userRecords.vector(Int(u)), count: dimension))
    }

    /// Ratings of an item applied so far (nil when the item is unknown).
    public func ratingCount(item: String, domain d: Int) -> Int? {
        domains[d].items.find(item, hash: StableHash.hash(item)).map { Int(domains[d].itemRecords[Int($0), ItemColumn.ratings]) }
    }

    /// Decayed rating count of an item at the learner's clock.
    public func popularity(item: String, domain d: Int) -> Double {
        guard let i = domains[d].items.find(item, hash: StableHash.hash(item)) else { return 0 }
        return domains[d].popularityClock.count(domains[d].itemRecords[Int(i), ItemColumn.popularity], nowMillis: clockMillis)
    }

    /// The `k` most popular items of domain `d` (decayed counts at the learner's clock),
    /// ties broken by id so that the answer is deterministic.
    public func popular(domain d: Int, k: Int) -> [(item: String, count: Double)] {
        let state = domains[d]
        // The same bounded heap as recommendations: O(items · log k), not a sort of every item.
        var best = TopRows(k: k)
        for row in 0..<state.items.rowLimit where state.items.isLive(Int32(row)) {
            best.offer(score: state.itemRecords[row, ItemColumn.popularity], row: Int32(row), ids: state.items)
        }
        return best.sorted(ids: state.items).map { ($0.item, state.popularityClock.count($0.score, nowMillis: clockMillis)) }
    }
}

extension Learner {
    /// True when no parameter is NaN or infinite (the numeric-safety invariant).
    public func parametersAreFinite() -> Bool {
        func finite<T: BinaryFloatingPoint>(_ matrix: ChunkedMatrix<T>) -> Bool {
            var ok = true
            matrix.forEachChunk { bytes in
                if ok { ok = bytes.bindMemory(to: T.self).allSatisfy(\.isFinite) }
            }
            return ok
        }
        return userRecords.allFinite(rows: users.rowLimit) && domains.allSatisfy { state in
            state.itemRecords.allFinite(rows: state.items.rowLimit) && state.mean.isFinite
        }
    }
}
