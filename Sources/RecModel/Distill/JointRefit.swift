internal import CKernels

/// The joint refit at distillation: collective matrix factorization solved in batch
/// (alternating least squares) over the rings of every domain's latest ratings, started from
/// the online parameters.
///
/// Why: a cold user's vector in a target domain comes from their ratings in the other domains,
/// and the target's items are only as useful as the shared space they were fitted in. Online,
/// that space is learned in one pass, each user vector one SGD step per event; batch CMF (ALS,
/// shared user vectors) fits the overlapping users' vectors on both domains jointly and
/// repeatedly, and predicted cold users better than the online model on every MovieLens-1M
/// cell of the cross-domain benchmark (docs/BENCHMARKS.md). This solves the same problem on
/// what the rings hold.
///
/// - Users are solved only when the rings hold every rating they made (their rating counts say
///   so): a user with older ratings keeps their online vector, which has seen them all.
/// - Items of every domain are solved against the users' vectors over what the ring holds.
/// - Vector penalties are per rating (ALS-WR, Zhou et al. 2008): λ·n on a row of n ratings.
/// - A user with ratings in a target domain also gets a source-only twin: the ridge solution of
///   their other domains' ratings alone against the solved items, the vector a cold user of
///   that target would have.
///
/// Two models (`Model`): CMF's own, one bias per user shared by every domain and every penalty
/// per rating; or a bias per user and domain with absolute bias penalties, which the target
/// refit (Learner+Refit.swift) then continues. Which one serves is judged at each build on
/// held-out users (Learner+JointChoice.swift): `hiding` leaves out the target ratings of those
/// users, who are then solved from their other domains alone, as a cold user is.
struct JointRefit {
    struct Rating {
        var user: Int32
        var item: Int32
        var value: Double
    }

    enum Model: String, CaseIterable, Sendable {
        /// One user bias across domains; vectors and biases penalized λ·n (collective MF).
        case cmf
        /// A user bias per domain (absolute penalties), then the target refit.
        case refit
    }

    var model: Model
    /// The L2 penalty per rating of vectors (and, for `cmf`, of biases).
    var lambda: Double
    let dimension: Int
    let domainCount: Int
    let means: [Double]
    let spans: [Double]
    let limit: Double
    let targets: [Bool]
    var ratings: [Rating] = []
    var byUser = Groups(), byItem = Groups()
    /// Learner rows by dense number; items are numbered across domains (`itemDomain`).
    var userRows: [Int32] = []
    var itemRows: [Int32] = []
    var itemDomain: [Int] = []
    /// Whether the rings hold every rating of the dense user (only those are solved).
    var complete: [Bool] = []
    /// Per dense user: the row of `solvedVectors` (complete users) or -1 (the online vector).
    /// Only complete users' vectors are copied: the rings of a large model name most of its users.
    var solvedRow: [Int32] = []
    /// Complete users' vectors (k each, Float as the learner keeps them); the online user table.
    var solvedVectors: [Float] = []
    let online: UserRecords
    /// Per-domain biases of every dense user (domainCount each); items' vectors (k each) and biases.
    var userBias: [Double] = []
    var itemVectors: [Float] = [], itemBias: [Double] = []
    /// Source-only vectors of the users with target ratings (k each), by dense user; empty until solved.
    var twinVectors: [Int: [Double]] = [:]
    /// The target ratings left out by `hiding` (complete users with ratings elsewhere only).
    var hidden: [Rating] = []

    /// The problem over the learner's rings. `hiding` names the users (learner rows) whose
    /// target ratings are left out, to judge the model by.
    init(learner: Learner, model: Model, lambda: Double, hiding: ((Int32) -> Bool)? = nil) {
        let k = learner.dimension
        self.model = model
        self.lambda = lambda
        dimension = k
        domainCount = learner.domains.count
        means = learner.domains.map(\.mean)
        spans = learner.configuration.domains.map { $0.ratingRange.upperBound - $0.ratingRange.lowerBound }
        limit = learner.configuration.parameterLimit
        targets = learner.configuration.domains.map(\.isTarget)
        online = learner.userRecords
        // Dense numbers by learner row (-1: not yet seen), in arrays: the rings of a large
        // model hold millions of ratings, and a Dictionary's hashing was a share of a build.
        var denseUser = [Int32](repeating: -1, count: learner.users.rowLimit)
        var ringCounts: [Int] = []
        for d in learner.domains.indices {
            var denseItem = [Int32](repeating: -1, count: learner.domains[d].items.rowLimit)
            learner.domains[d].recent.forEach { userHash, itemHash, value in
                guard let user = learner.users.row(ofHash: userHash), let item = learner.domains[d].items.row(ofHash: itemHash) else {
                    return
                }
                if denseUser[Int(user)] < 0 {
                    userRows.append(user)
                    ringCounts.append(0)
                    denseUser[Int(user)] = Int32(userRows.count - 1)
                }
                if denseItem[Int(item)] < 0 {
                    itemRows.append(item)
                    itemDomain.append(d)
                    denseItem[Int(item)] = Int32(itemRows.count - 1)
                }
                let (u, i) = (denseUser[Int(user)], denseItem[Int(item)])
                ringCounts[Int(u)] += 1
                ratings.append(Rating(user: u, item: i, value: value))
            }
        }
        for (u, row) in userRows.enumerated() {
            var total = 0.0
            for d in 0..<domainCount {
                userBias.append(learner.userRecords[Int(row), domain: d, Learner.UserColumn.bias])
                total += learner.userRecords[Int(row), domain: d, Learner.UserColumn.ratings]
            }
            complete.append(Double(ringCounts[u]) >= total)
            if complete[u] {
                solvedRow.append(Int32(solvedVectors.count / k))
                let vector = learner.userRecords.vector(Int(row))
                for j in 0..<k { solvedVectors.append(vector[j]) }
            } else {
                solvedRow.append(-1)
            }
        }
        for (i, row) in itemRows.enumerated() {
            let vector = learner.domains[itemDomain[i]].itemRecords.vector(Int(row))
            for j in 0..<k { itemVectors.append(vector[j]) }
            itemBias.append(learner.domains[itemDomain[i]].itemRecords[Int(row), Learner.ItemColumn.bias])
        }
        if let hiding { hide(hiding) }
        byUser = Groups(keys: ratings.map { Int($0.user) }, count: userRows.count)
        byItem = Groups(keys: ratings.map { Int($0.item) }, count: itemRows.count)
    }

    /// Moves the target ratings of the complete users `hiding` names, and who rated elsewhere
    /// in the rings, from `ratings` to `hidden`.
    private mutating func hide(_ hiding: (Int32) -> Bool) {
        var rated = [Bool](repeating: false, count: userRows.count)
        for rating in ratings where !targets[itemDomain[Int(rating.item)]] { rated[Int(rating.user)] = true }
        let held = userRows.indices.map { rated[$0] && complete[$0] && hiding(userRows[$0]) }
        var kept: [Rating] = []
        for rating in ratings {
            if held[Int(rating.user)] && targets[itemDomain[Int(rating.item)]] { hidden.append(rating) } else { kept.append(rating) }
        }
        ratings = kept
    }

    /// Dense user `u`'s vector as it stands: solved (complete users) or online.
    @inline(__always)
    private func userVector(_ u: Int, _ body: (UnsafePointer<Float>) -> Void) {
        let slot = Int(solvedRow[u])
        guard slot >= 0 else { return body(online.vector(Int(userRows[u]))) }
        solvedVectors.withUnsafeBufferPointer { body($0.baseAddress! + slot * dimension) }
    }

    /// Whether the rings hold ratings of a target domain and of another one: else there is no
    /// cold start to serve, or nothing joint to solve.
    var isJoint: Bool { itemDomain.contains { targets[$0] } && itemDomain.contains { !targets[$0] } }

    /// `sweeps` alternations of users (vector and per-domain biases) and items (vector and bias).
    /// `twins`: also the source-only vectors (not needed to judge a model).
    /// `resolveSettled`: solve those items again in every sweep all the same (tests compare).
    mutating func solve(sweeps: Int, options: DistillOptions, twins: Bool = true, resolveSettled: Bool = false) {
        // An item rated in the rings by no complete user is solved from inputs no sweep
        // changes (online vectors and biases): every sweep after the first would give it the
        // same bits again. At 1 M users most raters have ratings older than the rings.
        let moving = sweeps > 1 && !resolveSettled
            ? itemRows.indices.map { i in byItem[i].contains { complete[Int(ratings[$0].user)] } } : nil
        for sweep in 0..<sweeps {
            if options.isCancelled { break }
            solveUsers(options: options)
            solveItems(options: options, only: sweep == 0 ? nil : moving)
        }
        if twins { solveTwins(options: options) }
    }

    /// Complete users (the ones solved).
    var solvedUsers: Int { complete.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Each complete user's [p_u, b_u1 … b_uD] by ridge regression of r − μ_d − b_i on
    /// [q_i, e_d]: the vector penalized λ·n, each domain's bias by its own absolute penalty;
    /// for `cmf`, [p_u, b_u] on [q_i, 1], every weight penalized λ·n.
    private mutating func solveUsers(options: DistillOptions) {
        let k = dimension, shared = model == .cmf
        let width = k + (shared ? 1 : domainCount)
        var solver = RidgeSolver(width: width)
        for u in userRows.indices where complete[u] {
            let group = byUser[u]
            solver.reset()
            for index in group {
                let rating = ratings[index]
                let i = Int(rating.item), d = itemDomain[i]
                solver.addRow(target: rating.value - means[d] - itemBias[i]) { x in
                    for j in 0..<k { x[j] = Double(itemVectors[i * k + j]) }
                    x[shared ? k : k + d] = 1
                }
            }
            var penalties = [Double](repeating: lambda * Double(group.count), count: width)
            if !shared { for d in 0..<domainCount { penalties[k + d] = options.refitUserBiasRegularization } }
            guard let weights = solver.solve(penalties: penalties) else { continue }
            let slot = Int(solvedRow[u]) * k
            for j in 0..<k { solvedVectors[slot + j] = Float(min(max(weights[j], -limit), limit)) }
            var rated = [Bool](repeating: shared, count: domainCount)
            for index in group { rated[itemDomain[Int(ratings[index].item)]] = true }
            for d in 0..<domainCount where rated[d] {
                userBias[u * domainCount + d] = min(max(weights[shared ? k : k + d], -spans[d]), spans[d])
            }
        }
    }

    /// Each item's [q_i, b_i] by ridge regression of r − μ_d − b_ud on [p_u, 1]: the vector
    /// penalized λ·n, the bias absolutely (`cmf`: λ·n too). `only`: the items to solve (nil: all).
    private mutating func solveItems(options: DistillOptions, only: [Bool]? = nil) {
        let k = dimension, width = k + 1
        var solver = RidgeSolver(width: width)
        for i in itemRows.indices where only?[i] ?? true {
            let group = byItem[i]
            let d = itemDomain[i]
            solver.reset()
            for index in group {
                let u = Int(ratings[index].user)
                solver.addRow(target: ratings[index].value - means[d] - userBias[u * domainCount + d]) { x in
                    userVector(u) { for j in 0..<k { x[j] = Double($0[j]) } }
                    x[k] = 1
                }
            }
            var penalties = [Double](repeating: lambda * Double(group.count), count: width)
            if model == .refit { penalties[k] = options.refitItemBiasRegularization }
            guard let weights = solver.solve(penalties: penalties) else { continue }
            for j in 0..<k { itemVectors[i * k + j] = Float(min(max(weights[j], -limit), limit)) }
            itemBias[i] = min(max(weights[k], -spans[d]), spans[d])
        }
    }

    /// The source-only vector of each user with ratings in a target domain and elsewhere: their
    /// other ratings alone, against the solved items and their own biases.
    private mutating func solveTwins(options: DistillOptions) {
        let k = dimension
        var solver = RidgeSolver(width: k)
        for u in userRows.indices where complete[u] {
            let group = byUser[u]
            let sources = group.filter { !targets[itemDomain[Int(ratings[$0].item)]] }
            guard !sources.isEmpty, sources.count < group.count else { continue }
            solver.reset()
            for index in sources {
                let i = Int(ratings[index].item), d = itemDomain[i]
                solver.addRow(target: ratings[index].value - means[d] - itemBias[i] - userBias[u * domainCount + d]) { x in
                    for j in 0..<k { x[j] = Double(itemVectors[i * k + j]) }
                }
            }
            let penalties = [Double](repeating: lambda * Double(sources.count), count: k)
            guard let weights = solver.solve(penalties: penalties) else { continue }
            twinVectors[u] = weights.map { min(max($0, -limit), limit) }
        }
    }

    /// The squared errors, by user (learner row), of the hidden ratings predicted by `learner`
    /// (the solved problem written into it, and whatever followed) as it predicts a cold user's:
    /// the user's vector, solved from their other domains alone, through the domain's transfer
    /// map (`maps`; without one, the `shared` method). Ratings of items that only hidden users
    /// rated are left out: nothing was fitted on them.
    func coldErrors(in learner: Learner, maps: [Int: TransferMap]) -> Learner.UserErrors {
        var errors: Learner.UserErrors = [:]
        let k = dimension
        for rating in hidden where !byItem[Int(rating.item)].isEmpty {
            let row = Int(userRows[Int(rating.user)]), item = Int(itemRows[Int(rating.item)])
            let d = itemDomain[Int(rating.item)]
            let items = learner.domains[d].itemRecords
            let map = maps[d] ?? TransferMap(
                target: d, weights: nil, bridge: nil,
                choice: TransferChoice(method: "shared", validationRMSE: [:], trainingUsers: 0, validationUsers: 0))
            var predicted = learner.domains[d].mean + items[item, Learner.ItemColumn.bias] + map.bias(learner, user: row)
            var user = (0..<k).map { Double(learner.userRecords.vector(row)[$0]) }
            if let delta = map.bridge {
                // (I + Δ)·p, Δ row-major k × k.
                user = (0..<k).map { a in user[a] + (0..<k).reduce(0.0) { $0 + delta[a * k + $1] * user[$1] } }
            }
            let vector = items.vector(item)
            for j in 0..<k { predicted += user[j] * Double(vector[j]) }
            let range = learner.configuration.domains[d].ratingRange
            let error = min(max(predicted, range.lowerBound), range.upperBound) - rating.value
            errors[userRows[Int(rating.user)], default: (0, 0)].squared += error * error
            errors[userRows[Int(rating.user)], default: (0, 0)].count += 1
        }
        return errors
    }

    /// Writes the solved parameters into the learner: complete users' vectors, their biases in
    /// the domains they rated in the rings, and twins; every ring item's vector and bias.
    func write(into learner: inout Learner) {
        let k = dimension
        for (u, row) in userRows.enumerated() where complete[u] {
            let record = learner.userRecords.writable(Int(row))
            let slot = Int(solvedRow[u]) * k
            for j in 0..<k { record.vector[j] = solvedVectors[slot + j] }
        }
        for index in ratings.indices {
            let u = Int(ratings[index].user)
            guard complete[u] else { continue }
            let d = itemDomain[Int(ratings[index].item)]
            learner.userRecords[Int(userRows[u]), domain: d, Learner.UserColumn.bias] = userBias[u * domainCount + d]
        }
        for (u, vector) in twinVectors {
            guard let twin = learner.twins.row(ofUser: Int(userRows[u])) else { continue }
            let row = learner.twins.rows.mutableRow(twin)
            for j in 0..<k { row[j] = Float(vector[j]) }
        }
        for (i, row) in itemRows.enumerated() {
            let d = itemDomain[i]
            let vector = learner.domains[d].itemRecords.writable(Int(row)).vector
            for j in 0..<k { vector[j] = itemVectors[i * k + j] }
            learner.domains[d].itemRecords[Int(row), Learner.ItemColumn.bias] = itemBias[i]
        }
    }
}

/// argmin_w ‖X w − y‖² + Σ_j λ_j w_j², rows added one at a time. With fewer rows than features
/// it solves the dual, w = Λ^-1/2·Zᵀ(Z·Zᵀ + I)⁻¹y with Z = X·Λ^-1/2: most rows of a large
/// catalog or user base have a handful of ratings, and an n × n system is then far cheaper
/// than the width² one. Buffers are kept between solves (one solver per loop over rows).
struct RidgeSolver {
    let width: Int
    private var features: [Double] = []
    private var targets: [Double] = []
    private var system: [Double] = []
    private var right: [Double] = []

    init(width: Int) { self.width = width }

    mutating func reset() {
        features.removeAll(keepingCapacity: true)
        targets.removeAll(keepingCapacity: true)
    }

    /// One row: `fill` writes its features into a zeroed buffer of `width`.
    mutating func addRow(target: Double, _ fill: (UnsafeMutablePointer<Double>) -> Void) {
        let start = features.count
        features.append(contentsOf: repeatElement(0, count: width))
        features.withUnsafeMutableBufferPointer { fill($0.baseAddress! + start) }
        targets.append(target)
    }

    /// The solution, or nil without rows or with a singular system.
    mutating func solve(penalties: [Double]) -> [Double]? {
        let n = targets.count, w = width
        guard n > 0 else { return nil }
        let dual = n < w
        let size = dual ? n : w
        system.removeAll(keepingCapacity: true)
        system.append(contentsOf: repeatElement(0, count: size * size))
        right.removeAll(keepingCapacity: true)
        let scales = penalties.map { 1 / max($0, 1e-9).squareRoot() }
        if dual {
            // Z in place of X, then K = Z·Zᵀ + I against y: each dot product summed over j
            // ascending, four of them at a time (independent chains of adds, the same bits).
            features.withUnsafeMutableBufferPointer { z in
                for row in 0..<n { for j in 0..<w { z[row * w + j] *= scales[j] } }
            }
            features.withUnsafeBufferPointer { z in
                system.withUnsafeMutableBufferPointer { k in
                    let (z, k) = (z.baseAddress!, k.baseAddress!)
                    for a in 0..<n {
                        let za = z + a * w
                        var b = a
                        while b + 4 <= n {
                            let (d0, d1, d2, d3) = fourDots(za, z + b * w, z + (b + 1) * w, z + (b + 2) * w, z + (b + 3) * w, count: w)
                            (k[a * n + b], k[a * n + b + 1], k[a * n + b + 2], k[a * n + b + 3]) = (d0, d1, d2, d3)
                            (k[b * n + a], k[(b + 1) * n + a], k[(b + 2) * n + a], k[(b + 3) * n + a]) = (d0, d1, d2, d3)
                            b += 4
                        }
                        for b in b..<n {
                            var dot = 0.0
                            for j in 0..<w { dot += za[j] * z[b * w + j] }
                            k[a * n + b] = dot
                            k[b * n + a] = dot
                        }
                        k[a * n + a] += 1
                    }
                }
            }
            right.append(contentsOf: targets)
        } else {
            right.append(contentsOf: repeatElement(0, count: w))
            Self.accumulateNormalEquations(features, targets, width: w, into: &system, &right)
            for i in 0..<w { system[i * w + i] += penalties[i] }
        }
        guard Self.choleskySolve(&system, &right, size: size) else { return nil }
        guard dual else { return right }
        var weights = [Double](repeating: 0, count: w)
        for row in 0..<n { for j in 0..<w { weights[j] += right[row] * features[row * w + j] } }
        for j in 0..<w { weights[j] *= scales[j] }
        return weights
    }

    /// gram += Xᵀ·X (whole, row-major) and right += Xᵀ·y, X being `features` (`width` a row),
    /// in C (ridge_gram.c): four rows at a time, AVX2 where the CPU has it, the bits of one row
    /// at a time everywhere.
    static func accumulateNormalEquations(
        _ features: [Double], _ targets: [Double], width w: Int, into gram: inout [Double], _ right: inout [Double],
        allowAVX2: Bool = true
    ) {
        precondition(features.count == targets.count * w && gram.count == w * w && right.count == w)
        features.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                gram.withUnsafeMutableBufferPointer { g in
                    right.withUnsafeMutableBufferPointer { rhs in
                        guard let x = x.baseAddress, let y = y.baseAddress else { return }
                        crossrec_gram_accumulate(x, y, targets.count, w, g.baseAddress!, rhs.baseAddress!, allowAVX2 ? 1 : 0)
                    }
                }
            }
        }
    }

    /// Solves A x = b in place (A symmetric positive definite, size × size, row-major; b
    /// becomes x), A's lower triangle becoming its Cholesky factor; false when A is not
    /// positive definite.
    private static func choleskySolve(_ a: inout [Double], _ b: inout [Double], size n: Int) -> Bool {
        a.withUnsafeMutableBufferPointer { l in
            b.withUnsafeMutableBufferPointer { x in
                for j in 0..<n {
                    var sum = l[j * n + j]
                    for k in 0..<j { sum -= l[j * n + k] * l[j * n + k] }
                    guard sum > 0 else { return false }
                    let diagonal = sum.squareRoot()
                    l[j * n + j] = diagonal
                    for i in (j + 1)..<max(j + 1, n) {
                        var value = l[i * n + j]
                        for k in 0..<j { value -= l[i * n + k] * l[j * n + k] }
                        l[i * n + j] = value / diagonal
                    }
                }
                for i in 0..<n {
                    var value = x[i]
                    for k in 0..<i { value -= l[i * n + k] * x[k] }
                    x[i] = value / l[i * n + i]
                }
                for i in stride(from: n - 1, through: 0, by: -1) {
                    var value = x[i]
                    for k in (i + 1)..<max(i + 1, n) { value -= l[k * n + i] * x[k] }
                    x[i] = value / l[i * n + i]
                }
                return true
            }
        }
    }
}
