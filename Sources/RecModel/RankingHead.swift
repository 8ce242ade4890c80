internal import CKernels

/// Settings of the ranking head: a second objective learned on the same events, next to the
/// rating objective, whose scores order `recommend`'s lists.
///
/// Why a second head: squared loss on explicit ratings ranks obscure, highly rated items
/// first (a five-star film seen by twelve people), while what a user will watch next is
/// mostly what is watched. Every rating is also an interaction, so each event is a positive
/// of a sampled-softmax objective over the domain's items: L = L_rating + λ·L_rank, the user
/// vector shared by both (docs/ARCHITECTURE.md, "The ranking head").
public struct RankingConfiguration: Sendable, Equatable {
    /// Items sampled uniformly per event as negatives; 0 turns the head off (lists are then
    /// ranked by predicted rating). On the top-N benchmark's validation split 2, 3, 4 and 8 tie
    /// within the spread of the seed (NDCG@10 0.2527 / 0.2529 / 0.2541, five seeds each; 1
    /// is 0.005 lower), and each negative costs about 40 ns an event: 2 is the cheapest of them.
    public var negatives = 2
    /// AdaGrad rate of the items' ranking vectors.
    public var learningRate = 0.1
    /// SGD rate of the items' ranking biases (constant: see `crossrec_rank_step`).
    public var biasLearningRate = 0.01
    /// L2 penalty of the ranking vectors.
    public var regularization = 0.01
    /// λ: the ranking gradient's share on the shared user vector (0: the head learns item
    /// rows only, against user vectors the rating objective learns).
    public var userWeight = 0.1
    /// SGD rate of that share on the user vector.
    public var userLearningRate = 0.05

    public init() {}

    public var isEnabled: Bool { negatives > 0 }
}

/// The ranking head's step and its layout inside an item record (ItemRecords.swift): the
/// vector w_i (k floats), then its bias c_i and its AdaGrad accumulator. s(u, i) = c_i + p_u·w_i.
public enum RankingHead {
    /// Floats after the vector: bias, accumulator.
    static let scalarCount = 2
    /// Most negatives an event samples (bounds the step's stack arrays).
    public static let maxNegatives = 64

    /// The hyper-parameters of a ranking step, copied out of the configuration once.
    struct Rates {
        let dimension: Int
        let negatives: Int
        let learningRate: Float
        let regularization: Float
        let biasRate: Float
        let userRate: Float
        let limit: Float

        init(_ configuration: LearnerConfiguration) {
            let ranking = configuration.ranking
            dimension = configuration.dimension
            negatives = min(max(0, ranking.negatives), RankingHead.maxNegatives)
            learningRate = Float(ranking.learningRate)
            regularization = Float(ranking.regularization)
            biasRate = Float(ranking.biasLearningRate)
            userRate = Float(ranking.userWeight * ranking.userLearningRate)
            limit = Float(configuration.parameterLimit)
        }
    }

    /// The kernel (`crossrec_rank_step`); `portable`: the baseline code even where AVX2 is there.
    @inline(__always)
    static func step(
        user p: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>, count: Int, dimension k: Int,
        rates: Rates, scratch: UnsafeMutablePointer<Float>, portable: Bool = false
    ) {
        crossrec_rank_step(
            p, rows, count, k, rates.learningRate, rates.regularization, rates.biasRate, rates.userRate, rates.limit, scratch,
            portable ? 0 : 1)
    }

    /// The seed of an item's initial ranking vector in domain `d` (another stream than the
    /// rating vector's, so the two heads start apart).
    static func initSeed(_ seed: UInt64, domain d: Int) -> UInt64 {
        (seed &+ UInt64(d + 1) &* 0x9E37_79B9) ^ 0x5241_4E4B_4845_4144
    }
}

extension Learner.DomainState {
    /// One sampled-softmax step for the event's (user, item): the item against
    /// `rates.negatives` rows drawn uniformly from the domain's live rows other than it, by a
    /// generator seeded with `sample` (deterministic: replays and restored runs draw the same
    /// negatives), at most twice as many tries. `portable`: the baseline kernel even where
    /// AVX2 is there (tests compare the two).
    ///
    /// Uniform negatives make the sampled softmax an unbiased estimate of the full softmax over
    /// the catalog (the log-Q correction is a constant), so the biases learn how often items
    /// are chosen and the vectors what sets a user's choices apart.
    ///
    /// Mutating, though drawing only reads: a non-mutating call on `domains[d]` copies the
    /// domain's state (a retain and release of each of its tables per event).
    @inline(__always)
    mutating func rankStep(
        user p: UnsafeMutablePointer<Float>, item positive: Int, sample: UInt64, rates: RankingHead.Rates, portable: Bool = false
    ) {
        let rowLimit = items.rowLimit
        guard rates.negatives > 0, rowLimit > 1 else { return }
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: rates.negatives + 1) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rates.negatives + 1) { scratch in
                rows[0] = itemRecords.writable(positive).rank
                var count = 1
                var generator = SplitMix64(seed: sample)
                var tries = 0
                while count <= rates.negatives, tries < 2 * rates.negatives {
                    tries += 1
                    // Uniform in 0..<rowLimit by a multiply and a shift (Lemire), not a division.
                    let row = Int(((generator.next() >> 32) &* UInt64(rowLimit)) >> 32)
                    guard row != positive, items.isLive(Int32(row)) else { continue }
                    rows[count] = itemRecords.writable(row).rank
                    count += 1
                }
                guard count > 1 else { return }
                RankingHead.step(
                    user: p, rows: rows.baseAddress!, count: count, dimension: rates.dimension, rates: rates,
                    scratch: scratch.baseAddress!, portable: portable)
            }
        }
    }
}
