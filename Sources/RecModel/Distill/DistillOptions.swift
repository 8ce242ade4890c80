/// Settings of distillation (the `distill` section of the daemon's configuration).
public struct DistillOptions: Sendable, Equatable {
    /// k': length of the student rows (at most the teacher's dimension).
    public var dimension = 16
    /// Users and items sampled (evenly spaced rows) for the Gram matrices of the projection.
    public var gramSample = 50_000
    /// Users whose every item score is compared between student and teacher.
    public var fidelityUsers = 100
    /// Most overlapping users the transfer map is fitted on.
    public var transferUsers = 50_000
    /// Ridge penalty of the transfer map.
    public var transferRidge = 1.0
    /// Cold-start methods the held-out users choose among (TransferMap.swift).
    public var transferMethods = allTransferMethods
    public static let allTransferMethods = ["shared", "shared+bias", "bridge"]

    /// What is wrong with a `--transfer-method` list: the first name that is not a method.
    public static func unknownTransferMethod(in methods: [String]) -> String? {
        methods.first { !allTransferMethods.contains($0) }
            .map { "--transfer-method: \($0) is not one of \(allTransferMethods.joined(separator: ", "))" }
    }
    /// Ridge penalties of the bridge's Δ and of its bias weights, absolute (summed over the
    /// ratings; ColdBridge.swift). 100 each: flat optima (30–1,000 and 100–300) on the
    /// validation cells of the cross-domain benchmark (docs/BENCHMARKS.md).
    public var bridgeRegularization = 100.0
    public var bridgeBiasRegularization = 100.0
    /// Most overlapping users the bridge is fitted and judged on (evenly spaced rows): its
    /// fit costs O(users·k²) per conjugate-gradient iteration.
    public var bridgeUsers = 10_000
    /// c, in ratings: a cold user's served deviation from the item baseline (user bias and
    /// vector) is scaled by n / (n + c), n being their ratings in the other domains, so that
    /// what little a user rated elsewhere moves their prediction little (empirical-Bayes
    /// shrinkage toward the population; 0: none). 5: the best mean validation RMSE on the
    /// family and scifihorror tasks of the cross-domain benchmark, both datasets, among 0, 3,
    /// 5, 10 and 30 (docs/BENCHMARKS.md); the other tasks are held out.
    public var coldShrinkage = 5.0
    /// Share of the overlapping users held out to choose the transfer method (one slice).
    public var validationFraction = 0.2
    /// Held-out users the transfer method is judged on: slice after slice of
    /// `validationFraction` is held out until this many have been, or every slice has.
    public var judgedUsers = 2_000
    /// Items kept in each domain's popularity list (the largest `k` served by `popular`).
    public var popularItems = 1_000
    /// Fidelity bound: RMSE of student against teacher predictions above it is reported
    /// (`stats`, a warning in the log).
    public var maxScoreRMSE = 0.25
    /// Clusters of the approximate top-k index of each domain's items (0: no index, every
    /// `recommend` scans all items exactly).
    public var indexClusters = 0
    /// Clusters a `recommend` scans when there is an index (at most `indexClusters`).
    public var indexProbe = 8
    /// Alternating least-squares sweeps of the refit of target domains on their latest ratings
    /// (Learner+Refit.swift; 0: no refit).
    public var refitSweeps = 3
    /// Candidate L2 penalties of a refitted item vector (absolute, not per rating: an item rated
    /// a few times stays near 0 and scores by its bias). A single value is used as is; among
    /// several, each refit takes the one with the lowest error on held-out users' ratings
    /// (`validationFraction`), a choice biased toward small values (Learner+Refit.swift).
    /// 20: the best on the validation cells of the cross-domain benchmark (docs/BENCHMARKS.md).
    public var refitRegularizations: [Double] = [20]
    /// L2 penalties of the refitted item and user biases. Chosen on the validation cells of
    /// the cross-domain benchmark (docs/BENCHMARKS.md).
    public var refitItemBiasRegularization = 1.0
    public var refitUserBiasRegularization = 2.0
    /// Alternating least-squares sweeps of the joint refit of every domain on its latest
    /// ratings (JointRefit.swift; 0: none), and its L2 penalty per rating. 5 and 0.1: the best
    /// mean validation RMSE on the family and scifihorror tasks of the cross-domain benchmark,
    /// both datasets (docs/BENCHMARKS.md); the other tasks are held out.
    public var jointRefitSweeps = 5
    public var jointRefitRegularization = 0.1
    /// The L2 penalty per rating of the joint refit's other model, CMF's own (one user bias
    /// across domains, every penalty per rating, no target refit after it); 0: never. Each
    /// build solves both without a held-out slice's target ratings and keeps CMF unless the
    /// other model predicts them better by more than the standard error (Learner+JointChoice.swift).
    /// 0.2: the best mean validation RMSE on the family and scifihorror tasks, both datasets.
    public var jointRefitCMFRegularization = 0.2
    /// Builds (versions) a judged choice of the joint refit's model is kept for: judging costs
    /// two more joint solves and transfer fits, and what it depends on, the data's regime,
    /// moves slowly. 1: every build judges.
    public var jointRefitJudgeEvery = 10
    /// Held-out users the joint models are judged on: slice after slice of
    /// `validationFraction` until this many have been, or every slice has.
    public var jointRefitJudgedUsers = 100
    /// The choice to keep instead of judging (the daemon passes its last judged one while it is
    /// younger than `jointRefitJudgeEvery` versions); nil: this build judges.
    public var jointRefitReuse: JointChoice?
    /// Rank of the PureSVD factors of the seen lists blended into the ranking student at each
    /// build (ImplicitFactors.swift; 0: the head alone), and their weight: 1 gives their
    /// scores the spread of the head's. Rank 5, weight 3: the best mean NDCG@10 over seeds 42
    /// and 1–4 on the validation split of the top-N benchmark (docs/BENCHMARKS.md).
    public var rankingImplicitRank = 5
    public var rankingImplicitWeight = 3.0
    /// Most users (evenly spaced rows) whose seen lists the factors are found from; every
    /// user's vector x_u·V is computed. Beyond a few hundred thousand users a sample finds the
    /// same leading eigenvectors at a fraction of the passes over the ratings.
    public var rankingImplicitUsers = 200_000
    /// Users whose top 10 through the index is compared with the exact one at build time.
    public var indexRecallUsers = 200
    /// Set by `distill(version:options:cancellation:)` for the build it runs; not a setting.
    var cancellation: BuildCancellation?

    public init() {}

    /// Sets `jointRefitReuse` for the build of `version` from the choice the version before it
    /// served: kept while fewer than `jointRefitJudgeEvery` versions have passed since it was
    /// judged. A choice made without judging (one candidate, or nothing to judge by) is never
    /// kept: the next build judges.
    public mutating func keepJointChoice(_ served: JointChoice?, building version: Int) {
        guard let served, !served.validationRMSE.isEmpty, version - served.judgedVersion < jointRefitJudgeEvery else {
            jointRefitReuse = nil
            return
        }
        jointRefitReuse = served
    }
}
