import RecModel
import Testing

@Suite("Int8 rows")
struct Int8RowsTests {
    static func randomRows(_ count: Int, _ dimension: Int, seed: UInt64) -> [[Float]] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<dimension).map { _ in generator.nextSignedUnitFloat() } }
    }

    static func quantized(_ rows: [[Float]], dimension: Int) -> Int8Rows {
        let flat = rows.flatMap { $0 }
        return flat.withUnsafeBufferPointer { buffer in
            Int8Rows(dimension: dimension, count: rows.count) { buffer.baseAddress! + $0 * dimension }
        }
    }

    @Test func elementErrorIsAtMostHalfAStepAndZeroRowsStayExact() {
        let rows = Self.randomRows(200, 20, seed: 1) + [[Float](repeating: 0, count: 20)]
        let int8 = Self.quantized(rows, dimension: 20)
        for (index, row) in rows.enumerated() {
            let step = (row.map(abs).max() ?? 0) / 127
            let restored = int8.row(index)
            #expect(zip(row, restored).allSatisfy { abs($0 - $1) <= step / 2 + 1e-6 }, "row \(index)")
        }
        #expect(int8.row(200) == [Float](repeating: 0, count: 20))
        #expect(int8.byteCount == 208 * 20 + 208 * 4, "201 rows padded to 13 blocks of 16, a scale per row")
    }

    /// Top-10 by int8 scores agrees with top-10 by exact float scores (the acceptance bound
    /// of the serving model: overlap ≥ 0.9 on generated data).
    @Test func topTenAgreesWithFloatScoring() {
        let dimension = 16
        let items = Self.randomRows(5_000, dimension, seed: 2)
        let queries = Self.randomRows(100, dimension, seed: 3)
        let int8 = Self.quantized(items, dimension: dimension)
        var scores = [Float](repeating: 0, count: items.count)
        var overlap = 0.0
        for query in queries {
            query.withUnsafeBufferPointer { q in scores.withUnsafeMutableBufferPointer { int8.scores(q.baseAddress!, into: $0) } }
            let exact = items.map { zip($0, query).map(*).reduce(0, +) }
            func top(_ values: [Float]) -> Set<Int> { Set(values.indices.sorted { values[$0] > values[$1] }.prefix(10)) }
            overlap += Double(top(scores).intersection(top(exact)).count) / 10
            #expect(zip(scores, exact).allSatisfy { abs($0 - $1) < 0.05 })
        }
        #expect(overlap / Double(queries.count) >= 0.9)
    }

    /// Scores are integer sums scaled once: the baseline and the AVX2 code give the same bits,
    /// for odd and even dimensions, with and without offsets, and a zero query scores every row
    /// at its offset.
    @Test(arguments: [1, 7, 16, 33])
    func portableAndVectorCodeGiveTheSameBits(dimension: Int) {
        let items = Self.randomRows(1_000, dimension, seed: 4)
        let int8 = Self.quantized(items, dimension: dimension)
        let offsets = Self.randomRows(1, 1_000, seed: 5)[0]
        for (seed, query) in Self.randomRows(20, dimension, seed: 6).enumerated() {
            var vector = [Float](repeating: .nan, count: 1_000), portable = [Float](repeating: .nan, count: 1_000)
            let withOffsets = seed % 2 == 0 ? offsets : nil
            query.withUnsafeBufferPointer { q in
                vector.withUnsafeMutableBufferPointer { int8.scores(q.baseAddress!, offsets: withOffsets, into: $0) }
                portable.withUnsafeMutableBufferPointer { int8.scores(q.baseAddress!, offsets: withOffsets, into: $0, portable: true) }
            }
            #expect(vector.map(\.bitPattern) == portable.map(\.bitPattern))
            let exact = items.indices.map { (withOffsets?[$0] ?? 0) + zip(items[$0], query).map(*).reduce(0, +) }
            #expect(zip(vector, exact).allSatisfy { abs($0 - $1) < 0.05 })
        }
        var zero = [Float](repeating: .nan, count: 1_000)
        [Float](repeating: 0, count: dimension).withUnsafeBufferPointer { q in
            zero.withUnsafeMutableBufferPointer { int8.scores(q.baseAddress!, offsets: offsets, into: $0) }
        }
        #expect(zero == offsets)
    }
}
