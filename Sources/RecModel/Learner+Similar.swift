/// Items like an item: cosine similarity of the item vectors of one domain.
extension Learner {
    /// The `k` items of domain `d` most similar to `item` (cosine, best first, ties by id);
    /// nil when the item is unknown.
    public func similar(item: String, domain d: Int, k: Int) -> [Recommendation]? {
        let state = domains[d]
        guard let target = state.items.find(item, hash: StableHash.hash(item)) else { return nil }
        let targetVector = state.itemRecords.vector(Int(target))
        let targetNorm = VectorMath.dot(targetVector, targetVector, dimension).squareRoot()
        var best = TopRows(k: k)
        for row in 0..<state.items.rowLimit where row != Int(target) && state.items.isLive(Int32(row)) {
            let vector = state.itemRecords.vector(row)
            let norm = VectorMath.dot(vector, vector, dimension).squareRoot()
            let cosine = norm > 0 && targetNorm > 0 ? VectorMath.dot(targetVector, vector, dimension) / (norm * targetNorm) : 0
            best.offer(score: Double(cosine), row: Int32(row), ids: state.items)
        }
        return best.sorted(ids: state.items)
    }
}
