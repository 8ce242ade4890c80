/// Per-user lists of rated item hashes, by user row, in chunks of 256 rows.
///
/// Why chunks: the learner is copied for every snapshot, and the first write after a copy
/// duplicates what it touches. With one dictionary for all users that is every list of the
/// domain (≈130 ms for 1 M users); here it is the outer array and one chunk. Copying a chunk
/// retains every list in it, so chunks are as small as the parameter tables' (256 rows): the
/// slowest ingest batch during a distillation went from 90 to 64–74 ms with 4,096-row chunks
/// before (`crossrec-bench distill`, docs/BENCHMARKS.md).
struct SeenLists: Sendable {
    static let rowsPerChunkShift = 8
    var chunks: [[[UInt64]]] = []
    /// Rows with a non-empty list.
    var count = 0
    /// A deep copy being built ahead of a snapshot (SeenLists+Precopy.swift).
    var precopy: Precopy?

    subscript(row: Int32) -> [UInt64]? {
        let (chunk, slot) = Self.position(row)
        guard chunk < chunks.count, !chunks[chunk][slot].isEmpty else { return nil }
        return chunks[chunk][slot]
    }

    /// Changes a row's list in place (an empty list means none).
    mutating func update(row: Int32, _ body: (inout [UInt64]) -> Void) {
        let (chunk, slot) = Self.position(row)
        if precopy != nil { notePrecopyWrite(row: row) }
        while chunks.count <= chunk { chunks.append(Array(repeating: [], count: 1 << Self.rowsPerChunkShift)) }
        let wasEmpty = chunks[chunk][slot].isEmpty
        body(&chunks[chunk][slot])
        let isEmpty = chunks[chunk][slot].isEmpty
        if wasEmpty != isEmpty { count += isEmpty ? -1 : 1 }
    }

    mutating func remove(row: Int32) {
        let (chunk, slot) = Self.position(row)
        guard chunk < chunks.count, !chunks[chunk][slot].isEmpty else { return }
        if precopy != nil { notePrecopyWrite(row: row) }
        chunks[chunk][slot] = []
        count -= 1
    }

    /// Every non-empty list, by ascending row.
    func forEach(_ body: (Int32, [UInt64]) throws -> Void) rethrows {
        for (chunkIndex, chunk) in chunks.enumerated() {
            for (slot, list) in chunk.enumerated() where !list.isEmpty {
                try body(Int32(chunkIndex << Self.rowsPerChunkShift + slot), list)
            }
        }
    }

    @inline(__always)
    static func position(_ row: Int32) -> (chunk: Int, slot: Int) {
        (Int(row) >> rowsPerChunkShift, Int(row) & ((1 << rowsPerChunkShift) - 1))
    }
}
