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
    /// Teacher parameters of every domain refitted on its latest ratings (a copy: the writer's
    /// learner is not changed): the joint refit, then, unless it was CMF's model, the target
    /// refit of each target domain; each target refit by domain, and the joint refit's choice.
    func refitted(
        version: Int, options: DistillOptions
    ) throws(BuildCancelled) -> (teacher: Learner, refits: [Int: DomainRefit], joint: JointChoice?) {
        var teacher = self
        var choice: JointChoice?
        if options.jointRefitSweeps > 0 {
            var joint = JointRefit(learner: self, model: .refit, lambda: options.jointRefitRegularization)
            if joint.isJoint {
                var judgedVersion = version
                var judged: (model: JointRefit.Model, errors: [String: Double], users: Int)?
                if options.jointRefitCMFRegularization > 0 {
                    if let kept = options.jointRefitReuse, let model = JointRefit.Model(rawValue: kept.model) {
                        judged = (model, kept.validationRMSE, kept.validationUsers)
                        judgedVersion = kept.judgedVersion
                    } else {
                        judged = try judgeJointModels(options: options)
                    }
                }
                if let judged, judged.model == .cmf {
                    joint.model = .cmf
                    joint.lambda = options.jointRefitCMFRegularization
                }
                try options.checkCancelled()
                joint.solve(sweeps: options.jointRefitSweeps, options: options)
                try options.checkCancelled()
                joint.write(into: &teacher)
                choice = JointChoice(
                    model: joint.model.rawValue, validationRMSE: judged?.errors ?? [:], validationUsers: judged?.users ?? 0,
                    ratings: joint.ratings.count, users: joint.solvedUsers, judgedVersion: judgedVersion)
            }
        }
        guard choice?.model != JointRefit.Model.cmf.rawValue, options.refitSweeps > 0, !options.refitRegularizations.isEmpty
        else { return (teacher, [:], choice) }
        var refits: [Int: DomainRefit] = [:]
        for d in domains.indices where configuration.domains[d].isTarget && domains[d].recent.count > 0 {
            try options.checkCancelled()
            refits[d] = teacher.refit(domain: d, options: options)
        }
        return (teacher, refits, choice)
    }

    /// The target refit of a trial (Learner+JointChoice.swift): the first candidate penalty,
    /// the users `hiding` names left out of the fit and of the judging of cold-start methods.
    mutating func refitLeavingOut(domain d: Int, options: DistillOptions, hiding: (Int32) -> Bool) -> DomainRefit? {
        var problem = RefitProblem(learner: self, domain: d)
        guard !problem.ratings.isEmpty, let lambda = options.refitRegularizations.first else { return nil }
        let leftOut = problem.userRows.map(hiding)
        problem.solve(sweeps: options.refitSweeps, lambda: lambda, options: options, skipping: leftOut)
        problem.write(into: &self)
        let choice = RefitChoice(
            regularization: lambda, validationRMSE: [:], ratings: problem.ratings.count, items: problem.itemRows.count,
            users: problem.userRows.count)
        return DomainRefit(choice: choice, problem: problem, leftOut: leftOut)
    }

    /// The target items that `users` rated in the ring, solved once more without any of the
    /// slice's held-out users' ratings, by learner row: the items the cold-start candidates
    /// are judged with, so that the held-out users' target ratings reach neither their
    /// vectors (the twins) nor the items they are judged on. An item that only held-out
    /// users rated is marked `unrated`: a cold user could not be asked about it.
    ///
    /// One ridge pass over those items only, against the user biases of the full refit (this
    /// learner is the refitted teacher). A second refit of the whole domain without the
    /// held-out users cost as much as the first; an item's ridge solution depends on the other
    /// users' biases alone, and those move little when the held-out users join.
    func judgedItems(refit: DomainRefit, users: [Int32], slice: Int, options: DistillOptions) -> [Int32: JudgedItem] {
        let problem = refit.problem
        let heldOut = problem.userRows.enumerated().map { u, row in
            refit.leftOut?[u] == true || validationSlice(user: row, fraction: options.validationFraction) == slice
        }
        return problem.judged(items: problem.items(ratedBy: users), lambda: refit.choice.regularization, options: options, skipping: heldOut)
    }

    private mutating func refit(domain d: Int, options: DistillOptions) -> DomainRefit? {
        var problem = RefitProblem(learner: self, domain: d)
        guard !problem.ratings.isEmpty else { return nil }
        var errors: [Double: Double] = [:]
        if options.refitRegularizations.count > 1 {
            let heldOut = problem.userRows.map { isHeldOut(user: $0, fraction: options.validationFraction) }
            for lambda in options.refitRegularizations where !options.isCancelled {
                var trial = problem
                trial.solve(sweeps: options.refitSweeps, lambda: lambda, options: options, skipping: heldOut)
                errors[lambda] = trial.rmse(of: heldOut)
            }
        }
        let chosen = errors.filter { !$0.value.isNaN }.min { ($0.value, $0.key) < ($1.value, $1.key) }?.key
            ?? options.refitRegularizations[0]
        problem.solve(sweeps: options.refitSweeps, lambda: chosen, options: options, skipping: nil)
        problem.write(into: &self)
        let choice = RefitChoice(
            regularization: chosen, validationRMSE: errors, ratings: problem.ratings.count, items: problem.itemRows.count,
            users: problem.userRows.count)
        return DomainRefit(choice: choice, problem: problem)
    }
}

/// An item's vector (rounded as the learner stores it) and bias, or that no user outside the
/// held-out slice rated it.
struct JudgedItem {
    var vector: [Double]
    var bias: Double
    var unrated = false
}

/// A target domain's refit: what it chose, and the solved problem, which the judging of
/// cold-start candidates starts from (alive for one build only).
struct DomainRefit {
    let choice: RefitChoice
    fileprivate let problem: RefitProblem
    /// Dense users left out of every fit (a trial's held-out users: Learner+JointChoice.swift).
    var leftOut: [Bool]? = nil
}

/// One refit: the ring's ratings resolved to dense item and user numbers, the parameters
/// being solved (starting from the online ones), and the fixed shared vectors.
fileprivate struct RefitProblem {
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
    /// Ratings with dense user and item numbers (in order of first appearance in the ring).
    var ratings: [Rating] = []
    /// Indices into `ratings` of each dense item's and each dense user's ratings, in ring order.
    var byItem = Groups(), byUser = Groups()
    /// Learner rows by dense number.
    var itemRows: [Int32] = []
    var userRows: [Int32] = []
    /// Shared vectors by dense user (`dimension` doubles each; fixed) and domain biases.
    var userVectors: [Double] = []
    var userBias: [Double] = []
    /// Item vectors (`dimension` doubles each) and biases by dense item.
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
            let vector = learner.userRecords.vector(Int(row))
            for j in 0..<k { userVectors.append(Double(vector[j])) }
            userBias.append(learner.userRecords[Int(row), domain: d, Learner.UserColumn.bias])
        }
        for row in itemRows {
            let vector = learner.domains[d].itemRecords.vector(Int(row))
            for j in 0..<k { itemVectors.append(Double(vector[j])) }
            itemBias.append(learner.domains[d].itemRecords[Int(row), Learner.ItemColumn.bias])
        }
        byItem = Groups(keys: ratings.map { Int($0.item) }, count: itemRows.count)
        byUser = Groups(keys: ratings.map { Int($0.user) }, count: userRows.count)
    }

    /// Alternating sweeps: each item's (vector, bias) by ridge regression of r − μ − b_u on
    /// [p_u, 1], then each user's bias as the mean residual shrunk toward 0. Users with
    /// `skipping[u]` are left out of the fit (the held-out slice).
    mutating func solve(sweeps: Int, lambda: Double, options: DistillOptions, skipping: [Bool]?) {
        for _ in 0..<sweeps {
            if options.isCancelled { break }
            solveItems(0..<itemRows.count, lambda: lambda, options: options, skipping: skipping)
            for u in 0..<userRows.count {
                if let skipping, skipping[u] { continue }
                let group = byUser[u]
                var sum = 0.0
                for index in group { sum += ratings[index].value - mean - itemScore(Int(ratings[index].item), user: u) }
                userBias[u] = min(max(sum / (Double(group.count) + options.refitUserBiasRegularization), -span), span)
            }
        }
    }

    /// One ridge solve of each of `items` (dense) against the current user biases.
    mutating func solveItems(_ items: Range<Int>, lambda: Double, options: DistillOptions, skipping: [Bool]?) {
        let k = dimension
        var scratch = ItemScratch()
        for i in items {
            guard let solved = solution(item: i, lambda: lambda, options: options, skipping: skipping, scratch: &scratch) else { continue }
            itemVectors.replaceSubrange(i * k..<(i + 1) * k, with: solved.vector)
            itemBias[i] = solved.bias
        }
    }

    /// What `solveItems` would write for `items` (dense), by learner row and rounded as the
    /// learner stores vectors, without changing this problem; an item no user outside
    /// `skipping` rated is marked `unrated` and keeps its values.
    func judged(items: [Int], lambda: Double, options: DistillOptions, skipping: [Bool]) -> [Int32: JudgedItem] {
        let k = dimension
        var scratch = ItemScratch()
        var result: [Int32: JudgedItem] = [:]
        for i in items {
            let solved = solution(item: i, lambda: lambda, options: options, skipping: skipping, scratch: &scratch)
            let vector = solved?.vector ?? Array(itemVectors[i * k..<(i + 1) * k])
            result[itemRows[i]] = JudgedItem(
                vector: vector.map { Double(Float($0)) }, bias: solved?.bias ?? itemBias[i], unrated: scratch.rows.isEmpty)
        }
        return result
    }

    /// Reused buffers of `solution`: the rating users of the item and their targets.
    struct ItemScratch {
        var rows: [Int] = [], targets: [Double] = []
    }

    /// Item `i`'s vector and bias by ridge regression of r − μ − b_u on [p_u, 1] over the
    /// ratings of users outside `skipping`, clamped; nil when none is left (`scratch.rows` is
    /// then empty) or the system is singular.
    private func solution(
        item i: Int, lambda: Double, options: DistillOptions, skipping: [Bool]?, scratch: inout ItemScratch
    ) -> (vector: [Double], bias: Double)? {
        let k = dimension
        // The bias enters as one more feature, scaled so that the uniform penalty λ on its
        // weight w equals the bias penalty λ_b on b = scale · w.
        let scale = (lambda / max(options.refitItemBiasRegularization, 1e-9)).squareRoot()
        scratch.rows.removeAll(keepingCapacity: true)
        scratch.targets.removeAll(keepingCapacity: true)
        for index in byItem[i] {
            let u = Int(ratings[index].user)
            if let skipping, skipping[u] { continue }
            scratch.rows.append(u)
            scratch.targets.append(ratings[index].value - mean - userBias[u])
        }
        guard !scratch.rows.isEmpty, let weights = ridge(users: scratch.rows, targets: scratch.targets, lambda: lambda, scale: scale)
        else { return nil }
        return ((0..<k).map { min(max(weights[$0], -limit), limit) }, min(max(scale * weights[k], -span), span))
    }

    /// Dense items rated in the ring by the users of learner rows `users`, ascending.
    func items(ratedBy users: [Int32]) -> [Int] {
        let wanted = Set(users)
        var items = Set<Int>()
        for (u, row) in userRows.enumerated() where wanted.contains(row) {
            for index in byUser[u] { items.insert(Int(ratings[index].item)) }
        }
        return items.sorted()
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
                // Each dot product summed over j ascending, four of them at a time
                // (independent chains of adds: the bits of one at a time).
                var kernel = SmallMatrix(rows: n, columns: n)
                let p = vectors.baseAddress!
                for a in 0..<n {
                    let pa = p + users[a] * k
                    var b = a
                    while b + 4 <= n {
                        let (d0, d1, d2, d3) = fourDots(
                            pa, p + users[b] * k, p + users[b + 1] * k, p + users[b + 2] * k, p + users[b + 3] * k, count: k,
                            start: scale * scale)
                        (kernel[a, b], kernel[a, b + 1], kernel[a, b + 2], kernel[a, b + 3]) = (d0, d1, d2, d3)
                        (kernel[b, a], kernel[b + 1, a], kernel[b + 2, a], kernel[b + 3, a]) = (d0, d1, d2, d3)
                        b += 4
                    }
                    for b in b..<n {
                        var dot = scale * scale
                        let pb = p + users[b] * k
                        for j in 0..<k { dot += pa[j] * pb[j] }
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
            // The rows [p_u, scale], then the normal equations by the joint refit's kernel
            // (the sums of SmallMatrix.addOuter row after row, the same bits).
            var features = [Double](repeating: scale, count: n * width)
            for row in 0..<n { for j in 0..<k { features[row * width + j] = vectors[users[row] * k + j] } }
            var gramValues = [Double](repeating: 0, count: width * width), rightValues = [Double](repeating: 0, count: width)
            RidgeSolver.accumulateNormalEquations(features, targets, width: width, into: &gramValues, &rightValues)
            var gram = SmallMatrix(rows: width, columns: width, values: gramValues)
            let right = SmallMatrix(rows: width, columns: 1, values: rightValues)
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

    /// Writes the solved item vectors and biases, and the user biases, into the learner.
    func write(into learner: inout Learner) {
        let k = dimension
        let d = domain
        for i in itemRows.indices {
            let row = Int(itemRows[i])
            let vector = learner.domains[d].itemRecords.writable(row).vector
            for j in 0..<k { vector[j] = Float(itemVectors[i * k + j]) }
            learner.domains[d].itemRecords[row, Learner.ItemColumn.bias] = itemBias[i]
        }
        for (u, row) in userRows.enumerated() { learner.userRecords[Int(row), domain: d, Learner.UserColumn.bias] = userBias[u] }
    }
}

/// Indices 0..<n grouped by a dense key in 0..<count, each group in index order (a counting
/// sort: the groups and their order depend on the keys alone).
struct Groups {
    private var order: [Int] = []
    private var starts: [Int] = [0]

    init() {}

    init(keys: [Int], count: Int) {
        var starts = [Int](repeating: 0, count: count + 1)
        for key in keys { starts[key + 1] += 1 }
        for key in 0..<count { starts[key + 1] += starts[key] }
        var next = starts
        order = [Int](repeating: 0, count: keys.count)
        for (index, key) in keys.enumerated() {
            order[next[key]] = index
            next[key] += 1
        }
        self.starts = starts
    }

    subscript(key: Int) -> ArraySlice<Int> { order[starts[key]..<starts[key + 1]] }
}
