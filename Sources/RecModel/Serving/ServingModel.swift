/// The immutable model queries read: one compact student per domain (int8 item rows of the
/// student dimension, float biases), the student user rows, and the cold-start transfer,
/// built from a learner snapshot by `Learner.distill` and never changed afterwards.
///
/// Isolation: immutable. A new version is a new instance, published by one atomic swap; a
/// reader holding a version keeps answering from it, whatever is published meanwhile.
public final class ServingModel: Sendable {
    /// How an answer was produced (`personal`, `transfer`, `popular`): the learner's own.
    public typealias Strategy = Learner.Strategy

    public let version: Int
    /// Events the teacher had applied when this version was cut.
    public let appliedEvents: Int
    /// The teacher's clock (event time, ms) at the cut: popularity is decayed to it.
    public let clockMillis: Int64
    /// k': length of every student row.
    public let dimension: Int
    public let teacherDimension: Int
    public let domains: [ServedDomain]
    /// Time spent building this version (ns of monotonic clock).
    public let buildNanos: UInt64
    /// Which joint refit model this version's teacher was solved with; nil without one.
    public let jointRefit: JointChoice?
    let users: IDIndex
    let shareUserVectors: Bool
    /// The projections and maps of the full version this one was built with (itself, or the
    /// full version a light one starts from); nil on a replica (it is not encoded).
    let basis: ServingBasis?

    /// The full version whose projections this version uses: its own when it is a full
    /// version; nil when unknown (a model decoded on a replica).
    public var basisVersion: Int? { basis?.version }

    init(
        version: Int, appliedEvents: Int, clockMillis: Int64, dimension: Int, teacherDimension: Int,
        domains: [ServedDomain], buildNanos: UInt64, users: IDIndex, shareUserVectors: Bool, jointRefit: JointChoice? = nil,
        basis: ServingBasis? = nil
    ) {
        self.basis = basis
        self.jointRefit = jointRefit
        self.version = version
        self.appliedEvents = appliedEvents
        self.clockMillis = clockMillis
        self.dimension = dimension
        self.teacherDimension = teacherDimension
        self.domains = domains
        self.buildNanos = buildNanos
        self.users = users
        self.shareUserVectors = shareUserVectors
    }

    /// The same model under a new version with `user` gone (forget takes effect at once,
    /// before the next distillation refits the transfer without them).
    public func removing(user: String, version newVersion: Int) -> ServingModel {
        var remaining = users
        for d in domains.indices {
            let key = userKey(user, domain: d)
            if let row = remaining.find(key, hash: StableHash.hash(key)) { remaining.remove(row: row) }
        }
        return ServingModel(
            version: newVersion, appliedEvents: appliedEvents, clockMillis: clockMillis, dimension: dimension,
            teacherDimension: teacherDimension, domains: domains, buildNanos: buildNanos, users: remaining,
            shareUserVectors: shareUserVectors, jointRefit: jointRefit, basis: basis)
    }

    public func domainIndex(named name: String) -> Int? { domains.firstIndex { $0.name == name } }

    /// Bytes of the student tables (items, users) summed over domains.
    public var byteCount: Int { domains.reduce(0) { $0 + $1.itemBytes + $1.userBytes } }

    func userKey(_ user: String, domain d: Int) -> String {
        Learner.userKey(user, domain: d, shared: shareUserVectors)
    }

    /// The user's row and how domain `d` serves them; nil when unknown.
    func userRow(_ user: String, domain d: Int) -> (row: Int, strategy: Strategy)? {
        let key = userKey(user, domain: d)
        guard let row = users.find(key, hash: StableHash.hash(key)) else { return nil }
        return (Int(row), domains[d].personal.contains(Int(row)) ? .personal : .transfer)
    }
}

/// One domain of the serving model.
public struct ServedDomain: Sendable {
    public let name: String
    public let ratingRange: ClosedRange<Double>
    public let isTarget: Bool
    let mean: Double
    let items: IDIndex
    let liveItems: RowSet
    /// Student item rows by item row (zero for free rows).
    let itemRows: Int8Rows
    /// Item bias by item row, -∞ for free rows: added inside the scoring kernel, so a
    /// recommendation needs no per-item liveness test.
    let itemBias: [Float]
    /// The tables `recommend` ranks by: the ranking head's student when the learner has one,
    /// else these rating rows again (shared, not copied).
    let lists: ListTable
    /// The list table's item rows again, grouped for approximate top-k
    /// (`distill.index_clusters`); nil: every `recommend` scans all rows. A var only so that
    /// the build can record the recall it measured on the finished model.
    var index: ClusterIndex?
    /// ‖dequantized row‖ by item row, for cosine similarity.
    let itemNorms: [Float]
    /// Student user rows by global user row, `dimension` floats each (transfer users hold
    /// their mapped vector).
    let userRows: [Float]
    let userBias: [Float]
    /// Users with ratings in this domain.
    let personal: RowSet
    let seen: SeenLists
    let seenLimit: Int
    /// The most popular items, best first, as (row, decayed count at the cut).
    let popular: [(row: Int32, count: Double)]
    public let fidelity: Fidelity
    public let transfer: TransferChoice?
    /// What the refit of a target domain's items on its latest ratings chose (nil: no refit).
    public let refit: RefitChoice?

    var itemBytes: Int {
        itemRows.byteCount + itemBias.count * 4 + (index?.byteCount ?? 0) + (lists.isRanking ? lists.itemRows.byteCount + lists.itemBias.count * 4 : 0)
    }

    /// The cluster index's shape and measured recall, for `stats`.
    public var indexSummary: (clusters: Int, probe: Int, recallAt10: Double?)? {
        index.map { ($0.clusters, $0.probe, $0.recallAt10) }
    }
    var userBytes: Int { userRows.count * 4 + userBias.count * 4 + (lists.isRanking ? lists.userRows.count * 4 : 0) }
}

/// Student rows a list is ranked by: a candidate's score is `base` + item bias + user row ·
/// item row.
struct ListTable: Sendable {
    let itemRows: Int8Rows
    /// -∞ for free rows.
    let itemBias: [Float]
    let userRows: [Float]
    /// The ranking head's rows (scores are logits, unbounded); else the rating head's
    /// (scores are predicted ratings, shown clipped to the range).
    let isRanking: Bool
    /// The user's part of a rating score: the domain mean plus the user's bias (the served
    /// user biases, shared); none for the ranking head, where a constant per user orders nothing.
    let userBase: (mean: Float, bias: [Float])?

    @inline(__always)
    func base(userRow row: Int) -> Float { userBase.map { $0.mean + $0.bias[row] } ?? 0 }
}

/// A set of rows as a bitset.
struct RowSet: Sendable {
    private(set) var words: [UInt64]

    init(capacity: Int) { words = Array(repeating: 0, count: (capacity + 63) / 64) }
    init(words: [UInt64]) { self.words = words }

    @inline(__always)
    func contains(_ row: Int) -> Bool {
        row >> 6 < words.count && words[row >> 6] & (1 << UInt64(row & 63)) != 0
    }

    mutating func insert(_ row: Int) { words[row >> 6] |= 1 << UInt64(row & 63) }
}

/// How far the student is from its teacher, measured on a sample of users at build time.
public struct Fidelity: Sendable, Equatable {
    /// RMSE of the student's rating predictions against the teacher's, over every item of
    /// the sampled users.
    public var scoreRMSE: Double
    /// Mean share of the teacher's top 10 the student also ranks in its top 10 (by the
    /// ranking head when the learner has one).
    public var top10Overlap: Double
    public var sampledUsers: Int
    /// Share of the teacher's score energy the k' kept directions hold.
    public var retainedEnergy: Double
    public var studentBytes: Int
    public var teacherBytes: Int
}

/// The cold-start transfer chosen for a target domain at build time.
public struct TransferChoice: Sendable, Equatable {
    /// `shared`: the user's shared vector alone; `shared+bias`: plus a target-domain bias
    /// mapped by ridge regression from their vector and other-domain biases; `bridge`: a
    /// corrected vector and a bias fitted on target ratings (TransferMap.swift).
    public var method: String
    /// RMSE of each candidate on the held-out overlapping users' target ratings, through
    /// their source-only twins (before any twin exists: on their target biases), by method.
    public var validationRMSE: [String: Double]
    /// Overlapping users the served map was fitted on.
    public var trainingUsers: Int
    /// Overlapping users whose ratings judged the candidates (each while held out).
    public var validationUsers: Int
}

/// The joint refit of a build (JointRefit.swift, Learner+JointChoice.swift).
public struct JointChoice: Sendable, Equatable {
    /// `cmf` or `refit` (JointRefit.Model).
    public var model: String
    /// RMSE of each model on the held-out users' target ratings, solved without them; empty
    /// when only one model was a candidate.
    public var validationRMSE: [String: Double]
    /// Held-out users whose target ratings judged the models.
    public var validationUsers: Int
    /// Ratings in the rings, and the users solved (those whose every rating the rings hold).
    public var ratings: Int
    public var users: Int
    /// The version whose build judged the models (this one, or an earlier one whose choice
    /// was kept: `DistillOptions.jointRefitJudgeEvery`).
    public var judgedVersion: Int
}

/// The refit of a target domain at build time (Learner+Refit.swift).
public struct RefitChoice: Sendable, Equatable {
    /// The item vectors' L2 penalty used.
    public var regularization: Double
    /// RMSE on the held-out users' ratings by candidate penalty (empty with one candidate).
    public var validationRMSE: [Double: Double]
    /// Ratings of the ring that named a live user and item, and the items and users they cover.
    public var ratings: Int
    public var items: Int
    public var users: Int
}
