/// The best rank-k reproduction of a teacher's score matrix S = U Vᵀ (users × items, d
/// columns each) by a student with k-dimensional rows: student user rows U·A and item rows
/// V·B, where A and B (d × k) are computed in closed form from the two d × d Gram matrices,
/// never from S itself.
///
/// With U = P·Sᵤ and V = Q·Sᵥ (P, Q orthonormal columns, Sᵤ = (UᵀU)^½, Sᵥ = (VᵀV)^½),
/// S = P (Sᵤ Sᵥ) Qᵀ; the SVD Sᵤ Sᵥ = W Σ Zᵀ truncated to k gives the Eckart–Young optimum
/// P W Σ Zᵀ Qᵀ, split evenly: A = Sᵤ⁺ W Σ^½, B = Sᵥ⁺ Z Σ^½.
struct LowRankProjection {
    /// d × k: student user row = teacher user row · userTransform.
    let userTransform: SmallMatrix
    /// d × k: student item row = teacher item row · itemTransform.
    let itemTransform: SmallMatrix
    /// Share of ‖S‖²_F the k kept singular values hold (1 when k ≥ rank).
    let retainedEnergy: Double

    init(userGram: SmallMatrix, itemGram: SmallMatrix, rank: Int) {
        let d = userGram.rows
        let k = min(rank, d)
        let (rootUser, pseudoRootUser) = Self.roots(userGram)
        let (rootItem, pseudoRootItem) = Self.roots(itemGram)
        let core = rootUser * rootItem
        let (squares, right) = (core.transposed * core).symmetricEigen()
        var left = core * right  // columns: σ_j · w_j
        var sigmaK = SmallMatrix(rows: k, columns: k)  // diag(σ_j^½)
        var rightK = SmallMatrix(rows: d, columns: k)
        var leftK = SmallMatrix(rows: d, columns: k)
        for j in 0..<d {
            let sigma = max(squares[j], 0).squareRoot()
            for i in 0..<d { left[i, j] = sigma > 0 ? left[i, j] / sigma : 0 }
            guard j < k else { continue }
            sigmaK[j, j] = sigma.squareRoot()
            for i in 0..<d {
                rightK[i, j] = right[i, j]
                leftK[i, j] = left[i, j]
            }
        }
        userTransform = pseudoRootUser * leftK * sigmaK
        itemTransform = pseudoRootItem * rightK * sigmaK
        let total = squares.reduce(0) { $0 + max($1, 0) }
        retainedEnergy = total > 0 ? squares.prefix(k).reduce(0) { $0 + max($1, 0) } / total : 1
    }

    /// (G^½, (G^½)⁺) of a symmetric positive semi-definite matrix; directions with eigenvalues
    /// below 1e-9 of the largest are treated as zero.
    private static func roots(_ gram: SmallMatrix) -> (SmallMatrix, SmallMatrix) {
        let (values, vectors) = gram.symmetricEigen()
        let floor = (values.first ?? 0) * 1e-9
        var root = SmallMatrix(rows: gram.rows, columns: gram.rows)
        var pseudo = SmallMatrix(rows: gram.rows, columns: gram.rows)
        for (j, value) in values.enumerated() where value > floor && value > 0 {
            let s = value.squareRoot()
            for a in 0..<gram.rows {
                for b in 0..<gram.rows {
                    let term = vectors[a, j] * vectors[b, j]
                    root[a, b] += s * term
                    pseudo[a, b] += term / s
                }
            }
        }
        return (root, pseudo)
    }
}
