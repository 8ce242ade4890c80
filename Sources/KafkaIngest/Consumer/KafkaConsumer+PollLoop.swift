internal import CRdKafka
import Dispatch
import Logging

/// State of the poll thread: created before it starts, then touched by it alone (the rebalance
/// callback runs inside `rd_kafka_consumer_poll`, on the same thread).
struct PollState {
    var pending: RawBatch
    var consumedCounts: [Int] = []
    var paused = false
    /// Topic handle → configured topic index; topic handles are stable for a client's lifetime,
    /// so comparing pointers spares a string hash per message.
    var topicCache: [(handle: OpaquePointer, index: Int?)] = []
}

extension KafkaConsumer {
    func runPollLoop() {
        pollState.consumedCounts = settings.topics.map { _ in 0 }
        logger.info(
            "consuming", metadata: [LoggingKeys.bootstrap: "\(settings.bootstrapServers)",
                LoggingKeys.topic: "\(settings.topics.map(\.name).joined(separator: ","))"])
        // Messages are taken in batches under one queue lock (rd_kafka_consume_batch_queue also
        // serves rebalances, logs and errors through our callbacks, on this thread). It returns
        // when the batch is full or after the timeout, so a quiet stream costs 100 wake-ups/s.
        let queue = rd_kafka_queue_get_consumer(handle.pointer)!
        defer { rd_kafka_queue_destroy(queue) }  // get_consumer returned a reference we own
        let capacity = settings.batchSize
        let messages = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { messages.deallocate() }
        while !stopRequested.load(ordering: .relaxed) {
            lastPollNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
            let count = rd_kafka_consume_batch_queue(queue, 10, messages, capacity)
            if count > 0 { lastMessageNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
            for index in 0..<max(0, count) {
                if let message = messages[index] { handle(message) }
            }
            flush()
            deadLetter?.poll()
            applyBackpressure()
        }
        flush()
        // Leaves the group; the final revocation (served through our callback) drops what the
        // owner has not taken yet, so it is consumed again from the owner's positions next time.
        let err = rd_kafka_consumer_close(handle.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("consumer close failed", metadata: [LoggingKeys.error: "\(String(cString: rd_kafka_err2str(err)))"])
        }
        if let deadLetter {
            do { try deadLetter.flush(timeoutMs: 10_000) } catch {
                logger.error("dead-letter flush failed", metadata: [LoggingKeys.error: "\(error)"])
            }
        }
        buffer.finish()
        logger.info("consumer stopped")
        pollThreadDone.signal()
    }

    /// Copies one message into the pending batch (we own messages from consume; destroyed here).
    private func handle(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        defer { rd_kafka_message_destroy(message) }
        let rkm = message.pointee
        guard rkm.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let topic = rkm.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "-"
            logger.error(
                "consumer error",
                metadata: [LoggingKeys.error: "\(String(cString: rd_kafka_err2str(rkm.err)))",
                    LoggingKeys.topic: "\(topic)", LoggingKeys.partition: "\(rkm.partition)"])
            return
        }
        let index = topicIndex(of: rkm.rkt)
        if let index { pollState.consumedCounts[index] += 1 }
        pollState.pending.append(
            topicIndex: index, topicName: { rkm.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "-" },
            partition: rkm.partition, offset: rkm.offset, timestampMillis: rd_kafka_message_timestamp(message, nil),
            payload: UnsafeRawBufferPointer(start: rkm.payload, count: rkm.len),
            key: rkm.key.map { UnsafeRawBufferPointer(start: $0, count: rkm.key_len) })
    }

    private func topicIndex(of rkt: OpaquePointer?) -> Int? {
        guard let rkt else { return nil }
        for entry in pollState.topicCache where entry.handle == rkt { return entry.index }
        let index = topicIndex[String(cString: rd_kafka_topic_name(rkt))]
        pollState.topicCache.append((rkt, index))
        return index
    }

    private func flush() {
        guard !pollState.pending.isEmpty else { return }
        counters.consumed(pollState.consumedCounts)
        for index in pollState.consumedCounts.indices { pollState.consumedCounts[index] = 0 }
        buffer.push(pollState.pending)
        pollState.pending = RawBatch(capacity: settings.batchSize)
    }

    /// Above the high watermark the loop first waits (up to 1 s) for the stream consumer to
    /// take batches: prefetched messages stay in librdkafka's queue. Only a longer stall pauses
    /// the partitions, so that the loop can go back to serving rebalances while it lasts
    /// (pausing purges the prefetched messages; librdkafka refetches them from the next
    /// undelivered offset on resume, so nothing is lost or repeated). Resumes below half.
    private func applyBackpressure() {
        let high = settings.maxBufferedRecords
        if !pollState.paused, buffer.count >= high {
            let deadline = DispatchTime.now().uptimeNanoseconds + 1_000_000_000
            while !buffer.waitUntil(atMost: high / 2, timeoutSeconds: 0.1), !stopRequested.load(ordering: .relaxed),
                DispatchTime.now().uptimeNanoseconds < deadline
            {
                lastPollNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
            }
            if buffer.count > high / 2 { setPaused(true) }
        } else if pollState.paused, buffer.count <= high / 2 {
            setPaused(false)
        }
    }

    func setPaused(_ paused: Bool, only list: RDKafkaTopicPartitionList? = nil) {
        let target: RDKafkaTopicPartitionList
        if let list {
            target = list
        } else {
            var current: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle.pointer, &current) == RD_KAFKA_RESP_ERR_NO_ERROR, let current else { return }
            target = RDKafkaTopicPartitionList(adopting: current)
        }
        _ = target.withPointer {
            paused ? rd_kafka_pause_partitions(handle.pointer, $0) : rd_kafka_resume_partitions(handle.pointer, $0)
        }
        if list == nil {
            pollState.paused = paused
            logger.debug(paused ? "ingest paused (buffer full)" : "ingest resumed", metadata: [LoggingKeys.buffered: "\(buffer.count)"])
        }
    }
}
