/// Items like an item: cosine similarity of the item vectors of one domain.
extension Learner {
    /// The `k` items of domain `d` most similar to `item` (cosine, best first, ties by id);
    /// nil when the item is unknown.
    public func similar(item: String, domain d: Int, k: Int) -> [Recommendation]? {
        let state = domains[d]
        guard let target = state.items.find(item, hash: StableHash.hash(item)) else { return nil }
        let targetVector = state.itemVectors.row(Int(target))
        let targetNorm = VectorMath.dot(targetVector, targetVector, dimension).squareRoot()
        var best = TopK(k: k)
        state.items.forEach { row, id in
            guard row != target else { return }
            let vector = state.itemVectors.row(Int(row))
            let norm = VectorMath.dot(vector, vector, dimension).squareRoot()
            let cosine = norm > 0 && targetNorm > 0 ? VectorMath.dot(targetVector, vector, dimension) / (norm * targetNorm) : 0
            best.offer(Recommendation(item: id, score: Double(cosine)))
        }
        return best.sorted()
    }
}
