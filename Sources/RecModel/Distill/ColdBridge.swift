/// The bridge of cold-start transfer: a cold user's target-domain vector (I + Δ)·s and bias
/// w·f(s), where s is their shared vector, fitted on the target ratings (the domain's ring) of
/// overlapping users through their source-only twins (UserTwins.swift). Fitting on the
/// target rating loss rather than on a map between embeddings follows PTUPCDR; with the twins,
/// the overlapping users stand for cold users exactly, in training and in validation alike.
/// Δ is penalized toward 0, so a strong penalty gives back the shared vector itself.
struct ColdBridge {
    /// Δ, k × k row-major.
    var delta: [Double]
    /// Bias weights over `Learner.transferFeatures`.
    var weights: [Double]
}

/// The ring's ratings of overlapping users, with what the fit needs, by dense user and item.
struct BridgeData {
    let k: Int
    let width: Int
    let range: ClosedRange<Double>
    let mean: Double
    /// Per rating: dense user, dense item, value, and μ + b_i + s_u·v_i.
    var userOf: [Int32] = [], itemOf: [Int32] = [], values: [Double] = [], baseOf: [Double] = []
    /// Per dense user: learner row, twin (source-only) vector (k each), transfer features
    /// (`width` each), held-out flag, rating indices.
    var userRows: [Int32] = []
    var sources: [Double] = [], features: [Double] = [], heldOut: [Bool] = [], ratingsOf: [[Int]] = []
    /// Learner rows, vectors (k each) and biases by dense item, and the items whose ratings
    /// are not judged (`replacingItems`).
    var itemRows: [Int32] = [], itemVectors: [Double] = [], itemBias: [Double] = []
    var unjudgedItems: [Bool] = []

    var userCount: Int { heldOut.count }

    /// The ring's ratings by the users of `rows` (learner rows of overlapping users).
    /// No user is held out until `holdingOut`.
    init(learner: Learner, target t: Int, rows: [Int]) {
        k = learner.dimension
        range = learner.configuration.domains[t].ratingRange
        let state = learner.domains[t]
        mean = state.mean
        width = learner.transferFeatureCount(target: t)
        let admitted = Set(rows.map { Int32($0) })
        var denseUser: [Int32: Int] = [:], denseItem: [Int32: Int] = [:]
        state.recent.forEach { userHash, itemHash, value in
            guard let user = learner.users.row(ofHash: userHash), admitted.contains(user),
                let item = state.items.row(ofHash: itemHash)
            else { return }
            let u = denseUser[user] ?? {
                let u = userCount
                denseUser[user] = u
                userRows.append(user)
                let source = learner.sourceVector(user: Int(user))
                for j in 0..<k { sources.append(Double(source[j])) }
                features += learner.transferFeatures(user: Int(user), target: t, vector: source)
                heldOut.append(false)
                ratingsOf.append([])
                return u
            }()
            let i = denseItem[item] ?? {
                let i = itemRows.count
                denseItem[item] = i
                itemRows.append(item)
                let vector = state.itemRecords.vector(Int(item))
                for j in 0..<k { itemVectors.append(Double(vector[j])) }
                itemBias.append(state.itemRecords[Int(item), Learner.ItemColumn.bias])
                unjudgedItems.append(false)
                return i
            }()
            ratingsOf[u].append(values.count)
            userOf.append(Int32(u))
            itemOf.append(Int32(i))
            values.append(value)
            baseOf.append(base(user: u, item: i))
        }
    }

    /// μ + b_i + s_u·v_i.
    private func base(user u: Int, item i: Int) -> Double {
        var base = mean + itemBias[i]
        for j in 0..<k { base += sources[u * k + j] * itemVectors[i * k + j] }
        return base
    }

    /// This data with the items in `items` (by learner row) replaced; the ratings of unrated
    /// ones are left out of `heldOutErrors`.
    func replacingItems(_ items: [Int32: JudgedItem]) -> BridgeData {
        var copy = self
        for (i, row) in itemRows.enumerated() {
            guard let item = items[row] else { continue }
            copy.itemVectors.replaceSubrange(i * k..<(i + 1) * k, with: item.vector)
            copy.itemBias[i] = item.bias
            copy.unjudgedItems[i] = item.unrated
        }
        for index in values.indices { copy.baseOf[index] = copy.base(user: Int(userOf[index]), item: Int(itemOf[index])) }
        return copy
    }

    /// x·s_u for every dense user (k each): the bridge's correction of each user's vector.
    func transformed(_ x: [Double]) -> [Double] {
        var result = [Double](repeating: 0, count: userCount * k)
        for u in 0..<userCount { transform(x, user: u, into: &result, at: u * k) }
        return result
    }

    /// out[at..<at+k] = x·s_u. Four outputs at a time, each summed in its own order (b
    /// ascending): independent chains of adds, the bits of one output at a time.
    private func transform(_ x: [Double], user u: Int, into out: inout [Double], at offset: Int) {
        precondition(x.count == k * k && (u + 1) * k <= sources.count && offset + k <= out.count)
        x.withUnsafeBufferPointer { x in
            sources.withUnsafeBufferPointer { sources in
                out.withUnsafeMutableBufferPointer { out in
                    let (x, s, out) = (x.baseAddress!, sources.baseAddress! + u * k, out.baseAddress! + offset)
                    var a = 0
                    while a + 4 <= k {
                        (out[a], out[a + 1], out[a + 2], out[a + 3]) = fourDots(
                            s, x + a * k, x + (a + 1) * k, x + (a + 2) * k, x + (a + 3) * k, count: k)
                        a += 4
                    }
                    for a in a..<k {
                        var sum = 0.0
                        for b in 0..<k { sum += x[a * k + b] * s[b] }
                        out[a] = sum
                    }
                }
            }
        }
    }

    /// v_i·t_u for one rating, with t from `transformed`.
    func bridgeTerm(_ t: [Double], rating index: Int) -> Double {
        let u = Int(userOf[index]), i = Int(itemOf[index])
        var sum = 0.0
        for a in 0..<k { sum += itemVectors[i * k + a] * t[u * k + a] }
        return sum
    }

    func biasTerm(_ weights: [Double], user u: Int) -> Double {
        var sum = 0.0
        for j in 0..<width { sum += weights[j] * features[u * width + j] }
        return sum
    }

    /// The `shared` method's bias of dense user `u` (Learner.sharedBias).
    func sharedBias(user u: Int) -> Double {
        Learner.sharedBias(features: features[u * width..<(u + 1) * width], dimension: k)
    }

    /// This data with the users whose learner row `isHeldOut` held out.
    func holdingOut(_ isHeldOut: (Int32) -> Bool) -> BridgeData {
        var copy = self
        copy.heldOut = userRows.map(isHeldOut)
        return copy
    }

    /// Squared error and count over the held-out users' ratings of base + `extra(rating,
    /// user)`, clipped.
    func heldOutErrors(_ extra: (Int, Int) -> Double) -> (squared: Double, count: Int) {
        Learner.inRowOrder(heldOutUserErrors(extra)).reduce((0, 0)) { ($0.0 + $1.squared, $0.1 + $1.count) }
    }

    /// The same, per held-out user (by learner row) with at least one judged rating.
    func heldOutUserErrors(_ extra: (Int, Int) -> Double) -> [Int32: (squared: Double, count: Int)] {
        var errors: [Int32: (squared: Double, count: Int)] = [:]
        for u in 0..<userCount where heldOut[u] {
            var squared = 0.0, count = 0
            for index in ratingsOf[u] where !unjudgedItems[Int(itemOf[index])] {
                let predicted = min(max(baseOf[index] + extra(index, u), range.lowerBound), range.upperBound)
                squared += (predicted - values[index]) * (predicted - values[index])
                count += 1
            }
            if count > 0 { errors[userRows[u]] = (squared, count) }
        }
        return errors
    }

    /// Alternating fits of w (ridge over ratings) and Δ (conjugate gradients) on the users
    /// `use` admits.
    func fit(use: (Int) -> Bool, biasRidge: Double, bridgeRidge: Double, rounds: Int = 3) -> ColdBridge? {
        let users = (0..<userCount).filter(use)
        guard users.count >= 10 else { return nil }
        var delta = [Double](repeating: 0, count: k * k)
        var weights = [Double](repeating: 0, count: width)
        for _ in 0..<rounds {
            // w: Σ_u n_u f f ᵀ w = Σ_u f Σ_i (r − base − Δ-term).
            var gram = SmallMatrix(rows: width, columns: width)
            var right = SmallMatrix(rows: width, columns: 1)
            let t = transformed(delta)
            for u in users {
                var sum = 0.0
                for index in ratingsOf[u] { sum += values[index] - baseOf[index] - bridgeTerm(t, rating: index) }
                features.withUnsafeBufferPointer { gram.addOuter($0.baseAddress! + u * width, weight: Double(ratingsOf[u].count)) }
                for j in 0..<width { right[j, 0] += features[u * width + j] * sum }
            }
            for j in 0..<width - 1 { gram[j, j] += biasRidge }
            gram[width - 1, width - 1] += 1e-9
            guard let solved = gram.solveSymmetric(right)?.values else { return nil }
            weights = solved
            // Δ: (H + λ) Δ = B by conjugate gradients, H(X) = Σ (vᵀ X s) v sᵀ.
            var target = [Double](repeating: 0, count: values.count)
            for u in users { for index in ratingsOf[u] { target[index] = values[index] - baseOf[index] - biasTerm(weights, user: u) } }
            delta = conjugateGradients(users: users, target: target, ridge: bridgeRidge, start: delta)
        }
        return ColdBridge(delta: delta, weights: weights)
    }

    /// Σ_u Σ_i c_ui v_i s_uᵀ, with c from `coefficient(index, t_u)` where t_u = X s_u.
    private func apply(_ x: [Double], users: [Int], coefficient: (Int, Double) -> Double) -> [Double] {
        var result = [Double](repeating: 0, count: k * k)
        var t = [Double](repeating: 0, count: k), g = [Double](repeating: 0, count: k)
        // Unchecked, and four ratings' dot products at a time (four independent sums, each
        // in its own order): this runs ratings × CG iterations × rounds times per fit, and
        // the bits are those of one rating at a time.
        itemVectors.withUnsafeBufferPointer { items in
            sources.withUnsafeBufferPointer { sources in
                result.withUnsafeMutableBufferPointer { result in
                    for u in users {
                        transform(x, user: u, into: &t, at: 0)
                        t.withUnsafeBufferPointer { t in
                            g.withUnsafeMutableBufferPointer { g in
                                accumulate(ratingsOf[u], items: items.baseAddress!, t: t.baseAddress!, into: g.baseAddress!, coefficient)
                                let s = sources.baseAddress! + u * k
                                for a in 0..<k where g[a] != 0 {
                                    let (line, ga) = (result.baseAddress! + a * k, g[a])
                                    for b in 0..<k { line[b] += ga * s[b] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// g = Σ_i c(i, v_i·t) v_i over one user's ratings.
    @inline(__always)
    private func accumulate(
        _ ratings: [Int], items: UnsafePointer<Double>, t: UnsafePointer<Double>, into g: UnsafeMutablePointer<Double>,
        _ coefficient: (Int, Double) -> Double
    ) {
        for a in 0..<k { g[a] = 0 }
        var next = 0
        while next + 4 <= ratings.count {
            let (i0, i1, i2, i3) = (ratings[next], ratings[next + 1], ratings[next + 2], ratings[next + 3])
            let v0 = items + Int(itemOf[i0]) * k, v1 = items + Int(itemOf[i1]) * k
            let v2 = items + Int(itemOf[i2]) * k, v3 = items + Int(itemOf[i3]) * k
            let (d0, d1, d2, d3) = fourDots(t, v0, v1, v2, v3, count: k)
            let (c0, c1, c2, c3) = (coefficient(i0, d0), coefficient(i1, d1), coefficient(i2, d2), coefficient(i3, d3))
            for a in 0..<k {
                var value = g[a]
                value += c0 * v0[a]
                value += c1 * v1[a]
                value += c2 * v2[a]
                value += c3 * v3[a]
                g[a] = value
            }
            next += 4
        }
        for index in ratings[next...] {
            let v = items + Int(itemOf[index]) * k
            var dot = 0.0
            for a in 0..<k { dot += v[a] * t[a] }
            let c = coefficient(index, dot)
            for a in 0..<k { g[a] += c * v[a] }
        }
    }

    private func conjugateGradients(users: [Int], target: [Double], ridge: Double, start: [Double]) -> [Double] {
        func operator_(_ x: [Double]) -> [Double] {
            var result = apply(x, users: users) { _, dot in dot }
            for j in result.indices { result[j] += ridge * x[j] }
            return result
        }
        let b = apply(start, users: users) { index, _ in target[index] }
        var x = start
        var r = zip(b, operator_(x)).map { $0 - $1 }
        var p = r
        var rr = r.reduce(0) { $0 + $1 * $1 }
        // A relative residual of 1e-4 is far below what the ratings' noise can tell apart;
        // each iteration costs O(users·k² + ratings·k).
        let stop = 1e-8 * max(b.reduce(0) { $0 + $1 * $1 }, 1e-30)
        for _ in 0..<25 where rr > stop {
            let ap = operator_(p)
            let alpha = rr / zip(p, ap).reduce(0) { $0 + $1.0 * $1.1 }
            for j in x.indices {
                x[j] += alpha * p[j]
                r[j] -= alpha * ap[j]
            }
            let next = r.reduce(0) { $0 + $1 * $1 }
            for j in p.indices { p[j] = r[j] + next / rr * p[j] }
            rr = next
        }
        return x
    }
}
