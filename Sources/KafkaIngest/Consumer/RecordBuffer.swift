import Foundation

/// Batches between the poll thread (producer) and the stream consumer's thread.
///
/// Isolation: one `NSCondition`. `push` never blocks and never drops: the poll thread bounds
/// the buffer by pausing partitions when `count` passes the high watermark.
final class RecordBuffer: @unchecked Sendable {
    // @unchecked: every stored property below is read and written only while holding `condition`.
    private let condition = NSCondition()
    private var batches: [RawBatch] = []
    private var head = 0
    private var recordCount = 0
    private var finished = false

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return recordCount
    }

    func push(_ batch: RawBatch) {
        guard !batch.isEmpty else { return }
        condition.lock()
        batches.append(batch)
        recordCount += batch.records.count
        condition.signal()
        condition.unlock()
    }

    /// The oldest batch; waits up to `timeoutSeconds`. Nil on timeout or when finished and empty.
    func pop(timeoutSeconds: Double) -> RawBatch? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while head == batches.count {
            if finished || !condition.wait(until: deadline) { break }
        }
        guard head < batches.count else { return nil }
        let batch = batches[head]
        head += 1
        recordCount -= batch.records.count
        condition.broadcast()  // wakes a poll thread waiting for room
        if head == batches.count {
            batches.removeAll(keepingCapacity: true)
            head = 0
        }
        return batch
    }

    /// Waits until at most `count` records are buffered or `timeoutSeconds` pass; returns
    /// whether there is room.
    func waitUntil(atMost count: Int, timeoutSeconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while recordCount > count {
            if !condition.wait(until: deadline) { break }
        }
        return recordCount <= count
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
        for index in head..<batches.count { dropped += batches[index].removeRecords(of: revoked) }
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
