/// Pre-copy: a private copy of the matrix built by its writer a slice at a time, so that a
/// snapshot can take that copy instead of sharing chunks with the writer.
///
/// Why: a copy-on-write snapshot shares every chunk, and the writer's first write to each
/// chunk afterwards copies all of it. Random users touch a different chunk per event, so the
/// first batches after a cut copied ~150 MB at 1 M users (a 64–74 ms batch instead of 10 ms).
/// Here the copying is spread over many safe points at a bounded cost each, and the writer
/// never shares a chunk with the snapshot.
///
/// Invariant while a pre-copy runs: for every chunk below `cursor`, the copy's chunk equals
/// the writer's except for the rows listed in `dirty` (written since they were copied).
extension ChunkedMatrix: PrecopiedTable {
    struct Precopy {
        var copy: [Chunk] = []
        var cursor = 0
        var dirty: [Int] = []
    }

    /// Starts (or restarts) building a private copy.
    public mutating func beginPrecopy() {
        precopy = Precopy()
    }

    /// Rows written since are copied by `finishPrecopy`: at most one safe point's worth.
    public var precopyIsComplete: Bool { precopy.map { $0.cursor >= chunks.count } ?? true }

    /// Copies the rows written since their chunk was copied.
    public mutating func drainPrecopy() {
        guard var state = precopy else { return }
        precopy = nil  // the state is mutated as a local, unshared
        drainDirtyRows(&state)
        precopy = state
    }

    public mutating func copyNextPrecopyChunk() {
        let next = chunks[precopy!.cursor]
        precopy!.copy.append(Chunk(copying: next))
        precopy!.cursor += 1
    }

    /// Completes the copy and returns it: equal to this matrix and sharing no chunk with it.
    /// Ends the pre-copy; without one, returns a copy-on-write copy.
    public mutating func finishPrecopy() -> ChunkedMatrix {
        guard precopy != nil else { return self }
        precopyStep(until: .max)
        let result = ChunkedMatrix(width: width, fill: fill, chunks: precopy!.copy)
        precopy = nil
        return result
    }

    @inline(never)
    mutating func notePrecopyWrite(row index: Int) {
        if index >> Self.rowsPerChunkShift < precopy!.cursor { precopy!.dirty.append(index) }
    }

    private func drainDirtyRows(_ state: inout Precopy) {
        let rowBytes = width * MemoryLayout<Element>.stride
        for index in state.dirty {
            let chunkIndex = index >> Self.rowsPerChunkShift
            // A copy of the whole matrix taken meanwhile may share the copy's chunks.
            if !isKnownUniquelyReferenced(&state.copy[chunkIndex]) {
                state.copy[chunkIndex] = Chunk(copying: state.copy[chunkIndex])
            }
            let offset = (index & (Self.rowsPerChunk - 1)) * width
            UnsafeMutableRawPointer(state.copy[chunkIndex].pointer + offset)
                .copyMemory(from: chunks[chunkIndex].pointer + offset, byteCount: rowBytes)
        }
        state.dirty.removeAll(keepingCapacity: true)
    }
}

