import Foundation

/// Batches between the poll thread (producer) and the stream consumer's thread.
///
/// Isolation: one `NSCondition`. `push` never blocks and never drops: the poll thread bounds
/// the buffer by pausing partitions when `count` passes the high watermark.
final class RecordBuffer: @unchecked Sendable {
    // @unchecked: every stored property below is read and written only while holding `condition`.
    private let condition = NSCondition()
    private var batches: [[IngestRecord]] = []
    private var head = 0
    private var recordCount = 0
    private var finished = false

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return recordCount
    }

    func push(_ batch: [IngestRecord]) {
        guard !batch.isEmpty else { return }
        condition.lock()
        batches.append(batch)
        recordCount += batch.count
        condition.signal()
        condition.unlock()
    }

    /// The oldest batch; waits up to `timeoutSeconds`. Nil on timeout or when finished and empty.
    func pop(timeoutSeconds: Double) -> [IngestRecord]? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while head == batches.count {
            if finished || !condition.wait(until: deadline) { break }
        }
        guard head < batches.count else { return nil }
        let batch = batches[head]
        head += 1
        recordCount -= batch.count
        if head == batches.count {
            batches.removeAll(keepingCapacity: true)
            head = 0
        }
        return batch
    }

    /// True once `finish` was called and every batch was taken.
    var isDrained: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished && head == batches.count
    }

    /// Drops buffered records of revoked partitions: they were never applied, so their next
    /// owner (or this one, after a seek) consumes them again.
    func purge(_ revoked: Set<PartitionKey>) -> Int {
        condition.lock()
        defer { condition.unlock() }
        var dropped = 0
        for index in head..<batches.count {
            let before = batches[index].count
            batches[index].removeAll { revoked.contains(PartitionKey(topicIndex: $0.topicIndex, partition: $0.partition)) }
            dropped += before - batches[index].count
        }
        recordCount -= dropped
        return dropped
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
