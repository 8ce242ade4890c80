extension Learner {
    /// Users with a source-only twin (those who rated in a target domain).
    public var twinCount: Int { twins.count }

    /// The source-only vector of user row `row`: the twin when the user has target ratings,
    /// else the shared vector itself.
    func sourceVector(user row: Int) -> UnsafePointer<Float> {
        twins.row(ofUser: row).map { UnsafePointer(twins.rows.row($0)) } ?? userRecords.vector(row)
    }
}

extension UserTwins {
    /// The twin's step on a source event: the one its shared vector takes (same optimizer,
    /// rates and clamps), from the twin's own prediction error; the item is not moved here.
    /// `base` is the prediction without the vector term.
    mutating func step(
        _ twin: Int, item q: UnsafePointer<Float>, base: Double, value: Double, span: Double, weight: Double,
        rates: Learner.StepRates
    ) {
        let dimension = rates.dimension
        let s = rows.mutableRow(twin)
        let raw = base + Double(VectorMath.dot(s, q, dimension))
        let gradient = Float(weight * min(max(value - raw, -span), span))
        let reg = rates.regularization
        var rate = rates.learningRate
        if rates.optimizer == .adagrad {
            var norm: Float = 0
            for j in 0..<dimension {
                let g = gradient * q[j] - reg * s[j]
                norm += g * g
            }
            rate = VectorMath.adagradRate(rate, accumulator: &s[dimension], squaredNorm: norm, count: dimension)
        }
        let limit = rates.limit
        for j in 0..<dimension { s[j] = min(max(s[j] + rate * (gradient * q[j] - reg * s[j]), -limit), limit) }
    }
}
