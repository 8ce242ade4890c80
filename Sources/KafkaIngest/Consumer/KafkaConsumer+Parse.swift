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
                guard raw.topicIndex >= 0 else {
                    reject(.unknownTopic, topicIndex: nil, topic: batch.unknownTopics[index] ?? "-", raw, payload)
                    continue
                }
                let topicIndex = Int(raw.topicIndex)
                let outcome = parsers[topicIndex].parse(payload)
                if case .rejected(let reason) = outcome {
                    reject(reason, topicIndex: topicIndex, topic: settings.topics[topicIndex].name, raw, payload)
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
        _ reason: RejectReason, topicIndex: Int?, topic: String, _ raw: RawBatch.Record, _ payload: UnsafeRawBufferPointer
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
        do {
            try deadLetter.send(
                topic: deadLetterTopic, value: payload,
                headers: [("crossrec.reason", reason.rawValue), ("crossrec.source.topic", topic),
                    ("crossrec.source.partition", String(raw.partition)), ("crossrec.source.offset", String(raw.offset))],
                queueFullTimeoutMs: 1_000)
        } catch {
            logger.error("dead-letter produce failed", metadata: [LoggingKeys.error: "\(error)"])
        }
    }
}
