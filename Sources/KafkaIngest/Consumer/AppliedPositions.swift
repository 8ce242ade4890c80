import Synchronization

/// The owner's applied positions, published for the consumer's poll thread: on every
/// assignment, a partition is sought to the position found here.
///
/// Isolation: one `Mutex`. The owner publishes after each batch; the poll thread reads during
/// rebalances. A published position may lag the owner's own `OffsetTracker`, never lead it, so
/// a seek to it can only cause redelivery, which `OffsetTracker.admit` filters out.
public final class AppliedPositions: Sendable {
    private let state: Mutex<[PartitionKey: Int64]>

    public init(_ initial: [PartitionKey: Int64] = [:]) {
        state = Mutex(initial)
    }

    public func publish(_ positions: [PartitionKey: Int64]) {
        state.withLock { $0 = positions }
    }

    public func position(_ key: PartitionKey) -> Int64? {
        state.withLock { $0[key] }
    }

    public var snapshot: [PartitionKey: Int64] {
        state.withLock { $0 }
    }
}
