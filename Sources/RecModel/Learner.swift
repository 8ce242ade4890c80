/// The online learner: per-domain biased matrix factorization whose user vectors are shared by
/// every domain (collective MF), updated by one SGD step per event, test-then-train.
///
/// r̂ = μ_d + b_{u,d} + b_i + p_u·v_i, clipped to the domain's range.
///
/// Isolation: a value type with a single writer (the ingest thread). Copying it is the
/// snapshot: parameter tables are chunked copy-on-write, so a copy costs O(chunks) and never
/// changes afterwards, whatever the writer does.
public struct Learner: Sendable {
    public let configuration: LearnerConfiguration
    let dimension: Int
    /// Per-domain constants of the hot path, copied out of `configuration` once (reading a
    /// `DomainSpec` there would retain and release its name on every event).
    let bounds: [Bounds]
    typealias Bounds = (low: Double, high: Double, weight: Double, keepsRecent: Bool, twins: TwinRole)
    /// The hyper-parameters of a step, copied out of `configuration` once, like `bounds`.
    let rates: StepRates
    let rankRates: RankingHead.Rates

    /// What a domain's events do to the user twins (UserTwins.swift), which are kept when
    /// some domain is a target and vectors are shared.
    enum TwinRole {
        case none, create, step
    }
    var users = IDIndex()
    /// Shared vector, AdaGrad accumulator, last-seen time and per-domain scalars of each user.
    var userRecords: UserRecords
    /// Source-only twins of the shared vectors of users with target ratings (UserTwins.swift).
    var twins: UserTwins
    var domains: [DomainState]
    /// Highest event time seen (ms): the learner's clock for decay and expiry.
    public internal(set) var clockMillis: Int64 = 0
    var eventsSinceSweep = 0
    public internal(set) var evictedUsers = 0
    public internal(set) var appliedEvents = 0
    /// Hashes of forgotten users: their events are skipped from then on.
    var tombstones: Set<UInt64> = []
    /// Events skipped because their user was forgotten.
    public internal(set) var skippedForgotten = 0
    /// The previous event's user key and row. Rating streams come in per-user bursts (3 of 4
    /// consecutive MovieLens-1M events share the user), and a hit skips hashing the id and
    /// probing the index. Cleared when a user row is removed; checked against the row anyway.
    /// Two fields, not an optional tuple: reading the key in place does not retain it.
    var lastUserKey = ""
    var lastUserRow: Int32 = -1

    /// Scalars of an item record (`DomainState.itemRecords`).
    enum ItemColumn {
        static let bias = 0, baselineBias = 1, popularity = 2, ratings = 3, accumulator = 4, count = 5
    }

    /// Per-domain scalars of a user record (`userRecords`).
    enum UserColumn {
        static let bias = 0, baselineBias = 1, ratings = 2, count = 3
    }

    struct DomainState: Sendable {
        var items = IDIndex()
        var itemRecords: ItemRecords
        /// Item hashes each user rated here, oldest first, at most `seenItemsPerUser`.
        var seen = SeenLists()
        var mean: Double
        var events = 0
        var usersWithRatings = 0
        var metrics: PrequentialMetrics
        var evictedItems = 0
        var popularityClock: DecayClock
        /// The latest ratings of the domain, for the refits at distillation.
        var recent: RecentRatings
    }

    public init(configuration: LearnerConfiguration) {
        precondition(!configuration.domains.isEmpty, "the learner needs at least one domain")
        self.configuration = configuration
        dimension = configuration.dimension
        let keepsTwins = configuration.shareUserVectors && configuration.domains.contains(where: \.isTarget)
        // The joint refit serves cold users of target domains: without one, no source ring.
        let ring = { (spec: DomainSpec) in
            spec.isTarget ? configuration.recentTargetRatings : keepsTwins ? configuration.recentSourceRatings : 0
        }
        bounds = configuration.domains.map {
            ($0.ratingRange.lowerBound, $0.ratingRange.upperBound, $0.lossWeight, ring($0) > 0,
             !keepsTwins ? .none : $0.isTarget ? .create : .step)
        }
        rates = StepRates(configuration)
        rankRates = RankingHead.Rates(configuration)
        twins = UserTwins(dimension: configuration.dimension)
        userRecords = UserRecords(dimension: configuration.dimension, domains: configuration.domains.count)
        domains = configuration.domains.map { spec in
            DomainState(
                itemRecords: ItemRecords(dimension: configuration.dimension),
                mean: (spec.ratingRange.lowerBound + spec.ratingRange.upperBound) / 2,
                metrics: PrequentialMetrics(window: configuration.metricsWindow),
                popularityClock: DecayClock(halfLifeMillis: configuration.popularityHalfLifeMillis),
                recent: RecentRatings(capacity: ring(spec)))
        }
    }

    /// Test-then-train on one event; returns the prediction made before learning from it (NaN
    /// when the event is skipped because its user was forgotten).
    @discardableResult
    public mutating func apply(_ rating: consuming Rating) -> Double {
        let d = rating.domain
        let (low, high, _, keepsRecent, _) = bounds[d]
        if !tombstones.isEmpty, tombstones.contains(StableHash.hash(rating.user)) {
            skippedForgotten += 1
            return .nan
        }
        let value = min(max(rating.value, low), high)
        clockMillis = max(clockMillis, rating.timestampMillis)
        // The id is lent when vectors are shared: building the key would retain it, and
        // release it again on a cache hit (two atomic operations on most events).
        let u = Int(
            configuration.shareUserVectors ? cachedUserRow(rating.user) : cachedUserRow(Self.perDomainKey(rating.user, d)))
        let (itemRowIndex, itemHash) = itemRow(rating.item, domain: d)
        let i = Int(itemRowIndex)
        // Writable once for the whole step: nothing else writes the user table until it ends,
        // so the record's chunk stays where it is.
        let user = userRecords.writable(u)
        user.lastSeen.pointee = clockMillis
        if keepsRecent { domains[d].recent.append(user: users.hash(of: Int32(u)), item: itemHash, value: value) }

        let prediction = domains[d].learn(
            Step(user: u, item: i, itemHash: itemHash, value: value, timeMillis: rating.timestampMillis, clockMillis: clockMillis),
            bounds: bounds[d], rates: rates, user: user, userScalars: user.scalars(domain: d), twins: &twins)
        if rankRates.negatives > 0 {
            // The negatives' generator is seeded by the event's position in the stream, which
            // the checkpoint holds: a restored learner draws what the original would have.
            let sample = StableHash.finalize(configuration.seed ^ UInt64(appliedEvents) &* 0x9E37_79B9_7F4A_7C15)
            domains[d].rankStep(user: user.vector, item: i, sample: sample, rates: rankRates)
        }
        appliedEvents += 1
        eventsSinceSweep += 1
        if configuration.idleExpiryMillis > 0, eventsSinceSweep >= configuration.sweepEveryEvents { expireIdle() }
        return prediction
    }

    /// Key of a user's row when vectors are not shared: the domain index, a unit separator, the id.
    static func perDomainKey(_ user: String, _ domain: Int) -> String { "\(domain)\u{1F}\(user)" }

    /// Key of the user's row for domain `d`: the id itself when vectors are shared.
    @inline(__always)
    static func userKey(_ user: String, domain d: Int, shared: Bool) -> String { shared ? user : perDomainKey(user, d) }

    /// `userRow`, through the one-entry cache of the previous event's user.
    @inline(__always)
    mutating func cachedUserRow(_ id: borrowing String) -> Int32 {
        if lastUserRow >= 0, lastUserKey == id, users.isLive(lastUserRow) { return lastUserRow }
        let row = userRow(id)
        (lastUserKey, lastUserRow) = (copy id, row)
        return row
    }

    /// The user's row, created (seeded init, scalars reset) when new; makes room first at the cap.
    mutating func userRow(_ id: String) -> Int32 {
        let hash = StableHash.hash(id)
        if let row = users.find(id, hash: hash) { return row }
        if users.count >= configuration.maxUsers { evictLeastRecentUsers() }
        let row = users.findOrInsert(id, hash: hash).row
        userRecords.reserve(rows: users.rowLimit)
        let record = userRecords.writable(Int(row))
        record.accumulator.pointee = 0
        twins.slots.reserve(rows: users.rowLimit)
        SeededInit.fill(
            record.vector, count: dimension, idHash: hash, seed: configuration.seed,
            scale: Float(configuration.initScale))
        return row
    }

    /// The item's row (created when new) and its stable hash.
    mutating func itemRow(_ id: String, domain d: Int) -> (row: Int32, hash: UInt64) {
        let hash = StableHash.hash(id)
        if let row = domains[d].items.find(id, hash: hash) { return (row, hash) }
        if domains[d].items.count >= configuration.domains[d].maxItems { evictLeastRecentItems(domain: d) }
        let row = domains[d].items.findOrInsert(id, hash: hash).row
        let limit = domains[d].items.rowLimit
        domains[d].itemRecords.reserve(rows: limit)
        let record = domains[d].itemRecords.writable(Int(row))
        // Items of different domains with the same id get different vectors.
        SeededInit.fill(
            record.vector, count: dimension, idHash: hash,
            seed: configuration.seed &+ UInt64(d + 1) &* 0x9E37_79B9, scale: Float(configuration.initScale))
        record.scalars.update(repeating: 0, count: ItemColumn.count)
        seedRanking(record.rank, idHash: hash, domain: d)
        return (row, hash)
    }

    /// A new item's ranking part: its seeded vector (a pure function of id and seed, another
    /// stream than the rating vector's), a zero bias and accumulator.
    func seedRanking(_ rank: UnsafeMutablePointer<Float>, idHash: UInt64, domain d: Int) {
        SeededInit.fill(
            rank, count: dimension, idHash: idHash, seed: RankingHead.initSeed(configuration.seed, domain: d),
            scale: Float(configuration.initScale))
        rank.advanced(by: dimension).update(repeating: 0, count: RankingHead.scalarCount)
    }
}
