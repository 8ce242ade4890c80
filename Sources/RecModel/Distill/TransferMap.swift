/// Cold-start transfer into a target domain: what a user with ratings elsewhere but none here
/// gets besides their shared vector. Candidates are fitted on the overlapping users (ratings
/// in both) and chosen on held-out slices of them at every distillation.
///
/// - `shared`: the shared vector, and as target bias the mean of the user's biases in the
///   other domains they rated (collective MF as is, whose user bias is shared).
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
        bias(features: learner.transferFeatures(user: row, target: target), dimension: learner.dimension)
    }

    /// The target bias from transfer features (`Learner.transferFeatures`).
    func bias(features: [Double], dimension: Int) -> Double {
        guard let weights else { return Learner.sharedBias(features: features, dimension: dimension) }
        return zip(weights, features).reduce(0) { $0 + $1.0 * $1.1 }
    }
}

extension Learner {
    /// [shared vector (or `vector`), (bias, has ratings) of every other domain, 1]; the
    /// biases are the learner's, or `biases` (by domain).
    func transferFeatures(user row: Int, target: Int, vector: UnsafePointer<Float>? = nil, biases: [Double]? = nil) -> [Double] {
        let vector = vector ?? userRecords.vector(row)
        var features = (0..<dimension).map { Double(vector[$0]) }
        for s in domains.indices where s != target {
            let hasRatings = userRecords[row, domain: s, UserColumn.ratings] > 0
            features.append(hasRatings ? biases?[s] ?? userRecords[row, domain: s, UserColumn.bias] : 0)
            features.append(hasRatings ? 1 : 0)
        }
        features.append(1)
        return features
    }

    func transferFeatureCount(target: Int) -> Int { dimension + 2 * (domains.count - 1) + 1 }

    /// The `shared` method's target bias from transfer features: the mean of the biases of
    /// the other domains the user rated (0 when none).
    static func sharedBias<C: RandomAccessCollection<Double>>(features: C, dimension k: Int) -> Double where C.Index == Int {
        var sum = 0.0, count = 0.0
        var j = features.startIndex + k
        while j + 1 < features.endIndex {
            sum += features[j] * features[j + 1]
            count += features[j + 1]
            j += 2
        }
        return count > 0 ? sum / count : 0
    }

    /// n / (n + c), n the user's ratings in the domains other than `target`: the factor of a
    /// cold user's served bias and vector (`DistillOptions.coldShrinkage`); 1 when c is 0.
    func coldShrink(user row: Int, target: Int, ratings c: Double) -> Double {
        guard c > 0 else { return 1 }
        let n = domains.indices.reduce(0.0) { $0 + ($1 == target ? 0 : userRecords[row, domain: $1, UserColumn.ratings]) }
        return n / (n + c)
    }

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
        let judgement = judged.map { ($0.errors, $0.users) } ?? judgeOnBiases(overlapping: overlapping, target: t, options: options)
        let candidates = judgement.0.filter { !$0.value.isNaN && allowed.contains($0.key) }
        // Judged on ratings, the simplest candidate unless a more complex one wins clearly;
        // on biases alone (no twins yet), the lowest error.
        let method = judged.flatMap { Self.robustChoice(errors: candidates, perUser: $0.perUser) }
            ?? candidates.min { ($0.value, $0.key) < ($1.value, $1.key) }?.key ?? "shared"
        var map = TransferMap(
            target: t, weights: nil, bridge: nil,
            choice: TransferChoice(
                method: method, validationRMSE: judgement.0.filter { !$0.value.isNaN }, trainingUsers: overlapping.count,
                validationUsers: judgement.1))
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
    ) -> (errors: [String: Double], users: Int, perUser: [String: UserErrors]) {
        let allowed = Set(options.transferMethods)
        var squared: [String: Double] = [:], counts: [String: Int] = [:], slices: [String: Int] = [:]
        var perUser: [String: UserErrors] = [:]
        func add(_ method: String, _ errors: UserErrors) {
            for (row, squaredError, count) in Self.inRowOrder(errors) {
                squared[method, default: 0] += squaredError
                counts[method, default: 0] += count
                perUser[method, default: [:]][row] = (squaredError, count)
            }
            slices[method, default: 0] += 1
        }
        var users = 0, judgedSlices = 0
        let sliceOf = overlapping.map { validationSlice(user: Int32($0), fraction: options.validationFraction) }
        for slice in 0..<Self.validationSlices(options.validationFraction)
        where (users == 0 || users < options.judgedUsers) && !options.isCancelled {
            var fold = data.holdingOut { validationSlice(user: $0, fraction: options.validationFraction) == slice }
            guard fold.heldOut.contains(true) else { continue }
            users += fold.heldOut.filter { $0 }.count
            judgedSlices += 1
            if let refit {
                let heldOut = fold.userRows.indices.filter { fold.heldOut[$0] }.map { fold.userRows[$0] }
                fold = fold.replacingItems(judgedItems(refit: refit, users: heldOut, slice: slice, options: options))
            }
            add("shared", fold.heldOutUserErrors { _, u in fold.sharedBias(user: u) })
            let training = overlapping.indices.filter { sliceOf[$0] != slice }.map { overlapping[$0] }
            if let weights = ridge(rows: training, target: t, ridge: options.transferRidge, value: targetBias(t)) {
                add("shared+bias", fold.heldOutUserErrors { _, u in fold.biasTerm(weights, user: u) })
            }
            if allowed.contains("bridge"),
                let fitted = fold.fit(
                    use: { !fold.heldOut[$0] }, biasRidge: options.bridgeBiasRegularization, bridgeRidge: options.bridgeRegularization)
            {
                let corrections = fold.transformed(fitted.delta)
                add("bridge", fold.heldOutUserErrors { index, u in
                    fold.biasTerm(fitted.weights, user: u) + fold.bridgeTerm(corrections, rating: index)
                })
            }
        }
        // A candidate that could not be fitted on some slice (too few users) is not compared
        // on the others' ratings alone.
        let errors = Dictionary(uniqueKeysWithValues: squared.map { method, sum in
            let count = counts[method] ?? 0
            return (method, count == 0 || slices[method] != judgedSlices ? Double.nan : (sum / Double(count)).squareRoot())
        })
        return (errors, users, perUser)
    }

    /// Held-out errors by user row: squared error and rating count.
    typealias UserErrors = [Int32: (squared: Double, count: Int)]

    /// The errors by ascending user row. Every sum over users goes in this order: a
    /// Dictionary's order is seeded per process, and sums in it made a replay's reported
    /// errors, and in a near tie its choices, differ from run to run.
    static func inRowOrder(_ errors: UserErrors) -> [(row: Int32, squared: Double, count: Int)] {
        errors.keys.sorted().map { row in (row, errors[row]!.squared, errors[row]!.count) }
    }

    /// The simplest candidate (the first of `order`, by default `allTransferMethods`) unless a
    /// more complex one lowers the held-out mean squared error by more than the standard error
    /// of that difference (paired by user): with few overlapping users a more flexible map
    /// often wins the held-out slices by chance and loses on the users it then serves.
    static func robustChoice(
        errors: [String: Double], perUser: [String: UserErrors], order: [String] = DistillOptions.allTransferMethods
    ) -> String? {
        let candidates = order.filter { errors[$0].map { !$0.isNaN } ?? false }
        guard var chosen = candidates.first else { return nil }
        for candidate in candidates.dropFirst() {
            guard let simpler = perUser[chosen], let complex = perUser[candidate] else { continue }
            let ordered = inRowOrder(simpler)
            let differences = ordered.compactMap { row, squared, _ in complex[row].map { squared - $0.squared } }
            let ratings = Double(ordered.reduce(0) { $0 + $1.count })
            guard differences.count > 1, ratings > 0 else { continue }
            let mean = differences.reduce(0, +) / Double(differences.count)
            let variance = differences.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(differences.count - 1)
            let gain = differences.reduce(0, +) / ratings
            let standardError = (Double(differences.count) * variance).squareRoot() / ratings
            if gain > standardError { chosen = candidate }
        }
        return chosen
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
        var errors = ["shared": rmse { row in Self.sharedBias(features: transferFeatures(user: row, target: t), dimension: dimension) }]
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
