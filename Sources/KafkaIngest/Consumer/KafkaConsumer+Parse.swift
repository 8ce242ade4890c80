import Dispatch
import Logging

extension KafkaConsumer {
    /// Parses a raw batch: valid events and rejections (counted, logged at a bounded rate,
    /// dead-lettered) in offset order; unconfigured topics are counted and not delivered.
    func parse(_ batch: RawBatch) -> [IngestRecord] {
        var records: [IngestRecord] = []
        records.reserveCapacity(batch.records.count)
        batch.arena.withUnsafeBytes { arena in
            for (index, raw) in batch.records.enumerated() {
                let payload = UnsafeRawBufferPointer(
                    rebasing: arena[Int(raw.payloadStart)..<Int(raw.payloadStart + raw.payloadCount)])
                let key = raw.keyCount < 0
                    ? nil : UnsafeRawBufferPointer(rebasing: arena[Int(raw.payloadStart + raw.payloadCount)..<Int(raw.payloadStart + raw.payloadCount + raw.keyCount)])
                guard raw.topicIndex >= 0 else {
                    reject(.unknownTopic, topicIndex: nil, topic: batch.unknownTopics[index] ?? "-", raw, payload, key: key)
                    continue
                }
                let topicIndex = Int(raw.topicIndex)
                let outcome = parsers[topicIndex].parse(payload)
                if case .rejected(let reason) = outcome {
                    reject(reason, topicIndex: topicIndex, topic: settings.topics[topicIndex].name, raw, payload, key: key)
                }
                records.append(
                    IngestRecord(
                        topicIndex: topicIndex, partition: raw.partition, offset: raw.offset, outcome: outcome,
                        kafkaTimestampMillis: raw.timestampMillis >= 0 ? raw.timestampMillis : nil))
            }
        }
        return records
    }

    private func reject(
        _ reason: RejectReason, topicIndex: Int?, topic: String, _ raw: RawBatch.Record, _ payload: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer?
    ) {
        counters.rejected(topicIndex: topicIndex, reason)
        let now = DispatchTime.now().uptimeNanoseconds
        let suppressed = rejectLog.withLock { log in log.allow(nowNanos: now) ? log.takeSuppressed() : nil }
        if let suppressed {
            logger.warning(
                "rejected message",
                metadata: [LoggingKeys.topic: "\(topic)", LoggingKeys.partition: "\(raw.partition)",
                    LoggingKeys.offset: "\(raw.offset)", LoggingKeys.reason: "\(reason.rawValue)",
                    LoggingKeys.suppressed: "\(suppressed)"])
        }
        let (deadLetterTopic, deadLetter) = deadLetterState.withLock { $0 }
        guard let deadLetter, let deadLetterTopic else { return }
        // The message as it came (key, value, a null value kept null), with where it came
        // from: (topic, partition, offset) identifies it, so a copy produced again after a
        // restart (at-least-once, docs/OPERATIONS.md) can be recognized.
        var headers = [
            ("crossrec.reason", reason.rawValue), ("crossrec.source.topic", topic),
            ("crossrec.source.partition", String(raw.partition)), ("crossrec.source.offset", String(raw.offset)),
        ]
        var value = raw.isNull ? UnsafeRawBufferPointer(start: nil, count: 0) : payload
        // Over the broker's message size it would be refused: the head is kept, and says so.
        if value.count > Self.deadLetterMaxBytes {
            headers.append(("crossrec.truncated_from", String(value.count)))
            value = UnsafeRawBufferPointer(rebasing: value[..<Self.deadLetterMaxBytes])
        }
        do {
            try deadLetter.send(
                topic: deadLetterTopic, key: key.map { Array($0) }, value: value, headers: headers, queueFullTimeoutMs: 1_000)
        } catch {
            counters.deadLetterFailed()
            logger.error("dead-letter produce failed", metadata: [LoggingKeys.error: "\(error)"])
        }
    }

    /// The most value bytes a dead letter carries: under the broker's default message size
    /// (1 MB, `message.max.bytes`) with room for the key and headers.
    static let deadLetterMaxBytes = 900_000
}
