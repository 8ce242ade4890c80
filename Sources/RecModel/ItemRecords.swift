/// A domain's item parameters, one record per item row: the vector (k floats), then the
/// scalars (`Learner.ItemColumn`, doubles), then the last-seen time (event ms), then the
/// ranking head's part (RankingHead.swift): its vector (k floats), bias and AdaGrad
/// accumulator (floats).
///
/// Why records: an event writes all three, and in separate tables that was three writable
/// lookups (each with its copy-on-write checks) and three scattered places in memory. One
/// record is one lookup and adjacent cache lines: 5.6 → 5.9 M events/s on the MovieLens-1M
/// replay. Checkpoints still store the parts as separate matrices (Learner+Archive.swift).
struct ItemRecords: Sendable {
    var table: ChunkedMatrix<Float>
    let dimension: Int
    /// Offsets in floats. The scalars start at an even offset and rows have an even width, so
    /// with chunks aligned to 64 bytes every double and the time are 8-byte aligned.
    let scalarOffset: Int
    let lastSeenOffset: Int
    /// The ranking vector; its bias and accumulator follow it (`RankingHead.biasSlot`, …).
    let rankOffset: Int

    init(dimension: Int) {
        self.dimension = dimension
        scalarOffset = (dimension + 1) & ~1
        lastSeenOffset = scalarOffset + 2 * Learner.ItemColumn.count
        rankOffset = lastSeenOffset + 2
        // An even width keeps the next row's doubles 8-byte aligned.
        table = ChunkedMatrix(width: (rankOffset + dimension + RankingHead.scalarCount + 1) & ~1, fill: 0)
    }

    /// The parts of a record, writable.
    struct Writable {
        let vector: UnsafeMutablePointer<Float>
        let scalars: UnsafeMutablePointer<Double>
        let lastSeen: UnsafeMutablePointer<Int64>
        /// The ranking vector, then its bias and accumulator.
        let rank: UnsafeMutablePointer<Float>
    }

    mutating func reserve(rows: Int) { table.reserve(rows: rows) }

    @inline(__always)
    func vector(_ row: Int) -> UnsafePointer<Float> { table.row(row) }

    /// The ranking vector, then its bias and accumulator.
    @inline(__always)
    func rank(_ row: Int) -> UnsafePointer<Float> { table.row(row) + rankOffset }

    @inline(__always)
    func lastSeen(_ row: Int) -> Int64 {
        UnsafeRawPointer(table.row(row) + lastSeenOffset).load(as: Int64.self)
    }

    /// A scalar of the item (`Learner.ItemColumn`).
    @inline(__always)
    subscript(row: Int, column: Int) -> Double {
        get { UnsafeRawPointer(table.row(row) + scalarOffset).load(fromByteOffset: column * 8, as: Double.self) }
        set { writable(row).scalars[column] = newValue }
    }

    /// The record of `row`, writable (its chunk is copied first if a snapshot shares it).
    @inline(__always)
    mutating func writable(_ row: Int) -> Writable {
        let record = table.mutableRow(row)
        return Writable(
            vector: record,
            scalars: UnsafeMutableRawPointer(record + scalarOffset).assumingMemoryBound(to: Double.self),
            lastSeen: UnsafeMutableRawPointer(record + lastSeenOffset).assumingMemoryBound(to: Int64.self),
            rank: record + rankOffset)
    }

    /// True when every vector element and scalar is finite (the time is not a float).
    func allFinite(rows: Int) -> Bool {
        for row in 0..<min(rows, table.capacity) {
            let record = table.row(row)
            for j in 0..<dimension where !record[j].isFinite { return false }
            for column in 0..<Learner.ItemColumn.count where !self[row, column].isFinite { return false }
            for j in 0..<(dimension + RankingHead.scalarCount) where !record[rankOffset + j].isFinite { return false }
        }
        return true
    }
}

// Snapshots copy the record table a slice at a time, like any other table.
extension ItemRecords: RecordTable {}
