/// Item records in checkpoints: three matrices, the vectors, the scalars and the last-seen
/// times, each in `ChunkedMatrix.archive`'s layout. That is the format from before records,
/// so checkpoints written by either version load in the other.
extension ItemRecords {
    func archive(rows: Int, into sink: inout some ArchiveSink) throws {
        try archiveColumns(rows: rows, offset: 0, width: dimension, as: Float.self, into: &sink)
        try archiveColumns(rows: rows, offset: scalarOffset, width: Learner.ItemColumn.count, as: Double.self, into: &sink)
        try archiveColumns(rows: rows, offset: lastSeenOffset, width: 1, as: Int64.self, into: &sink)
    }

    /// Columns `offset..<offset + width·stride/4` (in floats) of rows `0..<rows`, as a matrix of
    /// `width` elements of `T` a row (rows past the table's capacity are zeros, its fill).
    private func archiveColumns<T: BitwiseCopyable>(
        rows: Int, offset: Int, width: Int, as _: T.Type, into sink: inout some ArchiveSink
    ) throws {
        try sink.append(UInt64(rows))
        try sink.append(UInt32(width))
        try sink.append(UInt32(MemoryLayout<T>.stride))
        let rowBytes = width * MemoryLayout<T>.stride
        let rowsPerChunk = ChunkedMatrix<Float>.rowsPerChunk
        var buffer = [UInt8](repeating: 0, count: rowsPerChunk * rowBytes)
        var row = 0
        while row < rows {
            let count = min(rowsPerChunk, rows - row)
            try buffer.withUnsafeMutableBytes { bytes in
                for index in 0..<count {
                    let target = bytes.baseAddress! + index * rowBytes
                    if row + index < table.capacity {
                        target.copyMemory(from: table.row(row + index) + offset, byteCount: rowBytes)
                    } else {
                        target.initializeMemory(as: UInt8.self, repeating: 0, count: rowBytes)
                    }
                }
                try sink.append(UnsafeRawBufferPointer(rebasing: bytes[0..<count * rowBytes]))
            }
            row += count
        }
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
