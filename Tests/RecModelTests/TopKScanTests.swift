import Testing

@testable import RecModel

@Suite("Top-k scan")
struct TopKScanTests {
    /// Rows drawn from 6 distinct vectors and 3 biases, so most scores tie many times over:
    /// the scan (which starts each query from the block maxima of its first run and then
    /// raises its floor) must return exactly the first k of the full ranking by (score
    /// descending, id ascending), with seen items left out, for every k and every seen count,
    /// including counts that make the block maxima unusable.
    @Test(arguments: [100, 1_000, 2_500])
    func keepsExactlyTheBestWithManyTies(count: Int) {
        let dimension = 8
        var generator = SplitMix64(seed: UInt64(count))
        let patterns = (0..<6).map { _ in (0..<dimension).map { _ in Float(generator.next() % 200) / 100 - 1 } }
        let rows = (0..<count).map { _ in patterns[Int(generator.next() % 6)] }
        let offsets = (0..<count).map { _ in [Float(0), 0.5, -0.25][Int(generator.next() % 3)] }
        let flat = rows.flatMap { $0 }
        let int8 = flat.withUnsafeBufferPointer { buffer in
            Int8Rows(dimension: dimension, count: count) { buffer.baseAddress! + $0 * dimension }
        }
        var ids = IDIndex()
        // Ids whose order differs from row order, so ties are really broken by id.
        for row in 0..<count {
            let key = "item-\((row * 7_919) % 10_007)"
            #expect(ids.findOrInsert(key, hash: StableHash.hash(key)).row == Int32(row))
        }
        let query = (0..<dimension).map { _ in Float(generator.next() % 200) / 100 - 1 }
        var scores = [Float](repeating: 0, count: count)
        query.withUnsafeBufferPointer { q in
            scores.withUnsafeMutableBufferPointer { int8.scores(q.baseAddress!, offsets: offsets, into: $0) }
        }
        let base: Float = 3.5
        for seenCount in [0, 5, 60, 200] where seenCount < count {
            let seenRows = Set((0..<seenCount).map { _ in Int(generator.next() % UInt64(count)) })
            let seenHashes = seenRows.map { ids.hash(of: Int32($0)) }
            let ranking = (0..<count).filter { !seenRows.contains($0) }.sorted {
                let (a, b) = (Double(base + scores[$0]), Double(base + scores[$1]))
                return a != b ? a > b : ids.key(of: Int32($0))! < ids.key(of: Int32($1))!
            }
            for k in [1, 10, 50] {
                let seen = SeenHashSet(seenHashes[...])
                var scan = TopKScan(k: k, base: base, seen: seenHashes.count)
                query.withUnsafeBufferPointer { q in
                    int8.visitCandidates(q.baseAddress!, offsets: offsets, floor: { scan.floor(forRunWith: $0) }) { row, score in
                        scan.consider(score: score, item: row, hash: ids.hash(of: Int32(row)), seen: seen, ids: ids)
                    }
                }
                let found = scan.best.sortedRows(ids: ids).map { Int($0.row) }
                #expect(found == Array(ranking.prefix(k)), "k \(k), seen \(seenCount)")
            }
        }
    }

    /// The m-th largest value, NaN left out; nil when there are fewer than m.
    @Test func largestOfBlockMaxima() {
        let values: [Float] = [3, .nan, 7, 7, -.infinity, 1, 5]
        values.withUnsafeBufferPointer { values in
            #expect(TopKScan.largest(1, of: values) == 7)
            #expect(TopKScan.largest(2, of: values) == 7)
            #expect(TopKScan.largest(3, of: values) == 5)
            #expect(TopKScan.largest(6, of: values) == -.infinity)
            #expect(TopKScan.largest(7, of: values) == nil)
        }
    }

    /// The clusters to probe are the best `count` scores, best first, ties to the lower index,
    /// NaN last: the same as a full sort, for counts below, at and above the number of scores.
    @Test func clusterChoiceMatchesAFullSort() {
        var generator = SplitMix64(seed: 3)
        for size in [1, 5, 316, 1_000] {
            // Few distinct values (ties), negative and positive, zero of both signs, a NaN.
            var scores = (0..<size).map { _ in Float(Int(generator.next() % 41) - 20) / 4 }
            if size > 4 {
                scores[0] = -0.0
                scores[1] = .nan
                scores[2] = -.infinity
                scores[3] = .infinity
            }
            func key(_ index: Int) -> Float { scores[index].isNaN ? -.infinity : scores[index] }
            let sorted = scores.indices.sorted {
                if scores[$0].isNaN != scores[$1].isNaN { return scores[$1].isNaN }
                return key($0) != key($1) ? key($0) > key($1) : $0 < $1
            }
            for count in [1, 3, 32, size, size + 4] {
                #expect(ClusterIndex.best(count, of: scores) == Array(sorted.prefix(count)), "size \(size), count \(count)")
            }
        }
    }
}
