/// The users' parameters, one record per user row: the shared vector (k floats), its AdaGrad
/// accumulator, the last-seen time (event ms), then per domain the user's scalars
/// (`Learner.UserColumn`, doubles).
///
/// Why records: as for items (ItemRecords.swift), an event writes all of these, and separate
/// tables made that four writable lookups in four places of memory.
struct UserRecords: Sendable {
    var table: ChunkedMatrix<Float>
    let dimension: Int
    let domainCount: Int
    /// Offsets in floats; the time and the scalars start at even offsets (see ItemRecords).
    let accumulatorOffset: Int
    let lastSeenOffset: Int
    let scalarOffset: Int

    init(dimension: Int, domains: Int) {
        self.dimension = dimension
        domainCount = domains
        accumulatorOffset = dimension
        lastSeenOffset = (dimension + 2) & ~1
        scalarOffset = lastSeenOffset + 2
        table = ChunkedMatrix(width: scalarOffset + 2 * Learner.UserColumn.count * domains, fill: 0)
    }

    /// The parts of a record, writable; `scalars` are those of domain 0 (domain d's start
    /// `d · UserColumn.count` further).
    struct Writable {
        let vector: UnsafeMutablePointer<Float>
        let accumulator: UnsafeMutablePointer<Float>
        let lastSeen: UnsafeMutablePointer<Int64>
        let scalars: UnsafeMutablePointer<Double>

        @inline(__always)
        func scalars(domain d: Int) -> UnsafeMutablePointer<Double> { scalars + d * Learner.UserColumn.count }
    }

    mutating func reserve(rows: Int) { table.reserve(rows: rows) }

    @inline(__always)
    func vector(_ row: Int) -> UnsafePointer<Float> { table.row(row) }

    @inline(__always)
    func accumulator(_ row: Int) -> Float { table.row(row)[accumulatorOffset] }

    @inline(__always)
    func lastSeen(_ row: Int) -> Int64 {
        UnsafeRawPointer(table.row(row) + lastSeenOffset).load(as: Int64.self)
    }

    /// A scalar of the user in domain `domain` (`Learner.UserColumn`).
    @inline(__always)
    subscript(row: Int, domain d: Int, column: Int) -> Double {
        get {
            UnsafeRawPointer(table.row(row) + scalarOffset)
                .load(fromByteOffset: (d * Learner.UserColumn.count + column) * 8, as: Double.self)
        }
        set { writable(row).scalars(domain: d)[column] = newValue }
    }

    /// The record of `row`, writable (its chunk is copied first if a snapshot shares it).
    @inline(__always)
    mutating func writable(_ row: Int) -> Writable {
        let record = table.mutableRow(row)
        return Writable(
            vector: record, accumulator: record + accumulatorOffset,
            lastSeen: UnsafeMutableRawPointer(record + lastSeenOffset).assumingMemoryBound(to: Int64.self),
            scalars: UnsafeMutableRawPointer(record + scalarOffset).assumingMemoryBound(to: Double.self))
    }

    /// True when every vector element, accumulator and scalar is finite (the time is not a float).
    func allFinite(rows: Int) -> Bool {
        for row in 0..<min(rows, table.capacity) {
            let record = table.row(row)
            for j in 0...dimension where !record[j].isFinite { return false }
            for d in 0..<domainCount {
                for column in 0..<Learner.UserColumn.count where !self[row, domain: d, column].isFinite { return false }
            }
        }
        return true
    }
}

// Snapshots copy the record table a slice at a time, like any other table.
extension UserRecords: RecordTable {}
