internal import CKernels

/// Rows of int8 values with one scale per row (element ≈ scale · value): a quarter of the
/// bytes of float rows, scored by a vectorized loop (`CKernels`). The storage of the compact
/// serving model.
///
/// Quantization is symmetric per row: scale = max |x| / 127, value = round(x / scale), so the
/// error of an element is at most scale / 2 and a row of zeros stays exact.
///
/// Layout: blocks of 16 rows; inside a block, pairs of dimensions, each pair 32 bytes holding
/// rows 0..15 as (element 2p, element 2p + 1), so scoring multiplies 16 rows by two query
/// elements with integer multiply-adds and never sums across lanes. The last block is padded
/// with zero rows, an odd dimension with a zero element.
///
/// Isolation: an immutable value once built.
public struct Int8Rows: Sendable {
    public let dimension: Int
    public let count: Int
    /// Blocked values and per-row scales (internal for the serving model's encoding).
    let values: [Int8]
    let scales: [Float]

    static let rowsPerBlock = 16

    /// Rows as they were encoded (ServingModel+Encoding.swift); nil when the arrays do not fit
    /// the shape.
    init?(dimension: Int, count: Int, values: [Int8], scales: [Float]) {
        let blocks = (count + Self.rowsPerBlock - 1) / Self.rowsPerBlock
        guard dimension > 0, count >= 0, values.count == blocks * Self.rowsPerBlock * ((dimension + 1) / 2 * 2),
            scales.count == blocks * Self.rowsPerBlock
        else { return nil }
        self.dimension = dimension
        self.count = count
        self.values = values
        self.scales = scales
    }

    /// Quantizes `count` float rows of `dimension` elements, read through `row`.
    public init(dimension: Int, count: Int, row: (Int) -> UnsafePointer<Float>) {
        precondition(dimension > 0 && count >= 0)
        self.dimension = dimension
        self.count = count
        let blocks = (count + Self.rowsPerBlock - 1) / Self.rowsPerBlock
        var values = [Int8](repeating: 0, count: blocks * Self.rowsPerBlock * ((dimension + 1) / 2 * 2))
        var scales = [Float](repeating: 0, count: blocks * Self.rowsPerBlock)
        for index in 0..<count { Self.quantize(row(index), dimension, index, into: &values, &scales) }
        self.values = values
        self.scales = scales
    }

    /// These rows grown (zero rows) or cut to `count`, with the rows `changed` lists quantized
    /// anew from `source` (k floats each, in the same order). Every other row keeps its bytes:
    /// a light version differs from its base only where it changed (ServingModel deltas).
    func updated(count newCount: Int, changed: [Int], source: [Float]) -> Int8Rows {
        precondition(newCount >= 0 && source.count == changed.count * dimension)
        let pairs = (dimension + 1) / 2 * 2
        let blocks = (newCount + Self.rowsPerBlock - 1) / Self.rowsPerBlock
        var newValues = Array(values.prefix(blocks * Self.rowsPerBlock * pairs))
        newValues.append(contentsOf: repeatElement(0, count: blocks * Self.rowsPerBlock * pairs - newValues.count))
        var newScales = Array(scales.prefix(blocks * Self.rowsPerBlock))
        newScales.append(contentsOf: repeatElement(0, count: blocks * Self.rowsPerBlock - newScales.count))
        // Rows past the new count inside the last block must read as zeros, as a fresh build pads.
        for row in newCount..<blocks * Self.rowsPerBlock where row < count {
            newScales[row] = 0
            for element in 0..<pairs { newValues[Self.offset(row, element, dimension)] = 0 }
        }
        source.withUnsafeBufferPointer { source in
            for (index, row) in changed.enumerated() {
                precondition(row >= 0 && row < newCount)
                Self.quantize(source.baseAddress! + index * dimension, dimension, row, into: &newValues, &newScales)
            }
        }
        return Int8Rows(dimension: dimension, count: newCount, values: newValues, scales: newScales)!
    }

    /// These rows with row `to` replaced by row `from` of `source` (same dimension), bytes as
    /// they are, for each pair.
    func copying(_ pairs: [(to: Int, from: Int)], of source: Int8Rows) -> Int8Rows {
        precondition(source.dimension == dimension)
        var newValues = values, newScales = scales
        for (to, from) in pairs {
            precondition(to >= 0 && to < count && from >= 0 && from < source.count)
            newScales[to] = source.scales[from]
            for element in 0..<dimension {
                newValues[Self.offset(to, element, dimension)] = source.values[Self.offset(from, element, dimension)]
            }
        }
        return Int8Rows(dimension: dimension, count: count, values: newValues, scales: newScales)!
    }

    /// Row `index` of `values`/`scales` from `dimension` floats (zeros when the row is zero or
    /// not finite, as the initializer leaves it).
    private static func quantize(_ source: UnsafePointer<Float>, _ dimension: Int, _ index: Int, into values: inout [Int8], _ scales: inout [Float]) {
        var largest: Float = 0
        for element in 0..<dimension { largest = max(largest, abs(source[element])) }
        guard largest > 0, largest.isFinite else {
            scales[index] = 0
            for element in 0..<dimension { values[offset(index, element, dimension)] = 0 }
            return
        }
        let scale = largest / 127
        scales[index] = scale
        for element in 0..<dimension {
            values[offset(index, element, dimension)] = Int8(max(-127, min(127, (source[element] / scale).rounded())))
        }
    }

    @inline(__always)
    private static func offset(_ row: Int, _ element: Int, _ dimension: Int) -> Int {
        ((row / rowsPerBlock) * ((dimension + 1) / 2) + element / 2) * 2 * rowsPerBlock + (row % rowsPerBlock) * 2 + element % 2
    }

    /// Bytes of the values of one block of 16 rows (the unit a row's values are spread over).
    static func blockBytes(_ dimension: Int) -> Int { rowsPerBlock * ((dimension + 1) / 2 * 2) }

    /// Bytes of values and scales (what the serving model holds per domain for its items).
    public var byteCount: Int { values.count + scales.count * MemoryLayout<Float>.stride }

    /// The dequantized row (for tests and `similar`).
    public func row(_ index: Int) -> [Float] {
        (0..<dimension).map { Float(values[Self.offset(index, $0, dimension)]) * scales[index] }
    }

    /// Visits, in row order within each of `ranges` (all rows when nil; each range starts on a
    /// block of 16 rows), every row whose score (the bits `scores` gives) is at least the floor
    /// that `floor` returns for each run of up to 1024 rows: a top-k scan that writes no full
    /// array of scores. `floor` gets the run's largest score per block of 16 rows (a scan that
    /// needs m rows can start from the m-th largest of them); the floor may only rise, so a
    /// row it skips could not have entered.
    func visitCandidates(
        _ query: UnsafePointer<Float>, offsets: [Float], ranges: [Range<Int>]? = nil,
        floor: (_ blockMaxima: UnsafeBufferPointer<Float>) -> Float, _ visit: (_ row: Int, _ score: Float) -> Void
    ) {
        precondition(offsets.count >= count)
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: dimension + 1) { quantized in
            // Once per query, not once per run.
            let queryScale = crossrec_int8_quantize(query, dimension, quantized.baseAddress)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * 1_024 + 64) { buffer in
                let runScores = buffer.baseAddress!, found = runScores + 1_024, blockMaxima = found + 1_024
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1_024) { rows in
                    values.withUnsafeBufferPointer { values in
                        scales.withUnsafeBufferPointer { scales in
                            offsets.withUnsafeBufferPointer { offsets in
                                for range in ranges ?? [0..<count] {
                                    precondition(range.lowerBound % Self.rowsPerBlock == 0 && range.upperBound <= count)
                                    for first in stride(from: range.lowerBound, to: range.upperBound, by: 1_024) {
                                        // `count` = the range's end: the kernel stops there.
                                        let scored = crossrec_int8_run_scores(
                                            values.baseAddress, scales.baseAddress, offsets.baseAddress, range.upperBound,
                                            dimension, quantized.baseAddress, queryScale, first, runScores, blockMaxima, 1)
                                        let blocks = (scored + Self.rowsPerBlock - 1) / Self.rowsPerBlock
                                        let limit = floor(UnsafeBufferPointer(start: blockMaxima, count: blocks))
                                        let kept = crossrec_collect_at_least(runScores, scored, limit, first, rows.baseAddress, found)
                                        for index in 0..<kept { visit(Int(rows[index]), found[index]) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// score[i] = offset_i + scale_i · Σ value_i,j · query_j for every row, into `scores`
    /// (`count` long). `query` holds `dimension` floats; `offsets` (`count` long) default to 0.
    /// `portable` forces the baseline x86-64 code (tests check it against the AVX2 code).
    public func scores(
        _ query: UnsafePointer<Float>, offsets: [Float]? = nil, into scores: UnsafeMutableBufferPointer<Float>,
        portable: Bool = false
    ) {
        precondition(scores.count >= count && (offsets?.count ?? count) >= count)
        values.withUnsafeBufferPointer { values in
            scales.withUnsafeBufferPointer { scales in
                let allowAVX2: Int32 = portable ? 0 : 1
                if let offsets {
                    offsets.withUnsafeBufferPointer {
                        crossrec_int8_scores(
                            values.baseAddress, scales.baseAddress, $0.baseAddress, count, dimension, query, scores.baseAddress,
                            allowAVX2)
                    }
                } else {
                    crossrec_int8_scores(
                        values.baseAddress, scales.baseAddress, nil, count, dimension, query, scores.baseAddress, allowAVX2)
                }
            }
        }
    }
}
