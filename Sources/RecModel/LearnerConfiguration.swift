/// One rating domain as the learner sees it.
public struct DomainSpec: Sendable, Equatable {
    public var name: String
    public var ratingRange: ClosedRange<Double>
    /// λ_d: scales every gradient of this domain's events (L = Σ_d λ_d L_d).
    public var lossWeight: Double
    /// Most items kept for this domain; the least recently rated are evicted beyond it.
    public var maxItems: Int
    public var isTarget: Bool

    public init(
        name: String, ratingRange: ClosedRange<Double>, lossWeight: Double = 1, maxItems: Int = 1_000_000,
        isTarget: Bool = false
    ) {
        self.name = name
        self.ratingRange = ratingRange
        self.lossWeight = lossWeight
        self.maxItems = maxItems
        self.isTarget = isTarget
    }
}

/// Hyper-parameters and bounds of the online learner.
public struct LearnerConfiguration: Sendable, Equatable {
    public var domains: [DomainSpec]
    /// k: length of the shared user vectors and of every item vector.
    public var dimension = 32
    public var seed: UInt64 = 42
    /// How vector steps are sized.
    public enum Optimizer: String, Sendable, CaseIterable {
        /// Plain SGD with a constant rate.
        case sgd
        /// AdaGrad with one accumulator per row (user, item).
        case adagrad
    }

    public var optimizer: Optimizer = .adagrad
    // Defaults chosen on MovieLens-1M prequential replay (docs/BENCHMARKS.md); stable over
    // learning rates 0.08–0.12 and regularization 0.01–0.03.
    public var learningRate = 0.1
    public var biasLearningRate = 0.03
    public var regularization = 0.03
    public var biasRegularization = 0.005
    /// Standard deviation of the seeded initial vectors.
    public var initScale = 0.05
    /// One user vector for all domains (collective MF, knowledge transfers between domains).
    /// When false each (user, domain) pair has its own vector: the ablation baseline.
    public var shareUserVectors = true
    /// Users are shared by every domain, so their bound is global.
    public var maxUsers = 10_000_000
    /// Ids unseen for this long (event time, ms) are evicted at the next sweep; 0 disables.
    public var idleExpiryMillis: Int64 = 0
    public var popularityHalfLifeMillis: Double = 7 * 86_400_000
    /// Most recent items remembered per (user, domain) for `exclude_seen`: large enough for
    /// real heavy users (MovieLens-1M's heaviest rated 2 314), so lists never repeat what the
    /// user rated below it (docs/OPERATIONS.md has the memory).
    public var seenItemsPerUser = defaultSeenItemsPerUser
    public static let defaultSeenItemsPerUser = 10_000
    /// Events in the sliding prequential window.
    public var metricsWindow = 10_000
    /// Every vector element is kept within ±this (with the clamped error, keeps all finite).
    public var parameterLimit = 10.0
    /// Latest ratings kept per target domain for the refit of its items at distillation
    /// (24 bytes each; 0: no refit, the student distills the online parameters as they are).
    public var recentTargetRatings = 1_000_000
    /// Latest ratings kept per other domain, for the joint refit (JointRefit.swift; 0: none).
    /// Kept only when some domain is a target and user vectors are shared.
    public var recentSourceRatings = 1_000_000
    /// Events between two idle-expiry sweeps.
    public var sweepEveryEvents = 65_536
    /// The ranking head that orders `recommend`'s lists (RankingHead.swift).
    public var ranking = RankingConfiguration()

    public init(domains: [DomainSpec]) {
        self.domains = domains
    }
}

/// One event for the learner: ids as strings, domain as an index into the configuration.
public struct Rating: Sendable, Equatable {
    public var domain: Int
    public var user: String
    public var item: String
    public var value: Double
    /// Event time; drives popularity decay and idle expiry (never the wall clock, so replays
    /// are deterministic).
    public var timestampMillis: Int64

    public init(domain: Int, user: String, item: String, value: Double, timestampMillis: Int64) {
        self.domain = domain
        self.user = user
        self.item = item
        self.value = value
        self.timestampMillis = timestampMillis
    }
}
