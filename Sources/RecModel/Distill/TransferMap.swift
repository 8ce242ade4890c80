/// Cold-start transfer into a target domain: what a user with ratings elsewhere but none here
/// gets besides their shared vector. Candidates are fitted on the overlapping users (ratings
/// in both) and chosen on a held-out slice of them at every distillation.
///
/// - `shared`: the shared vector alone, target bias 0 (collective MF as is).
/// - `shared+bias`: plus a target bias from a ridge map of the user's features (shared
///   vector, other-domain biases and presence, 1) fitted to the learned target biases of the
///   overlapping users, in the spirit of EMCDR's mapping from source to target.
struct TransferMap {
    let target: Int
    /// Ridge weights over `features`; nil for `shared`.
    let weights: [Double]?
    /// Δ of the bridge (k × k, row-major): the served vector is (I + Δ)·p; nil: p itself.
    let bridge: [Double]?
    let choice: TransferChoice

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
        let vector = vector ?? userVectors.row(row)
        var features = (0..<dimension).map { Double(vector[$0]) }
        for s in domains.indices where s != target {
            let hasRatings = domains[s].userScalars[row, UserColumn.ratings] > 0
            features.append(hasRatings ? domains[s].userScalars[row, UserColumn.bias] : 0)
            features.append(hasRatings ? 1 : 0)
        }
        features.append(1)
        return features
    }

    func transferFeatureCount(target: Int) -> Int { dimension + 2 * (domains.count - 1) + 1 }

    func hasOtherRatings(user row: Int, than target: Int) -> Bool {
        domains.indices.contains { $0 != target && domains[$0].userScalars[row, UserColumn.ratings] > 0 }
    }

    /// Whether a user belongs to the slice held out to choose among fits (the transfer method,
    /// the refit's penalty): about `fraction` of the users, chosen by id hash so that the slice
    /// does not depend on row order.
    func isHeldOut(user row: Int32, fraction: Double) -> Bool {
        let slices = UInt64(max(2, Int((1 / max(fraction, 0.01)).rounded())))
        return (users.hash(of: row) >> 8) % slices == 0
    }

    func fitTransfer(target t: Int, options: DistillOptions) -> TransferMap {
        // Overlapping users: ratings in the target and in at least one other domain.
        var overlapping: [Int] = []
        for row in 0..<users.rowLimit
        where users.isLive(Int32(row)) && domains[t].userScalars[row, UserColumn.ratings] > 0 && hasOtherRatings(user: row, than: t) {
            overlapping.append(row)
        }
        overlapping = Self.evenlySpaced(overlapping, options.transferUsers)
        let validation = overlapping.filter { isHeldOut(user: Int32($0), fraction: options.validationFraction) }
        let training = overlapping.filter { !isHeldOut(user: Int32($0), fraction: options.validationFraction) }
        let bias = { (row: Int) in self.domains[t].userScalars[row, UserColumn.bias] }

        func rmse(_ rows: [Int], _ predict: (Int) -> Double) -> Double {
            guard !rows.isEmpty else { return .nan }
            let squared = rows.reduce(0.0) { sum, row in
                let error = predict(row) - bias(row)
                return sum + error * error
            }
            return (squared / Double(rows.count)).squareRoot()
        }
        let weights = ridge(rows: training, target: t, ridge: options.transferRidge, value: bias)
        let allowed = Set(options.transferMethods)
        var errors: [String: Double] = [:]
        var bridge: ColdBridge?
        // The bridge's cost grows with users·k² per iteration: it sees at most `bridgeUsers`.
        let bridgeRows = Self.evenlySpaced(overlapping, options.bridgeUsers)
        let data = twins.count > 0 ? BridgeData(learner: self, target: t, rows: bridgeRows, fraction: options.validationFraction) : nil
        if var data, data.heldOut.contains(true) {
            if allowed.count > 1, let judge = refittedWithoutHeldOut(domain: t, options: options) {
                data = BridgeData(learner: judge, target: t, rows: bridgeRows, fraction: options.validationFraction)
            }
            // Errors on held-out overlapping users' target ratings, through their twins.
            errors["shared"] = data.heldOutRMSE { _, _ in 0 }
            if let weights { errors["shared+bias"] = data.heldOutRMSE { _, u in data.biasTerm(weights, user: u) } }
            if allowed.contains("bridge"),
                let fitted = data.fit(
                    use: { !data.heldOut[$0] }, biasRidge: options.bridgeBiasRegularization,
                    bridgeRidge: options.bridgeRegularization)
            {
                let corrections = data.transformed(fitted.delta)
                errors["bridge"] = data.heldOutRMSE { index, u in
                    data.biasTerm(fitted.weights, user: u) + data.bridgeTerm(corrections, rating: index)
                }
                bridge = fitted
            }
        } else {
            // No ratings to judge by: the error of the mapped target bias.
            errors["shared"] = rmse(validation) { _ in 0 }
            errors["shared+bias"] = weights.map { weights in
                rmse(validation) { row in zip(weights, transferFeatures(user: row, target: t)).reduce(0) { $0 + $1.0 * $1.1 } }
            }
        }
        let candidates = errors.filter { !$0.value.isNaN && allowed.contains($0.key) }
        let method = candidates.min { ($0.value, $0.key) < ($1.value, $1.key) }?.key ?? "shared"
        let choice = TransferChoice(
            method: method, validationRMSE: errors.filter { !$0.value.isNaN },
            trainingUsers: training.count, validationUsers: validation.count)
        // The chosen map is refitted on every overlapping user.
        switch method {
        case "shared+bias":
            return TransferMap(target: t, weights: ridge(rows: overlapping, target: t, ridge: options.transferRidge, value: bias), bridge: nil, choice: choice)
        case "bridge":
            let final = data?.fit(use: { _ in true }, biasRidge: options.bridgeBiasRegularization, bridgeRidge: options.bridgeRegularization)
                ?? bridge
            return TransferMap(target: t, weights: final?.weights, bridge: final?.delta, choice: choice)
        default:
            return TransferMap(target: t, weights: nil, bridge: nil, choice: choice)
        }
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
