/// A small dense row-major matrix of doubles: the d×d algebra of distillation (Gram matrices,
/// their eigenvectors, ridge solves). Sizes are tens to a few hundred, so plain loops suffice.
struct SmallMatrix: Equatable {
    let rows: Int
    let columns: Int
    var values: [Double]

    init(rows: Int, columns: Int, values: [Double]? = nil) {
        self.rows = rows
        self.columns = columns
        self.values = values ?? Array(repeating: 0, count: rows * columns)
        precondition(self.values.count == rows * columns)
    }

    static func identity(_ n: Int) -> SmallMatrix {
        var matrix = SmallMatrix(rows: n, columns: n)
        for i in 0..<n { matrix[i, i] = 1 }
        return matrix
    }

    subscript(row: Int, column: Int) -> Double {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    static func * (a: SmallMatrix, b: SmallMatrix) -> SmallMatrix {
        precondition(a.columns == b.rows)
        var product = SmallMatrix(rows: a.rows, columns: b.columns)
        for i in 0..<a.rows {
            for k in 0..<a.columns where a[i, k] != 0 {
                let left = a[i, k]
                for j in 0..<b.columns { product.values[i * b.columns + j] += left * b.values[k * b.columns + j] }
            }
        }
        return product
    }

    var transposed: SmallMatrix {
        var result = SmallMatrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { result[j, i] = self[i, j] } }
        return result
    }

    /// Adds x·xᵀ (x has `rows` elements; the matrix is square).
    mutating func addOuter(_ x: UnsafePointer<Double>, weight: Double = 1) {
        let columns = columns
        values.withUnsafeMutableBufferPointer { values in
            for i in 0..<rows where x[i] != 0 {
                let left = weight * x[i]
                let row = values.baseAddress! + i * columns
                for j in 0..<columns { row[j] += left * x[j] }
            }
        }
    }

    /// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: eigenvalues in
    /// descending order and the matching eigenvectors as columns.
    func symmetricEigen() -> (values: [Double], vectors: SmallMatrix) {
        precondition(rows == columns)
        let n = rows
        var a = self
        var v = SmallMatrix.identity(n)
        for _ in 0..<100 {
            var offDiagonal = 0.0
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { offDiagonal += a[p, q] * a[p, q] } }
            var diagonal = 0.0
            for p in 0..<n { diagonal += a[p, p] * a[p, p] }
            if offDiagonal <= 1e-24 * max(diagonal, 1e-300) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) where a[p, q] != 0 {
                    let theta = (a[q, q] - a[p, p]) / (2 * a[p, q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    for k in 0..<n {
                        let akp = a[k, p], akq = a[k, q]
                        a[k, p] = c * akp - s * akq
                        a[k, q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p, k], aqk = a[q, k]
                        a[p, k] = c * apk - s * aqk
                        a[q, k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k, p], vkq = v[k, q]
                        v[k, p] = c * vkp - s * vkq
                        v[k, q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0, $0] > a[$1, $1] }
        var vectors = SmallMatrix(rows: n, columns: n)
        for (column, source) in order.enumerated() { for k in 0..<n { vectors[k, column] = v[k, source] } }
        return (order.map { a[$0, $0] }, vectors)
    }

    /// Solves (self) X = B for a symmetric positive definite matrix (Cholesky); nil when it is
    /// not positive definite.
    func solveSymmetric(_ b: SmallMatrix) -> SmallMatrix? {
        precondition(rows == columns && b.rows == rows)
        let n = rows
        var l = SmallMatrix(rows: n, columns: n)
        for j in 0..<n {
            var sum = self[j, j]
            for k in 0..<j { sum -= l[j, k] * l[j, k] }
            guard sum > 0 else { return nil }
            l[j, j] = sum.squareRoot()
            for i in (j + 1)..<max(j + 1, n) {
                var value = self[i, j]
                for k in 0..<j { value -= l[i, k] * l[j, k] }
                l[i, j] = value / l[j, j]
            }
        }
        var x = b
        for column in 0..<b.columns {
            for i in 0..<n {
                var value = x[i, column]
                for k in 0..<i { value -= l[i, k] * x[k, column] }
                x[i, column] = value / l[i, i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {
                var value = x[i, column]
                for k in (i + 1)..<max(i + 1, n) { value -= l[k, i] * x[k, column] }
                x[i, column] = value / l[i, i]
            }
        }
        return x
    }
}
