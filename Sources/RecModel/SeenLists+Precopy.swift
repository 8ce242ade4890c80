/// Pre-copy of the seen lists, as for the parameter tables (ChunkedMatrix+Precopy.swift). The
/// copy's chunks are new arrays of the same lists: the lists themselves stay shared, and the
/// writer's next append to one copies that list alone (a few hundred bytes). Deep copies of
/// every list were measured: 1 µs per list, 0.4–0.5 s per snapshot at 1 M users.
extension SeenLists: PrecopiedTable {
    struct Precopy {
        var copy: [[[UInt64]]] = []
        var dirty: [Int32] = []
    }

    mutating func beginPrecopy() {
        precopy = Precopy()
    }

    var precopyIsComplete: Bool { precopy.map { $0.copy.count >= chunks.count } ?? true }

    /// Re-copies the lists changed since their chunk was copied.
    mutating func drainPrecopy() {
        guard var state = precopy else { return }
        precopy = nil  // the state is mutated as a local, unshared
        drainDirtyRows(&state)
        precopy = state
    }

    mutating func copyNextPrecopyChunk() {
        let chunk = chunks[precopy!.copy.count]
        // A new buffer: sharing the writer's chunk array would make its next write copy it.
        precopy!.copy.append([[UInt64]](unsafeUninitializedCapacity: chunk.count) { buffer, count in
            _ = buffer.initialize(from: chunk)
            count = chunk.count
        })
    }

    /// The completed copy; ends the pre-copy (without one, a copy-on-write copy).
    mutating func finishPrecopy() -> SeenLists {
        guard precopy != nil else { return self }
        precopyStep(until: .max)
        var result = SeenLists()
        result.chunks = precopy!.copy
        result.count = count
        precopy = nil
        return result
    }

    private func drainDirtyRows(_ state: inout Precopy) {
        for row in state.dirty {
            let (chunk, slot) = Self.position(row)
            state.copy[chunk][slot] = chunks[chunk][slot]
        }
        state.dirty.removeAll(keepingCapacity: true)
    }

    @inline(never)
    mutating func notePrecopyWrite(row: Int32) {
        if Self.position(row).chunk < precopy!.copy.count { precopy!.dirty.append(row) }
    }
}
