/// Folding users into a full build's joint solution (JointBasis): what a light version serves
/// the users seen since its base, instead of their online parameters, when the full build
/// served refitted ones.
extension Learner {
    /// A user's teacher parameters against the basis's items: the vector, and a bias per
    /// domain (solved where the rings hold their ratings; else the online one).
    struct FoldedUser {
        var vector: [Float]
        var biases: [Double]
    }

    /// The users of `rows` whose every rating the rings hold (as the full build solves only
    /// those), each solved by the ridge regression of the joint refit's user sweep against
    /// the basis's items. Ratings of items the basis does not hold are left out; a user left
    /// with none keeps their online parameters (absent from the result).
    func foldIn(_ rows: [Int], joint: JointBasis) -> [Int: FoldedUser] {
        guard !rows.isEmpty else { return [:] }
        let k = dimension, count = domains.count, shared = joint.model == .cmf
        var index: [UInt64: Int] = [:]
        index.reserveCapacity(rows.count)
        // A bit per low 20 bits of the users' hashes (128 KiB, in cache): most ring entries are
        // other users', and this turns them away before the dictionary's hashing.
        var filter = [UInt64](repeating: 0, count: 1 << 14)
        for (position, row) in rows.enumerated() {
            let hash = users.hash(of: Int32(row))
            index[hash] = position
            filter[Int(hash >> 6) & 0x3FFF] |= 1 << (hash & 63)
        }
        // Ring ratings of those users: (domain, item row, value), and how many the rings hold.
        var ratings = [[(domain: Int, item: Int, value: Double)]](repeating: [], count: rows.count)
        var held = [Double](repeating: 0, count: rows.count)
        for d in domains.indices {
            let items = domains[d].items
            let known = joint.itemHashes[d]
            domains[d].recent.forEach { userHash, itemHash, value in
                guard filter[Int(userHash >> 6) & 0x3FFF] & (1 << (userHash & 63)) != 0, let position = index[userHash] else { return }
                held[position] += 1
                guard let item = items.row(ofHash: itemHash), Int(item) < known.count, known[Int(item)] == itemHash else { return }
                ratings[position].append((d, Int(item), value))
            }
        }
        var folded: [Int: FoldedUser] = [:]
        var solver = RidgeSolver(width: k + (shared ? 1 : count))
        for (position, row) in rows.enumerated() where !ratings[position].isEmpty {
            let total = domains.indices.reduce(0.0) { $0 + userRecords[row, domain: $1, UserColumn.ratings] }
            guard held[position] >= total else { continue }
            solver.reset()
            var rated = [Bool](repeating: false, count: count)
            for (d, item, value) in ratings[position] {
                rated[d] = true
                solver.addRow(target: value - joint.means[d] - joint.itemBias[d][item]) { x in
                    let vector = joint.itemVectors[d]
                    for j in 0..<k { x[j] = Double(vector[item * k + j]) }
                    x[shared ? k : k + d] = 1
                }
            }
            let n = Double(ratings[position].count)
            var penalties = [Double](repeating: joint.lambda * n, count: solver.width)
            if !shared { for d in 0..<count { penalties[k + d] = joint.userBiasPenalty } }
            guard let weights = solver.solve(penalties: penalties) else { continue }
            var user = FoldedUser(
                vector: (0..<k).map { Float(min(max(weights[$0], -joint.limit), joint.limit)) },
                biases: (0..<count).map { userRecords[row, domain: $0, UserColumn.bias] })
            for d in 0..<count where rated[d] { user.biases[d] = min(max(weights[shared ? k : k + d], -joint.spans[d]), joint.spans[d]) }
            folded[row] = user
        }
        return folded
    }
}
