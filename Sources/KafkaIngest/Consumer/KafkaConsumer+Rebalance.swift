internal import CRdKafka
import Logging

extension KafkaConsumer {
    /// The rebalance callback, on the poll thread. Assign: seek each partition to the owner's
    /// position (else committed, else reset). Revoke: drop every not-yet-taken record of the
    /// revoked partitions, then give them up.
    func rebalance(_ err: rd_kafka_resp_err_t, _ pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let list = RDKafkaTopicPartitionList(borrowing: pointer)
        let entries = list.entries
        let protocolName = rd_kafka_rebalance_protocol(handle.pointer).map { String(cString: $0) }
        let cooperative = protocolName == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            for (index, entry) in entries.enumerated() { list.setOffset(at: index, checkedStartOffset(for: entry.partition)) }
            let failure = apply(cooperative ? .incrementalAssign : .assign, list)
            assigned.withLock { set in
                if !cooperative { set.removeAll() }
                set.formUnion(entries.map(\.partition))
            }
            // A new assignment starts unpaused; keep backpressure in force.
            if pollState.paused { setPaused(true, only: list) }
            logger.info(
                "partitions assigned",
                metadata: [LoggingKeys.partitions: "\(describe(list))", LoggingKeys.error: "\(failure ?? "none")"])
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let revoked = Set(entries.compactMap { entry in
                topicIndex[entry.partition.topic].map { PartitionKey(topicIndex: $0, partition: entry.partition.partition) }
            })
            let dropped = pollState.pending.removeRecords(of: revoked) + buffer.purge(revoked)
            let failure = apply(cooperative ? .incrementalUnassign : .unassign, list)
            assigned.withLock { $0.subtract(entries.map(\.partition)) }
            logger.info(
                "partitions revoked",
                metadata: [LoggingKeys.partitions: "\(entries.map(\.partition.description).joined(separator: ","))",
                    LoggingKeys.buffered: "\(dropped) dropped", LoggingKeys.error: "\(failure ?? "none")"])
        default:
            logger.error("rebalance error", metadata: [LoggingKeys.error: "\(String(cString: rd_kafka_err2str(err)))"])
            _ = apply(.unassign, list)
            assigned.withLock { $0.removeAll() }
        }
    }

    private enum AssignmentChange { case assign, unassign, incrementalAssign, incrementalUnassign }

    /// Applies an assignment change; returns the error text, if any.
    private func apply(_ change: AssignmentChange, _ list: RDKafkaTopicPartitionList) -> String? {
        list.withPointer { pointer in
            switch change {
            case .assign, .unassign:
                let err = rd_kafka_assign(handle.pointer, change == .assign ? pointer : nil)
                return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : String(cString: rd_kafka_err2str(err))
            case .incrementalAssign, .incrementalUnassign:
                let error = change == .incrementalAssign
                    ? rd_kafka_incremental_assign(handle.pointer, pointer)
                    : rd_kafka_incremental_unassign(handle.pointer, pointer)
                guard let error else { return nil }
                defer { rd_kafka_error_destroy(error) }  // returned errors are ours to free
                return String(cString: rd_kafka_error_string(error))
            }
        }
    }

    private func describe(_ list: RDKafkaTopicPartitionList) -> String {
        list.entries.map { "\($0.partition)@\($0.offset < 0 ? "committed" : String($0.offset))" }.joined(separator: ",")
    }
}
