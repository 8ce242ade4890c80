import Dispatch

/// A table the writer can copy a slice at a time ahead of a snapshot
/// (ChunkedMatrix+Precopy.swift, SeenLists+Precopy.swift, Learner+Snapshot.swift).
protocol PrecopiedTable {
    mutating func beginPrecopy()
    /// Re-copies what was written since its chunk was copied.
    mutating func drainPrecopy()
    /// Copies the next chunk not copied yet (only while `precopyIsComplete` is false).
    mutating func copyNextPrecopyChunk()
    /// True when every chunk has been copied at least once, or no pre-copy runs.
    var precopyIsComplete: Bool { get }
}

/// What the learner asks of every table in turn.
enum PrecopyOperation {
    case begin
    case drain
    case step(until: UInt64)
}

extension PrecopiedTable {
    /// Drains, then copies whole chunks (at least one) until `deadline` (monotonic ns;
    /// `.max`: all of them).
    mutating func precopyStep(until deadline: UInt64) {
        drainPrecopy()
        guard !precopyIsComplete else { return }
        repeat {
            copyNextPrecopyChunk()
        } while !precopyIsComplete && (deadline == .max || DispatchTime.now().uptimeNanoseconds < deadline)
    }

    /// Runs `operation`; true when every chunk has been copied.
    mutating func precopy(_ operation: PrecopyOperation) -> Bool {
        switch operation {
        case .begin: beginPrecopy()
        case .drain: drainPrecopy()
        case .step(let deadline): precopyStep(until: deadline)
        }
        return precopyIsComplete
    }
}

/// Records kept in one `ChunkedMatrix` (ItemRecords, UserRecords): their pre-copy is the
/// matrix's.
protocol RecordTable: PrecopiedTable {
    var table: ChunkedMatrix<Float> { get set }
}

extension RecordTable {
    mutating func beginPrecopy() { table.beginPrecopy() }
    mutating func drainPrecopy() { table.drainPrecopy() }
    mutating func copyNextPrecopyChunk() { table.copyNextPrecopyChunk() }
    var precopyIsComplete: Bool { table.precopyIsComplete }

    mutating func finishPrecopy() -> Self {
        // Finished first: a copy of `self` taken before would share the pre-copy's chunk list,
        // and completing it would then copy chunks again (as in Learner.takeSnapshot).
        let finished = table.finishPrecopy()
        var copy = self
        copy.table = finished
        return copy
    }
}
