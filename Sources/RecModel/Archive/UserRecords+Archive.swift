/// User records in checkpoints: one matrix per field, in the sections they had before
/// records (vectors and last-seen times, accumulators, each domain's scalars), so
/// checkpoints written by either version load in the other.
extension UserRecords {
    /// The `userParameters` section's content.
    func archiveVectorsAndLastSeen(rows: Int, into sink: inout some ArchiveSink) throws {
        try table.archiveColumns(rows: rows, offset: 0, width: dimension, as: Float.self, into: &sink)
        try table.archiveColumns(rows: rows, offset: lastSeenOffset, width: 1, as: Int64.self, into: &sink)
    }

    /// The `userOptimizer` section's content.
    func archiveAccumulators(rows: Int, into sink: inout some ArchiveSink) throws {
        try table.archiveColumns(rows: rows, offset: accumulatorOffset, width: 1, as: Float.self, into: &sink)
    }

    /// The `userDomainParameters` section's content for domain `d`.
    func archiveScalars(domain d: Int, rows: Int, into sink: inout some ArchiveSink) throws {
        let offset = scalarOffset + 2 * Learner.UserColumn.count * d
        try table.archiveColumns(rows: rows, offset: offset, width: Learner.UserColumn.count, as: Double.self, into: &sink)
    }

    /// Records from the matrices the three functions above write, each of `rows` rows.
    init(
        dimension: Int, rows: Int, vectors: ChunkedMatrix<Float>, lastSeen: ChunkedMatrix<Int64>,
        accumulators: ChunkedMatrix<Float>, scalars: [ChunkedMatrix<Double>]
    ) {
        self.init(dimension: dimension, domains: scalars.count)
        reserve(rows: rows)
        for row in 0..<rows {
            let record = writable(row)
            record.vector.update(from: vectors.row(row), count: dimension)
            record.accumulator.pointee = accumulators.row(row).pointee
            record.lastSeen.pointee = lastSeen.row(row).pointee
            for (d, matrix) in scalars.enumerated() {
                record.scalars(domain: d).update(from: matrix.row(row), count: Learner.UserColumn.count)
            }
        }
    }
}
