/// Item factors of a domain's interaction matrix X (users × items, 1 where the user rated the
/// item: the seen lists), as PureSVD has them (Cremonesi et al., RecSys 2010): the top `rank`
/// eigenvectors V of XᵀX. A user's scores are x_u·V·Vᵀ, so x_u·V is their vector, computed
/// from their seen list at build time. Found by a randomized range finder with power
/// iterations (Halko, Martinsson, Tropp 2011) on X as a sparse matrix: each pass costs
/// 2·nnz·(rank + oversampling) multiply-adds, and nothing of size items × items is formed.
///
/// Deterministic: the starting block comes from a fixed seed and every sum runs in row order,
/// so one learner always gives the same factors (replays stay bit-identical).
struct ImplicitFactors {
    let rank: Int
    let itemCount: Int
    /// itemCount × rank, row-major: V.
    let items: [Double]
    /// Eigenvalues of XᵀX kept (descending).
    let values: [Double]

    /// Sparse X by user: each user's item rows.
    struct Interactions {
        var users: [Int32] = []
        var offsets: [Int] = [0]
        var items: [Int32] = []

        mutating func append(user: Int32, items rows: [Int32]) {
            guard !rows.isEmpty else { return }
            users.append(user)
            items.append(contentsOf: rows)
            offsets.append(items.count)
        }

        var userCount: Int { users.count }
        func row(_ index: Int) -> ArraySlice<Int32> { items[offsets[index]..<offsets[index + 1]] }

        /// At most `count` users, evenly spaced (all of them, unchanged, when there are fewer).
        func sample(_ count: Int) -> Interactions {
            guard userCount > count, count > 0 else { return self }
            var sampled = Interactions()
            for k in 0..<count {
                let index = k * userCount / count
                sampled.append(user: users[index], items: Array(row(index)))
            }
            return sampled
        }
    }

    /// Nil when X is too small for the rank (fewer items or users than rank + 1). The power
    /// iterations end early once `cancellation` is set (the build then throws the result away).
    init?(
        _ x: Interactions, itemCount: Int, rank: Int, oversampling: Int = 10, powerIterations: Int = 3, seed: UInt64,
        cancellation: BuildCancellation? = nil
    ) {
        let width = rank + oversampling
        guard rank > 0, x.userCount > rank, itemCount > width else { return nil }
        self.rank = rank
        self.itemCount = itemCount
        var generator = SplitMix64(seed: seed ^ 0x5EED_1A7E)
        var block = (0..<(itemCount * width)).map { _ in Double(generator.next() >> 11) * 0x1p-53 * 2 - 1 }
        // Q ← orth(XᵀX·Ω), then (power iterations) Q ← orth(XᵀX·Q).
        // The passes over X run in Float: they read rows at random, so their cost is memory
        // traffic, which Float halves; orthonormalization and the small solve stay in Double.
        for _ in 0...powerIterations {
            if cancellation?.isCancelled ?? false { break }
            block = Self.gramTimes(x, block.map(Float.init), width: width, itemCount: itemCount).map(Double.init)
            Self.orthonormalize(&block, rows: itemCount, columns: width)
        }
        // B = (XQ)ᵀ(XQ), width × width; its top eigenvectors rotate Q onto V.
        let z = Self.times(x, block.map(Float.init), width: width)
        var small = SmallMatrix(rows: width, columns: width)
        var row = [Double](repeating: 0, count: width)
        for u in 0..<x.userCount {
            for l in 0..<width { row[l] = Double(z[u * width + l]) }
            row.withUnsafeBufferPointer { small.addOuter($0.baseAddress!) }
        }
        let (eigenvalues, vectors) = small.symmetricEigen()
        var items = [Double](repeating: 0, count: itemCount * rank)
        for i in 0..<itemCount {
            for j in 0..<rank {
                var sum = 0.0
                for l in 0..<width { sum += block[i * width + l] * vectors[l, j] }
                items[i * rank + j] = sum
            }
        }
        self.items = items
        values = Array(eigenvalues.prefix(rank))
    }

    /// x_u·V for one user's item rows.
    func userVector(_ rows: some Sequence<Int32>) -> [Double] {
        var vector = [Double](repeating: 0, count: rank)
        for item in rows {
            let base = Int(item) * rank
            for j in 0..<rank { vector[j] += items[base + j] }
        }
        return vector
    }

    /// X·M (users × width) for M items × width. Unchecked loops: this pass and the next run
    /// over every rating of every domain nine times a build.
    private static func times(_ x: Interactions, _ m: [Float], width: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.userCount * width)
        x.items.withUnsafeBufferPointer { items in
            m.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { out in
                    for u in 0..<x.userCount {
                        let row = out.baseAddress! + u * width
                        for index in x.offsets[u]..<x.offsets[u + 1] {
                            let source = m.baseAddress! + Int(items[index]) * width
                            for l in 0..<width { row[l] += source[l] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// XᵀX·M (items × width).
    private static func gramTimes(_ x: Interactions, _ m: [Float], width: Int, itemCount: Int) -> [Float] {
        let z = times(x, m, width: width)
        var out = [Float](repeating: 0, count: itemCount * width)
        x.items.withUnsafeBufferPointer { items in
            z.withUnsafeBufferPointer { z in
                out.withUnsafeMutableBufferPointer { out in
                    for u in 0..<x.userCount {
                        let source = z.baseAddress! + u * width
                        for index in x.offsets[u]..<x.offsets[u + 1] {
                            let target = out.baseAddress! + Int(items[index]) * width
                            for l in 0..<width { target[l] += source[l] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Orthonormal columns spanning those of a rows × columns row-major block, by the Gram
    /// matrix: with G = YᵀY = W Λ Wᵀ, Y·W·Λ^-½ has orthonormal columns; done twice, as in
    /// CholeskyQR2, for the accuracy one pass loses when G is ill-conditioned. Row-major passes
    /// only: Gram–Schmidt walks columns, and with rows of 15 doubles every step of it touches a
    /// new cache line (it was most of this type's time at 200 000 items).
    private static func orthonormalize(_ block: inout [Double], rows: Int, columns: Int) {
        for _ in 0..<2 {
            var gram = SmallMatrix(rows: columns, columns: columns)
            block.withUnsafeBufferPointer { block in
                for i in 0..<rows { gram.addOuter(block.baseAddress! + i * columns) }
            }
            let (values, vectors) = gram.symmetricEigen()
            let floor = (values.first ?? 0) * 1e-12
            var transform = [Double](repeating: 0, count: columns * columns)
            for j in 0..<columns where values[j] > floor && values[j] > 0 {
                let scale = 1 / values[j].squareRoot()
                for a in 0..<columns { transform[a * columns + j] = vectors[a, j] * scale }
            }
            var row = [Double](repeating: 0, count: columns)
            block.withUnsafeMutableBufferPointer { block in
                transform.withUnsafeBufferPointer { transform in
                    for i in 0..<rows {
                        let source = block.baseAddress! + i * columns
                        for j in 0..<columns { row[j] = 0 }
                        for a in 0..<columns where source[a] != 0 {
                            let weights = transform.baseAddress! + a * columns
                            for j in 0..<columns { row[j] += source[a] * weights[j] }
                        }
                        for j in 0..<columns { source[j] = row[j] }
                    }
                }
            }
        }
    }
}
