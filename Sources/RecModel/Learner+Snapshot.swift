import Dispatch

/// Snapshots whose cost the writer pays in bounded slices (see ChunkedMatrix+Precopy.swift).
///
/// `beginSnapshot`, then `advanceSnapshot` at safe points until it returns true, then
/// `takeSnapshot`: the result equals `self` at that moment and shares no parameter chunk with
/// it, so the writer goes on without copying anything. Id indexes are still shared
/// copy-on-write: the writer changes them only for new ids.
extension Learner {
    /// Time a writer spends copying per safe point (ns): the extra latency of one batch while
    /// a snapshot is being prepared. About 2 ms of copying, including page faults, at 1 M
    /// users × 64 d on the 2-core machine of docs/BENCHMARKS.md.
    public static let snapshotStepNanos: UInt64 = 1_000_000

    public mutating func beginSnapshot() {
        _ = precopyTables(.begin)
    }

    /// Copies the rows written since the last step, then whole chunks for `nanos` more; true
    /// when `takeSnapshot` has only the rows written since to copy.
    public mutating func advanceSnapshot(nanos: UInt64 = snapshotStepNanos) -> Bool {
        // Rows first: they cost what the writes since the last step cost (random rows, about
        // 150 ns each), and the chunks get the time budget whatever that was.
        _ = precopyTables(.drain)
        return precopyTables(.step(until: DispatchTime.now().uptimeNanoseconds + nanos))
    }

    /// `operation` on every table, in order (a step gives the time left to the next table
    /// once one is complete); true when all of them are completely copied.
    private mutating func precopyTables(_ operation: PrecopyOperation) -> Bool {
        var complete = userRecords.precopy(operation)
        complete = twins.slots.precopy(operation) && complete
        complete = twins.rows.precopy(operation) && complete
        for d in domains.indices {
            complete = domains[d].itemRecords.precopy(operation) && complete
            complete = domains[d].seen.precopy(operation) && complete
            complete = domains[d].recent.precopy(operation) && complete
        }
        return complete
    }

    /// The snapshot: equal to `self`. Completes whatever the steps have not copied yet (all of
    /// it without `beginSnapshot`, which makes this an ordinary copy-on-write copy).
    public mutating func takeSnapshot() -> Learner {
        // Finished first: a copy of `self` taken before would share the pre-copies' chunk
        // lists, and completing them would then copy chunks again.
        let userTable = userRecords.finishPrecopy()
        let twinSlots = twins.slots.finishPrecopy(), twinRows = twins.rows.finishPrecopy()
        let perDomain = domains.indices.map { d in
            (
                domains[d].itemRecords.finishPrecopy(),
                domains[d].seen.finishPrecopy(), domains[d].recent.finishPrecopy()
            )
        }
        var snapshot = self
        snapshot.userRecords = userTable
        snapshot.twins.slots = twinSlots
        snapshot.twins.rows = twinRows
        for (d, tables) in perDomain.enumerated() {
            (snapshot.domains[d].itemRecords, snapshot.domains[d].seen, snapshot.domains[d].recent) = tables
        }
        return snapshot
    }
}
