import Synchronization

/// The owner's applied positions, published for the consumer's poll thread: on every
/// assignment, a partition is sought to the position found here.
///
/// Isolation: one `Mutex`. The owner publishes after each batch; the poll thread reads during
/// rebalances. A published position may lag the owner's own `OffsetTracker`, never lead it, so
/// a seek to it can only cause redelivery, which `OffsetTracker.admit` filters out.
public final class AppliedPositions: Sendable {
    private let state: Mutex<(positions: [PartitionKey: Int64], resets: Set<PartitionKey>)>

    public init(_ initial: [PartitionKey: Int64] = [:]) {
        state = Mutex((initial, []))
    }

    /// The owner's positions after a batch. Partitions reset since the owner last took the
    /// resets keep no position until the owner has dropped its own.
    public func publish(_ positions: [PartitionKey: Int64]) {
        state.withLock { state in
            state.positions = positions
            for key in state.resets { state.positions[key] = nil }
        }
    }

    public func position(_ key: PartitionKey) -> Int64? {
        state.withLock { $0.positions[key] }
    }

    public var snapshot: [PartitionKey: Int64] {
        state.withLock { $0.positions }
    }

    /// The poll thread found the position of `key` unavailable and restarts the partition from
    /// the reset policy: the owner must forget its position before the next batch (records from
    /// the new start can only arrive after this call, since it happens before the assignment).
    func markReset(_ key: PartitionKey) {
        state.withLock { state in
            state.positions[key] = nil
            state.resets.insert(key)
        }
    }

    /// Partitions reset since the last call; the owner drops its positions for them.
    public func takeResets() -> Set<PartitionKey> {
        state.withLock { state in
            defer { state.resets = [] }
            return state.resets
        }
    }
}
