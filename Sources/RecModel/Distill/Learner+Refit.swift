/// The refit of a target domain at distillation: its item vectors and biases, and the biases
/// of the users who rated there, solved in batch (alternating least squares) against the
/// users' shared vectors, over the ring of the domain's latest ratings.
///
/// Why: a target domain is data-poor, and one SGD step per event leaves its item vectors far
/// from what they would be after many passes. Worse for cold start, they were learned against
/// shared vectors that moved with every target rating, while a cold user's vector comes from
/// the other domains alone. Solving the items against the users' vectors as they are, the way
/// EMCDR and PTUPCDR fit their transfer to the target task, lowered the cold-start RMSE of
/// the cross-domain benchmark (docs/BENCHMARKS.md). The shared vectors are not touched: a
/// cold user has nothing else. Items and users absent from the ring keep their online
/// parameters.
///
/// The L2 penalty of the item vectors is absolute (summed over an item's ratings). With several
/// candidates in `refitRegularizations`, each refit chooses the one with the lowest error on
/// the ratings of a held-out slice of the users. That choice is biased toward small penalties:
/// the held-out users' shared vectors have already learned from those very ratings, which a
/// cold user's have not (on the benchmark's validation cells it chose 1 where 20 was best for
/// cold users), so the default is the single value measured there.
extension Learner {
    /// Teacher parameters of every target domain refitted on its latest ratings (a copy: the
    /// writer's learner is not changed), and what each refit chose, by domain.
    func refitted(options: DistillOptions) -> (teacher: Learner, choices: [Int: RefitChoice]) {
        guard options.refitSweeps > 0, !options.refitRegularizations.isEmpty else { return (self, [:]) }
        var teacher = self
        var choices: [Int: RefitChoice] = [:]
        for d in domains.indices where configuration.domains[d].isTarget && domains[d].recent.count > 0 {
            choices[d] = teacher.refit(domain: d, options: options)
        }
        return (teacher, choices)
    }

    private mutating func refit(domain d: Int, options: DistillOptions) -> RefitChoice? {
        var problem = RefitProblem(learner: self, domain: d)
        guard !problem.ratings.isEmpty else { return nil }
        // The held-out slice is chosen by id hash, as for the transfer map.
        let slices = UInt64(max(2, Int((1 / max(options.validationFraction, 0.01)).rounded())))
        let heldOut = problem.userRows.map { (users.hash(of: $0) >> 8) % slices == 0 }
        var errors: [Double: Double] = [:]
        if options.refitRegularizations.count > 1 {
            for lambda in options.refitRegularizations {
                var trial = problem
                trial.solve(sweeps: options.refitSweeps, lambda: lambda, options: options, skipping: heldOut)
                errors[lambda] = trial.rmse(of: heldOut)
            }
        }
        let chosen = errors.filter { !$0.value.isNaN }.min { ($0.value, $0.key) < ($1.value, $1.key) }?.key
            ?? options.refitRegularizations[0]
        problem.solve(sweeps: options.refitSweeps, lambda: chosen, options: options, skipping: nil)
        problem.write(into: &self)
        return RefitChoice(
            regularization: chosen, validationRMSE: errors, ratings: problem.ratings.count, items: problem.itemRows.count,
            users: problem.userRows.count)
    }
}

/// One refit: the ring's ratings resolved to dense item and user numbers, the parameters
/// being solved (starting from the online ones), and the fixed shared vectors.
private struct RefitProblem {
    struct Rating {
        var user: Int32
        var item: Int32
        var value: Double
    }

    let domain: Int
    let dimension: Int
    let mean: Double
    let range: ClosedRange<Double>
    let span: Double
    let limit: Double
    /// Ratings with dense user and item numbers, grouped by item, then by user (stable: the
    /// result depends on the ring's content alone).
    var ratings: [Rating] = []
    var byItem: [ArraySlice<Int>] = []
    var byUser: [ArraySlice<Int>] = []
    var itemRows: [Int32] = []
    var userRows: [Int32] = []
    /// Per dense user: the shared vector (dimension doubles), then the domain bias.
    var userVectors: [Double] = []
    var userBias: [Double] = []
    /// Per dense item: vector, then bias.
    var itemVectors: [Double] = []
    var itemBias: [Double] = []

    init(learner: Learner, domain d: Int) {
        domain = d
        dimension = learner.dimension
        mean = learner.domains[d].mean
        range = learner.configuration.domains[d].ratingRange
        span = range.upperBound - range.lowerBound
        limit = learner.configuration.parameterLimit
        var denseItem: [Int32: Int32] = [:], denseUser: [Int32: Int32] = [:]
        learner.domains[d].recent.forEach { userHash, itemHash, value in
            guard let user = learner.users.row(ofHash: userHash), let item = learner.domains[d].items.row(ofHash: itemHash) else {
                return
            }
            let u = denseUser[user] ?? {
                userRows.append(user)
                denseUser[user] = Int32(userRows.count - 1)
                return Int32(userRows.count - 1)
            }()
            let i = denseItem[item] ?? {
                itemRows.append(item)
                denseItem[item] = Int32(itemRows.count - 1)
                return Int32(itemRows.count - 1)
            }()
            ratings.append(Rating(user: u, item: i, value: value))
        }
        let k = dimension
        for row in userRows {
            let vector = learner.userVectors.row(Int(row))
            for j in 0..<k { userVectors.append(Double(vector[j])) }
            userBias.append(learner.domains[d].userScalars[Int(row), Learner.UserColumn.bias])
        }
        for row in itemRows {
            let vector = learner.domains[d].itemVectors.row(Int(row))
            for j in 0..<k { itemVectors.append(Double(vector[j])) }
            itemBias.append(learner.domains[d].itemScalars[Int(row), Learner.ItemColumn.bias])
        }
        let all = ratings
        byItem = Self.groups(all.indices.sorted { (all[$0].item, $0) < (all[$1].item, $1) }) { all[$0].item }
        byUser = Self.groups(all.indices.sorted { (all[$0].user, $0) < (all[$1].user, $1) }) { all[$0].user }
    }

    /// Alternating sweeps: each item's (vector, bias) by ridge regression of r − μ − b_u on
    /// [p_u, 1], then each user's bias as the mean residual shrunk toward 0. Users with
    /// `skipping[u]` are left out of the fit (the held-out slice).
    mutating func solve(sweeps: Int, lambda: Double, options: DistillOptions, skipping: [Bool]?) {
        let k = dimension
        // The bias enters as one more feature, scaled so that the uniform penalty λ on its
        // weight w equals the bias penalty λ_b on b = scale · w.
        let scale = (lambda / max(options.refitItemBiasRegularization, 1e-9)).squareRoot()
        var rows: [Int] = [], targets: [Double] = []
        for _ in 0..<sweeps {
            for group in byItem {
                rows.removeAll(keepingCapacity: true)
                targets.removeAll(keepingCapacity: true)
                for index in group {
                    let u = Int(ratings[index].user)
                    if let skipping, skipping[u] { continue }
                    rows.append(u)
                    targets.append(ratings[index].value - mean - userBias[u])
                }
                guard !rows.isEmpty, let weights = ridge(users: rows, targets: targets, lambda: lambda, scale: scale) else { continue }
                let i = Int(ratings[group.first!].item)
                for j in 0..<k { itemVectors[i * k + j] = min(max(weights[j], -limit), limit) }
                itemBias[i] = min(max(scale * weights[k], -span), span)
            }
            for group in byUser {
                let u = Int(ratings[group.first!].user)
                if let skipping, skipping[u] { continue }
                var sum = 0.0
                for index in group { sum += ratings[index].value - mean - itemScore(Int(ratings[index].item), user: u) }
                userBias[u] = min(max(sum / (Double(group.count) + options.refitUserBiasRegularization), -span), span)
            }
        }
    }

    /// argmin_w ‖X w − y‖² + λ‖w‖² for the rows x_r = [p_u, scale] of `users`. An item rated
    /// fewer times than there are features is solved in the dual, w = Xᵀ (X Xᵀ + λI)⁻¹ y: an
    /// n × n system instead of (k + 1) × (k + 1). Most items of a large catalog have a few
    /// ratings in the ring, and the primal's solve alone made a build 10× slower there.
    private func ridge(users: [Int], targets: [Double], lambda: Double, scale: Double) -> [Double]? {
        let k = dimension, width = k + 1, n = users.count
        return userVectors.withUnsafeBufferPointer { vectors in
            func feature(_ row: Int, _ j: Int) -> Double { j < k ? vectors[users[row] * k + j] : scale }
            if n < width {
                var kernel = SmallMatrix(rows: n, columns: n)
                for a in 0..<n {
                    for b in a..<n {
                        var dot = scale * scale
                        let pa = users[a] * k, pb = users[b] * k
                        for j in 0..<k { dot += vectors[pa + j] * vectors[pb + j] }
                        kernel[a, b] = dot
                        kernel[b, a] = dot
                    }
                    kernel[a, a] += lambda
                }
                guard let alpha = kernel.solveSymmetric(SmallMatrix(rows: n, columns: 1, values: targets))?.values else { return nil }
                var weights = [Double](repeating: 0, count: width)
                for row in 0..<n { for j in 0..<width { weights[j] += alpha[row] * feature(row, j) } }
                return weights
            }
            var gram = SmallMatrix(rows: width, columns: width)
            var right = SmallMatrix(rows: width, columns: 1)
            var x = [Double](repeating: scale, count: width)
            for row in 0..<n {
                for j in 0..<k { x[j] = vectors[users[row] * k + j] }
                x.withUnsafeBufferPointer { gram.addOuter($0.baseAddress!) }
                for j in 0..<width { right[j, 0] += x[j] * targets[row] }
            }
            for j in 0..<width { gram[j, j] += lambda }
            return gram.solveSymmetric(right)?.values
        }
    }

    /// b_i + p_u·v_i.
    private func itemScore(_ i: Int, user u: Int) -> Double {
        var dot = itemBias[i]
        for j in 0..<dimension { dot += userVectors[u * dimension + j] * itemVectors[i * dimension + j] }
        return dot
    }

    /// RMSE over the ratings of the users marked in `users` (their biases as learned online).
    func rmse(of users: [Bool]) -> Double {
        var squared = 0.0, count = 0
        for rating in ratings where users[Int(rating.user)] {
            let predicted = mean + userBias[Int(rating.user)] + itemScore(Int(rating.item), user: Int(rating.user))
            let error = min(max(predicted, range.lowerBound), range.upperBound) - rating.value
            squared += error * error
            count += 1
        }
        return count == 0 ? .nan : (squared / Double(count)).squareRoot()
    }

    func write(into learner: inout Learner) {
        let k = dimension
        let d = domain
        for (i, row) in itemRows.enumerated() {
            let vector = learner.domains[d].itemVectors.mutableRow(Int(row))
            for j in 0..<k { vector[j] = Float(itemVectors[i * k + j]) }
            learner.domains[d].itemScalars[Int(row), Learner.ItemColumn.bias] = itemBias[i]
        }
        for (u, row) in userRows.enumerated() { learner.domains[d].userScalars[Int(row), Learner.UserColumn.bias] = userBias[u] }
    }


    /// Runs of equal keys in `order` (already sorted by key).
    private static func groups(_ order: [Int], key: (Int) -> Int32) -> [ArraySlice<Int>] {
        var result: [ArraySlice<Int>] = []
        var start = 0
        for position in order.indices where position == order.count - 1 || key(order[position]) != key(order[position + 1]) {
            result.append(order[start...position])
            start = position + 1
        }
        return result
    }
}
