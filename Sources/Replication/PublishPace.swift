/// How fast a learner produces a version's chunks (`replication.max_megabytes_per_second`):
/// the delay before the next chunk so that the bytes sent since the version's first chunk
/// never run ahead of the rate. Pure arithmetic; the publishing thread does the waiting.
public struct PublishPace: Sendable, Equatable {
    /// Bytes per second; 0: unpaced.
    public let bytesPerSecond: Double

    public init(megabytesPerSecond: Double) {
        bytesPerSecond = max(0, megabytesPerSecond) * 1e6
    }

    public var isPaced: Bool { bytesPerSecond > 0 }

    /// Nanoseconds to wait before sending more, `sent` bytes having gone out in the
    /// `elapsedNanos` since the first chunk (0: send now).
    public func delayNanos(sent: Int, elapsedNanos: UInt64) -> UInt64 {
        guard isPaced else { return 0 }
        let due = Double(sent) / bytesPerSecond * 1e9
        return due > Double(elapsedNanos) ? UInt64(due - Double(elapsedNanos)) : 0
    }
}
