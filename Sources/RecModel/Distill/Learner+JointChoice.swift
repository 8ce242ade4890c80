/// Which model the joint refit solves at a build (JointRefit.Model), judged on held-out users.
///
/// Why: neither wins everywhere. On the cross-domain benchmark's validation cells CMF's own
/// model (one user bias, every penalty per rating, λ 0.2, nothing after it) matched batch CMF
/// on the small MovieLens-100K tasks, where a bias per domain followed by the target refit
/// trailed it by 0.014; on MovieLens-1M it was 0.024 worse than the latter (docs/BENCHMARKS.md).
/// What tells them apart is the data, so each build asks it: both models are solved without
/// the target ratings of the held-out slice of users (`validationFraction`), who are then
/// predicted as cold users, from their other domains alone. CMF, the simpler one (a single
/// solve), is kept unless the other lowers the held-out mean squared error by more than the
/// standard error of the difference (paired by user, as the transfer method is chosen).
extension Learner {
    /// Both models' held-out errors and the model to serve; `users`: the users judged.
    func judgeJointModels(
        options: DistillOptions
    ) throws(BuildCancelled) -> (model: JointRefit.Model, errors: [String: Double], users: Int) {
        let fraction = options.validationFraction
        var perUser: [String: UserErrors] = [:]
        // Slice after slice while fewer than `jointRefitJudgedUsers` users have been judged:
        // with few overlapping users one slice is a few dozen, too few to tell the models apart.
        for slice in 0..<Self.validationSlices(fraction) {
            let hiding: (Int32) -> Bool = { self.validationSlice(user: $0, fraction: fraction) == slice }
            // The rings read once a slice; each model's trial starts from a copy.
            let problem = JointRefit(learner: self, model: .cmf, lambda: options.jointRefitCMFRegularization, hiding: hiding)
            // No user the rings hold wholly: nothing to judge by, in any slice.
            guard problem.solvedUsers > 0 else { return (.refit, [:], 0) }
            guard !problem.hidden.isEmpty else { continue }
            for model in JointRefit.Model.allCases {
                try options.checkCancelled()
                var joint = problem
                joint.model = model
                joint.lambda = model == .cmf ? options.jointRefitCMFRegularization : options.jointRefitRegularization
                perUser[model.rawValue, default: [:]].merge(try trialErrors(joint, hiding: hiding, options: options)) { $1 }
            }
            if (perUser[JointRefit.Model.cmf.rawValue]?.count ?? 0) >= options.jointRefitJudgedUsers { break }
        }
        let errors = perUser.compactMapValues { users -> Double? in
            let (squared, count) = Self.inRowOrder(users).reduce((0.0, 0)) { ($0.0 + $1.squared, $0.1 + $1.count) }
            return count == 0 ? nil : (squared / Double(count)).squareRoot()
        }
        let order = JointRefit.Model.allCases.map(\.rawValue)
        let model = Self.robustChoice(errors: errors, perUser: perUser, order: order).flatMap(JointRefit.Model.init) ?? .refit
        return (model, errors, perUser[JointRefit.Model.cmf.rawValue]?.count ?? 0)
    }

    /// One trial: `joint` (built without the target ratings of the users `hiding` names) solved,
    /// the transfer fitted on it, and those ratings predicted as a cold user's, by user.
    private func trialErrors(_ joint: JointRefit, hiding: (Int32) -> Bool, options: DistillOptions) throws(BuildCancelled) -> UserErrors {
        var joint = joint
        let model = joint.model
        joint.solve(sweeps: options.jointRefitSweeps, options: options)
        try options.checkCancelled()
        var trial = self
        joint.write(into: &trial)
        let targets = domains.indices.filter { configuration.domains[$0].isTarget && domains[$0].recent.count > 0 }
        var refits: [Int: DomainRefit] = [:]
        if model == .refit && options.refitSweeps > 0 {
            for d in targets { refits[d] = trial.refitLeavingOut(domain: d, options: options, hiding: hiding) }
            try options.checkCancelled()
        }
        // The hidden users are cold in the trial: no transfer is fitted or judged on them.
        for rating in joint.hidden {
            let row = Int(joint.userRows[Int(rating.user)])
            trial.userRecords[row, domain: joint.itemDomain[Int(rating.item)], UserColumn.ratings] = 0
        }
        var maps: [Int: TransferMap] = [:]
        if configuration.shareUserVectors {
            for d in targets { maps[d] = trial.fitTransfer(target: d, options: options, refit: refits[d]) }
        }
        return joint.coldErrors(in: trial, maps: maps)
    }
}
