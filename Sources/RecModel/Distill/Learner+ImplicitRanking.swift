/// PureSVD factors of every domain's seen lists at once: X has one column per item of every
/// domain (domain after domain), so a user's vector x_u·V sums the factors of everything they
/// rated anywhere. In a domain they never rated, that vector still scores its items: the
/// implicit part of a cold user's list comes from their other domains.
struct JointImplicitFactors {
    let factors: ImplicitFactors
    /// First column of each domain's items in X.
    let offsets: [Int]
    /// Each user's x_u·V, by user row (zeros: no seen list anywhere).
    let userParts: [Double]
    let hasPart: [Bool]

    /// One past the last column of domain `d`'s items in X: items that came after the factors
    /// have none.
    func end(ofDomain d: Int) -> Int { d + 1 < offsets.count ? offsets[d + 1] : factors.itemCount }

    /// X's columns of `user`'s seen lists in every domain: each live item at its domain's
    /// offset, and below `end(d)` when given. `seen` and `items` are by domain, taken out of
    /// the learner once per build: copying a domain's state per user costs more than the sum.
    static func seenColumns(user: Int32, seen: [SeenLists], items: [IDIndex], offsets: [Int], end: ((Int) -> Int)? = nil) -> [Int32] {
        var columns: [Int32] = []
        for d in seen.indices {
            guard let hashes = seen[d][user] else { continue }
            let limit = end?(d) ?? .max
            for hash in hashes {
                guard let row = items[d].row(ofHash: hash), items[d].isLive(row), offsets[d] + Int(row) < limit else { continue }
                columns.append(Int32(offsets[d]) + row)
            }
        }
        return columns
    }
}

/// One domain's implicit part of the ranking teacher, scaled so that item and user parts
/// have the head's magnitude in the student's int8 rows, and weighted so that
/// `rankingImplicitWeight` 1 gives the PureSVD score the same spread (RMS over sampled pairs)
/// as the head's.
struct ImplicitRanking {
    let joint: JointImplicitFactors
    let domain: Int
    let itemScale: Double
    let userScale: Double

    var rank: Int { joint.factors.rank }

    func item(_ row: Int) -> [Double] {
        let base = (joint.offsets[domain] + row) * rank
        return (0..<rank).map { joint.factors.items[base + $0] * itemScale }
    }

    func user(_ row: Int) -> [Double] {
        let base = row * rank
        guard base < joint.userParts.count else { return Array(repeating: 0, count: rank) }
        return (0..<rank).map { joint.userParts[base + $0] * userScale }
    }

    /// target[offset..<offset+k] += item part (1 × r) · transform (r × k).
    func projectItem(_ row: Int, _ transform: [Float], _ k: Int, into target: inout [Float], at offset: Int) {
        Self.project(joint.factors.items, from: (joint.offsets[domain] + row) * rank, scale: itemScale, rank, transform, k, into: &target, at: offset)
    }

    /// target[offset..<offset+k] += user part (1 × r) · transform (r × k); nothing for a user
    /// without a seen list anywhere.
    func projectUser(_ row: Int, _ transform: [Float], _ k: Int, into target: inout [Float], at offset: Int) {
        guard row < joint.hasPart.count, joint.hasPart[row] else { return }
        Self.project(joint.userParts, from: row * rank, scale: userScale, rank, transform, k, into: &target, at: offset)
    }

    private static func project(
        _ source: [Double], from start: Int, scale: Double, _ r: Int, _ transform: [Float], _ k: Int, into target: inout [Float], at offset: Int
    ) {
        precondition(start + r <= source.count && transform.count == r * k && offset + k <= target.count)
        source.withUnsafeBufferPointer { source in
            transform.withUnsafeBufferPointer { transform in
                target.withUnsafeMutableBufferPointer { target in
                    for j in 0..<r {
                        let value = Float(source[start + j] * scale)
                        for column in 0..<k { target[offset + column] += value * transform[j * k + column] }
                    }
                }
            }
        }
    }

    /// Adds the implicit part of `user`'s score to each item's entry of `scores` (by item row).
    func addScores(user: Int, items: [Int], to scores: inout [Double]) {
        guard user < joint.hasPart.count, joint.hasPart[user] else { return }
        let (r, offset, scale) = (rank, joint.offsets[domain], itemScale * userScale)
        joint.userParts.withUnsafeBufferPointer { parts in
            joint.factors.items.withUnsafeBufferPointer { factors in
                scores.withUnsafeMutableBufferPointer { scores in
                    let u = parts.baseAddress! + user * r
                    for item in items {
                        let v = factors.baseAddress! + (offset + item) * r
                        var sum = 0.0
                        for j in 0..<r { sum += u[j] * v[j] }
                        scores[item] += sum * scale
                    }
                }
            }
        }
    }

    /// The same factors and scales without the users' parts (a light version computes the
    /// parts of the users it recomputes: `userPart`).
    var withoutUserParts: ImplicitRanking {
        let factors = JointImplicitFactors(factors: joint.factors, offsets: joint.offsets, userParts: [], hasPart: [])
        return ImplicitRanking(joint: factors, domain: domain, itemScale: itemScale, userScale: userScale)
    }

    /// Whether item `row` of this domain has a row in V: items that came after the factors have none.
    func hasItem(_ row: Int) -> Bool { joint.offsets[domain] + row < joint.end(ofDomain: domain) }

    /// x_u·V from the user's seen lists in every domain (`seen` and `items` by domain), items V
    /// knows only; nil when none of them is known.
    static func userPart(_ factors: JointImplicitFactors, seen: [SeenLists], items: [IDIndex], user: Int32) -> [Double]? {
        let columns = JointImplicitFactors.seenColumns(user: user, seen: seen, items: items, offsets: factors.offsets, end: factors.end(ofDomain:))
        return columns.isEmpty ? nil : factors.factors.userVector(columns)
    }

    /// target[offset..<offset+k] += `part` (x_u·V, unscaled) scaled · transform (r × k).
    func projectUserPart(_ part: [Double], _ transform: [Float], _ k: Int, into target: inout [Float], at offset: Int) {
        Self.project(part, from: 0, scale: userScale, rank, transform, k, into: &target, at: offset)
    }

    /// The implicit part of the teacher's score for (user, item).
    func score(user: Int, item: Int) -> Double {
        let (u, i) = (user * rank, (joint.offsets[domain] + item) * rank)
        guard u < joint.userParts.count else { return 0 }
        var sum = 0.0
        for j in 0..<rank { sum += joint.userParts[u + j] * joint.factors.items[i + j] }
        return sum * itemScale * userScale
    }
}

extension Learner {
    /// The joint factors of this learner's seen lists; nil when the blend is off or there is
    /// too little to factor.
    func jointImplicitFactors(options: DistillOptions) -> JointImplicitFactors? {
        guard configuration.ranking.isEnabled, options.rankingImplicitRank > 0, options.rankingImplicitWeight > 0 else { return nil }
        var offsets: [Int] = []
        var columns = 0
        for state in domains {
            offsets.append(columns)
            columns += state.items.rowLimit
        }
        var x = ImplicitFactors.Interactions()
        let (seen, items) = (domains.map(\.seen), domains.map(\.items))
        for user in 0..<users.rowLimit where users.isLive(Int32(user)) {
            x.append(user: Int32(user), items: JointImplicitFactors.seenColumns(user: Int32(user), seen: seen, items: items, offsets: offsets))
        }
        guard let factors = ImplicitFactors(
            x.sample(options.rankingImplicitUsers), itemCount: columns, rank: options.rankingImplicitRank, seed: configuration.seed,
            cancellation: options.cancellation)
        else { return nil }
        let rank = factors.rank
        var parts = [Double](repeating: 0, count: users.rowLimit * rank)
        var hasPart = [Bool](repeating: false, count: users.rowLimit)
        for index in 0..<x.userCount {
            let user = Int(x.users[index])
            for (j, value) in factors.userVector(x.row(index)).enumerated() { parts[user * rank + j] = value }
            hasPart[user] = true
        }
        return JointImplicitFactors(factors: factors, offsets: offsets, userParts: parts, hasPart: hasPart)
    }

    /// Domain `d`'s scaling of the joint factors: RMS of the head's item vectors against V's
    /// rows, and of the two scores over sampled (user, item) pairs.
    func implicitRanking(
        _ joint: JointImplicitFactors?, domain d: Int, options: DistillOptions, users userSample: [Int], items liveItemRows: [Int],
        online: UserRecords
    ) -> ImplicitRanking? {
        guard let joint else { return nil }
        let state = domains[d]
        let rank = joint.factors.rank
        let unscaled = ImplicitRanking(joint: joint, domain: d, itemScale: 1, userScale: 1)
        let items = Self.evenlySpaced(liveItemRows, 200)
        let sampledUsers = Self.evenlySpaced(userSample.filter { joint.hasPart[$0] }, 200)
        var (headItems, implicitItems, headScores, implicitScores) = (0.0, 0.0, 0.0, 0.0)
        for item in items {
            let head = state.itemRecords.rank(item)
            for j in 0..<dimension { headItems += Double(head[j] * head[j]) }
            for value in unscaled.item(item) { implicitItems += value * value }
            for user in sampledUsers {
                let shared = online.vector(user)
                var headScore = 0.0
                for j in 0..<dimension { headScore += Double(shared[j] * head[j]) }
                let implicit = unscaled.score(user: user, item: item)
                headScores += headScore * headScore
                implicitScores += implicit * implicit
            }
        }
        guard rank > 0, implicitItems > 0, implicitScores > 0, headItems > 0, headScores > 0 else { return nil }
        let itemScale = (headItems / implicitItems).squareRoot()
        let weight = options.rankingImplicitWeight * (headScores / implicitScores).squareRoot()
        return ImplicitRanking(joint: joint, domain: d, itemScale: itemScale, userScale: weight / itemScale)
    }
}
