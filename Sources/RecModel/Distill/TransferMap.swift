/// Cold-start transfer into a target domain: what a user with ratings elsewhere but none here
/// gets besides their shared vector. Candidates are fitted on the overlapping users (ratings
/// in both) and chosen on held-out slices of them at every distillation.
///
/// - `shared`: the shared vector alone, target bias 0 (collective MF as is).
/// - `shared+bias`: plus a target bias from a ridge map of the user's features (shared
///   vector, other-domain biases and presence, 1) fitted to the learned target biases of the
///   overlapping users, in the spirit of EMCDR's mapping from source to target.
/// - `bridge`: a corrected vector and a bias fitted on the overlapping users' target ratings
///   (ColdBridge.swift).
struct TransferMap {
    let target: Int
    /// Ridge weights over `features`; nil for `shared`.
    var weights: [Double]?
    /// Δ of the bridge (k × k, row-major): the served vector is (I + Δ)·p; nil: p itself.
    var bridge: [Double]?
    var choice: TransferChoice

    /// (I + Δ)ᵀ·U: the student's user transform U (k × k') with the bridge folded in, so that
    /// a cold user's row p·(I + Δ)ᵀU costs what any user's projection costs.
    func projecting(userTransform: SmallMatrix) -> SmallMatrix {
        guard let bridge else { return userTransform }
        let k = userTransform.rows
        let delta = SmallMatrix(rows: k, columns: k, values: bridge)
        var folded = delta.transposed * userTransform
        for j in folded.values.indices { folded.values[j] += userTransform.values[j] }
        return folded
    }

    func bias(_ learner: Learner, user row: Int) -> Double {
        guard let weights else { return 0 }
        let features = learner.transferFeatures(user: row, target: target)
        return zip(weights, features).reduce(0) { $0 + $1.0 * $1.1 }
    }
}

extension Learner {
    /// [shared vector (or `vector`), (bias, has ratings) of every other domain, 1].
    func transferFeatures(user row: Int, target: Int, vector: UnsafePointer<Float>? = nil) -> [Double] {
        let vector = vector ?? userRecords.vector(row)
        var features = (0..<dimension).map { Double(vector[$0]) }
        for s in domains.indices where s != target {
            let hasRatings = userRecords[row, domain: s, UserColumn.ratings] > 0
            features.append(hasRatings ? userRecords[row, domain: s, UserColumn.bias] : 0)
            features.append(hasRatings ? 1 : 0)
        }
        features.append(1)
        return features
    }

    func transferFeatureCount(target: Int) -> Int { dimension + 2 * (domains.count - 1) + 1 }

    func hasOtherRatings(user row: Int, than target: Int) -> Bool {
        domains.indices.contains { $0 != target && userRecords[row, domain: $0, UserColumn.ratings] > 0 }
    }

    /// Which of the validation slices a user belongs to: 1/`fraction` slices of about
    /// `fraction` of the users each, by id hash so that a slice does not depend on row order.
    /// Slice 0 is held out to choose among fits (the refit's penalty); the cold-start judging
    /// holds out one slice after the other (`fitTransfer`).
    func validationSlice(user row: Int32, fraction: Double) -> Int {
        Int((users.hash(of: row) >> 8) % UInt64(Self.validationSlices(fraction)))
    }

    static func validationSlices(_ fraction: Double) -> Int { max(2, Int((1 / max(fraction, 0.01)).rounded())) }

    func isHeldOut(user row: Int32, fraction: Double) -> Bool { validationSlice(user: row, fraction: fraction) == 0 }

    func fitTransfer(target t: Int, options: DistillOptions, refit: DomainRefit? = nil) -> TransferMap {
        // Overlapping users: ratings in the target and in at least one other domain.
        var overlapping: [Int] = []
        for row in 0..<users.rowLimit
        where users.isLive(Int32(row)) && userRecords[row, domain: t, UserColumn.ratings] > 0 && hasOtherRatings(user: row, than: t) {
            overlapping.append(row)
        }
        overlapping = Self.evenlySpaced(overlapping, options.transferUsers)
        let allowed = Set(options.transferMethods)
        // The bridge's cost grows with users·k² per iteration: it sees at most `bridgeUsers`.
        let data = twins.count > 0 ? BridgeData(learner: self, target: t, rows: Self.evenlySpaced(overlapping, options.bridgeUsers)) : nil
        var judged = data.map { judgeOnRatings(data: $0, overlapping: overlapping, target: t, options: options, refit: refit) }
        if judged?.users == 0 { judged = nil }
        let judgement = judged ?? judgeOnBiases(overlapping: overlapping, target: t, options: options)
        let candidates = judgement.errors.filter { !$0.value.isNaN && allowed.contains($0.key) }
        let method = candidates.min { ($0.value, $0.key) < ($1.value, $1.key) }?.key ?? "shared"
        var map = TransferMap(
            target: t, weights: nil, bridge: nil,
            choice: TransferChoice(
                method: method, validationRMSE: judgement.errors.filter { !$0.value.isNaN }, trainingUsers: overlapping.count,
                validationUsers: judgement.users))
        // The chosen map is refitted on every overlapping user (the bridge: those of its data).
        switch method {
        case "shared+bias":
            map.weights = ridge(rows: overlapping, target: t, ridge: options.transferRidge, value: targetBias(t))
        case "bridge":
            let final = data?.fit(use: { _ in true }, biasRidge: options.bridgeBiasRegularization, bridgeRidge: options.bridgeRegularization)
            map.weights = final?.weights
            map.bridge = final?.delta
            map.choice.trainingUsers = data?.userCount ?? 0
        default:
            break
        }
        return map
    }

    private func targetBias(_ t: Int) -> (Int) -> Double { { row in self.userRecords[row, domain: t, UserColumn.bias] } }

    /// The candidates' errors on held-out overlapping users' target ratings, predicted through
    /// their twins (source-only vectors) against items refitted without them, each candidate
    /// fitted on the other users. Slice after slice is held out until `judgedUsers` users have
    /// been, or every slice has: with few overlapping users, one slice's errors are too noisy
    /// to choose by.
    private func judgeOnRatings(
        data: BridgeData, overlapping: [Int], target t: Int, options: DistillOptions, refit: DomainRefit?
    ) -> (errors: [String: Double], users: Int) {
        let allowed = Set(options.transferMethods)
        var squared: [String: Double] = [:], counts: [String: Int] = [:], slices: [String: Int] = [:]
        func add(_ method: String, _ error: (squared: Double, count: Int)) {
            squared[method, default: 0] += error.squared
            counts[method, default: 0] += error.count
            slices[method, default: 0] += 1
        }
        var users = 0, judgedSlices = 0
        let sliceOf = overlapping.map { validationSlice(user: Int32($0), fraction: options.validationFraction) }
        for slice in 0..<Self.validationSlices(options.validationFraction) where users == 0 || users < options.judgedUsers {
            var fold = data.holdingOut { validationSlice(user: $0, fraction: options.validationFraction) == slice }
            guard fold.heldOut.contains(true) else { continue }
            users += fold.heldOut.filter { $0 }.count
            judgedSlices += 1
            if let refit {
                let heldOut = fold.userRows.indices.filter { fold.heldOut[$0] }.map { fold.userRows[$0] }
                fold = fold.replacingItems(judgedItems(refit: refit, users: heldOut, slice: slice, options: options))
            }
            add("shared", fold.heldOutErrors { _, _ in 0 })
            let training = overlapping.indices.filter { sliceOf[$0] != slice }.map { overlapping[$0] }
            if let weights = ridge(rows: training, target: t, ridge: options.transferRidge, value: targetBias(t)) {
                add("shared+bias", fold.heldOutErrors { _, u in fold.biasTerm(weights, user: u) })
            }
            if allowed.contains("bridge"),
                let fitted = fold.fit(
                    use: { !fold.heldOut[$0] }, biasRidge: options.bridgeBiasRegularization, bridgeRidge: options.bridgeRegularization)
            {
                let corrections = fold.transformed(fitted.delta)
                add("bridge", fold.heldOutErrors { index, u in fold.biasTerm(fitted.weights, user: u) + fold.bridgeTerm(corrections, rating: index) })
            }
        }
        // A candidate that could not be fitted on some slice (too few users) is not compared
        // on the others' ratings alone.
        let errors = Dictionary(uniqueKeysWithValues: squared.map { method, sum in
            let count = counts[method] ?? 0
            return (method, count == 0 || slices[method] != judgedSlices ? Double.nan : (sum / Double(count)).squareRoot())
        })
        return (errors, users)
    }

    /// Without ratings to judge by (no twins yet): the error of the mapped target bias on the
    /// held-out slice.
    private func judgeOnBiases(overlapping: [Int], target t: Int, options: DistillOptions) -> (errors: [String: Double], users: Int) {
        let validation = overlapping.filter { isHeldOut(user: Int32($0), fraction: options.validationFraction) }
        let training = overlapping.filter { !isHeldOut(user: Int32($0), fraction: options.validationFraction) }
        let bias = targetBias(t)
        func rmse(_ predict: (Int) -> Double) -> Double {
            guard !validation.isEmpty else { return .nan }
            let squared = validation.reduce(0.0) { sum, row in
                let error = predict(row) - bias(row)
                return sum + error * error
            }
            return (squared / Double(validation.count)).squareRoot()
        }
        var errors = ["shared": rmse { _ in 0 }]
        if let weights = ridge(rows: training, target: t, ridge: options.transferRidge, value: bias) {
            errors["shared+bias"] = rmse { row in zip(weights, transferFeatures(user: row, target: t)).reduce(0) { $0 + $1.0 * $1.1 } }
        }
        return (errors, validation.count)
    }

    /// Ridge regression of `value(row)` on the transfer features; nil with too few rows.
    private func ridge(rows: [Int], target: Int, ridge lambda: Double, value: (Int) -> Double) -> [Double]? {
        guard rows.count >= 10 else { return nil }
        let width = transferFeatureCount(target: target)
        var gram = SmallMatrix(rows: width, columns: width)
        var right = SmallMatrix(rows: width, columns: 1)
        for row in rows {
            let features = transferFeatures(user: row, target: target)
            features.withUnsafeBufferPointer { gram.addOuter($0.baseAddress!) }
            let y = value(row)
            for j in 0..<width { right[j, 0] += features[j] * y }
        }
        for j in 0..<width - 1 { gram[j, j] += lambda }  // the intercept is not penalized
        gram[width - 1, width - 1] += 1e-9
        return gram.solveSymmetric(right)?.values
    }
}
