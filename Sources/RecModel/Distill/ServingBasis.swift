/// What a full build fixes for the light versions after it (Learner+LightDistill.swift): each
/// domain's projections from teacher to student, its cold-start transfer map and the PureSVD
/// factors of the lists.
///
/// Why: every full build fits new projections, so every int8 row of a new version differs
/// from the previous one's, and a replica has to receive the whole model (docs/BENCHMARKS.md,
/// read replicas). With the basis fixed, a light version recomputes only what moved — the
/// users seen since its base, the items — and the rows nobody touched keep their bytes.
///
/// Kept by the learner's side of a `ServingModel` only: it is not encoded, and a replica
/// never builds.
struct ServingBasis: Sendable {
    /// The full version that fitted this basis.
    let version: Int
    let studentDimension: Int
    let teacherDimension: Int
    let domains: [DomainBasis]
    /// The joint refit's items, when the full build had one: a light version solves the users
    /// it recomputes against them (`JointBasis`).
    let joint: JointBasis?
}

/// What a light version folds a user in against: the full build's teacher items (the joint
/// refit's, and the target refit's after it) and the joint model's penalties. A user whose
/// every rating the rings hold gets the vector and biases the full build's last user sweep
/// would give them with these items, as the full build solved them; other users keep their
/// online parameters, as in a full build.
struct JointBasis: Sendable {
    let model: JointRefit.Model
    /// Per rating, of the vector (and of the one bias of `cmf`).
    let lambda: Double
    /// Of each domain's bias (`refit` model), absolute.
    let userBiasPenalty: Double
    let means: [Double]
    let spans: [Double]
    let limit: Double
    /// By domain and item row at the full build: teacher vectors (teacher dimension each),
    /// biases and id hashes (a row that now holds another item is not used).
    let itemVectors: [[Float]]
    let itemBias: [[Double]]
    let itemHashes: [[UInt64]]
}

struct DomainBasis: Sendable {
    /// Teacher → student transforms (teacher dimension × k', row-major).
    let userTransform: [Float]
    let itemTransform: [Float]
    /// A cold user's transform: the transfer's vector map folded in (the user transform
    /// when the domain has no transfer).
    let coldTransform: [Float]
    let transfer: TransferMap?
    /// Whether the full build's rating item rows came from a refit (joint or of the target):
    /// a light version keeps them, as the online item vectors live in another solution's
    /// space; only items new since then are projected from their online vectors.
    let keepsItemRows: Bool
    let ranking: RankingBasis?
}

/// The ranking student's transforms: the head's part (teacher dimension × k') and the
/// implicit part's (rank × k').
struct RankingBasis: Sendable {
    let itemHead: [Float]
    let userHead: [Float]
    let coldHead: [Float]
    let itemImplicit: [Float]
    let userImplicit: [Float]
    /// PureSVD's item factors and scales, without the users' parts (a light version computes
    /// those of the users it recomputes from their seen lists).
    let implicit: ImplicitRanking?
}

extension Learner {
    /// The joint basis of a teacher (this learner, refitted) whose joint refit chose `choice`.
    func jointBasis(_ choice: JointChoice, options: DistillOptions) -> JointBasis? {
        guard let model = JointRefit.Model(rawValue: choice.model) else { return nil }
        var vectors: [[Float]] = [], biases: [[Double]] = [], hashes: [[UInt64]] = []
        for state in domains {
            let count = state.items.rowLimit
            var vector = [Float](repeating: 0, count: count * dimension)
            var bias = [Double](repeating: 0, count: count)
            var hash = [UInt64](repeating: 0, count: count)
            for row in 0..<count where state.items.isLive(Int32(row)) {
                let source = state.itemRecords.vector(row)
                for j in 0..<dimension { vector[row * dimension + j] = source[j] }
                bias[row] = state.itemRecords[row, ItemColumn.bias]
                hash[row] = state.items.hash(of: Int32(row))
            }
            vectors.append(vector)
            biases.append(bias)
            hashes.append(hash)
        }
        return JointBasis(
            model: model, lambda: model == .cmf ? options.jointRefitCMFRegularization : options.jointRefitRegularization,
            userBiasPenalty: options.refitUserBiasRegularization, means: domains.map(\.mean),
            spans: configuration.domains.map { $0.ratingRange.upperBound - $0.ratingRange.lowerBound },
            limit: configuration.parameterLimit, itemVectors: vectors, itemBias: biases, itemHashes: hashes)
    }
}
