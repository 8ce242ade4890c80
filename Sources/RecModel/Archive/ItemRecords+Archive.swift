/// Item records in checkpoints: three matrices, the vectors, the scalars and the last-seen
/// times, each in `ChunkedMatrix.archive`'s layout. That is the format from before records,
/// so checkpoints written by either version load in the other.
extension ItemRecords {
    func archive(rows: Int, into sink: inout some ArchiveSink) throws {
        try table.archiveColumns(rows: rows, offset: 0, width: dimension, as: Float.self, into: &sink)
        try table.archiveColumns(rows: rows, offset: scalarOffset, width: Learner.ItemColumn.count, as: Double.self, into: &sink)
        try table.archiveColumns(rows: rows, offset: lastSeenOffset, width: 1, as: Int64.self, into: &sink)
    }

    /// The `rankingHead` section's content: each row's ranking vector, bias and accumulator.
    func archiveRanking(rows: Int, into sink: inout some ArchiveSink) throws {
        try table.archiveColumns(rows: rows, offset: rankOffset, width: dimension + RankingHead.scalarCount, as: Float.self, into: &sink)
    }

    /// Copies the ranking parts `archiveRanking` wrote into the records.
    mutating func restoreRanking(_ matrix: ChunkedMatrix<Float>, rows: Int) {
        for row in 0..<rows { writable(row).rank.update(from: matrix.row(row), count: dimension + RankingHead.scalarCount) }
    }

    /// Records from the three matrices `archive` writes, each of `rows` rows.
    init(dimension: Int, rows: Int, vectors: ChunkedMatrix<Float>, scalars: ChunkedMatrix<Double>, lastSeen: ChunkedMatrix<Int64>) {
        self.init(dimension: dimension)
        reserve(rows: rows)
        for row in 0..<rows {
            let record = writable(row)
            record.vector.update(from: vectors.row(row), count: dimension)
            record.scalars.update(from: scalars.row(row), count: Learner.ItemColumn.count)
            record.lastSeen.pointee = lastSeen.row(row).pointee
        }
    }
}
