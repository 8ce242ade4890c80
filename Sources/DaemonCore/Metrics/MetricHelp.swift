/// The `# HELP` text of every metric family the daemon exports. The libraries count through
/// the swift-metrics facade, whose Prometheus factory registers families without help text
/// (and treats a second, different text for a name as a programming error), so the text is
/// added here, to the exposition, once per family. A family missing from this table fails the
/// exposition test (`promtool check metrics` reports "no help text").
enum MetricHelp {
    static let text: [String: String] = [
        // Build and process.
        "crossrec_build_info": "Always 1; the version label names the build that answers.",
        "crossrec_ready": "1 while health is ready, 0 while starting or degraded (see the health operation for reasons).",
        "process_cpu_seconds_total": "User and system CPU time of the process, in seconds.",
        "process_resident_memory_bytes": "Resident memory of the process, in bytes.",
        "process_virtual_memory_bytes": "Virtual memory of the process, in bytes.",
        "process_open_fds": "Open file descriptors of the process.",
        "process_max_fds": "The process's limit on open file descriptors.",
        "process_start_time_seconds": "When the process started, in seconds since the Unix epoch.",
        // Ingest.
        "crossrec_ingest_messages_total": "Kafka messages consumed, by topic (accepted or rejected).",
        "crossrec_ingest_rejected_total": "Kafka messages set aside, by topic and reason; each goes to the dead-letter file.",
        "crossrec_dead_letter_failures_total": "Rejected messages that could not be written to the dead-letter file.",
        "crossrec_offset_resets_total": "Partitions whose committed position was unavailable and was reset (events were lost).",
        "crossrec_consumer_lag": "Messages behind the end of the domain's partitions (high watermark minus position).",
        "crossrec_events_applied_total": "Rating events the learner applied, by domain (restored ones included).",
        "crossrec_users": "Users with a row in the domain.",
        "crossrec_items": "Items of the domain.",
        // Quality.
        "crossrec_prequential_rmse": "Prequential RMSE of the domain since the start: each event predicted before it is learned.",
        "crossrec_prequential_window_rmse": "Prequential RMSE over the domain's recent window of events.",
        "crossrec_prequential_baseline_rmse": "Prequential RMSE of the global-mean-plus-biases baseline, for comparison.",
        "crossrec_online_hit_samples_total": "Incoming events sampled for the online hit rate, by domain and strategy.",
        "crossrec_online_hits_total": "Sampled events whose item was in the user's served top 10 just before, by domain and strategy.",
        // Model and checkpoints.
        "crossrec_model_version": "Version of the published serving model.",
        "crossrec_model_published_timestamp_seconds": "When the serving model was last published, in seconds since the Unix epoch.",
        "crossrec_distill_duration_seconds": "Time to build a serving model (distillation, transfer, refit).",
        "crossrec_checkpoint_writes_total": "Checkpoints written and made durable.",
        "crossrec_checkpoint_failures_total": "Checkpoint writes that failed.",
        "crossrec_checkpoint_last_success_timestamp_seconds": "When the last checkpoint became durable, in seconds since the Unix epoch.",
        "crossrec_checkpoint_bytes": "Size of the last checkpoint written, in bytes.",
        "crossrec_checkpoint_write_duration_seconds": "Time to write and sync a checkpoint.",
        // Replication.
        "crossrec_replication_published_version": "Learner: the last serving version delivered to the model topic.",
        "crossrec_replication_published_bytes_total": "Learner: bytes of chunks delivered to the model topic, by kind (full, delta).",
        "crossrec_replication_publish_failures_total": "Learner: versions whose publishing failed (retried with the newest version).",
        "crossrec_replication_publish_duration_seconds": "Learner: time to encode, diff and deliver a version to the model topic.",
        "crossrec_replica_lag_versions": "Replica: versions on the model topic newer than the one served.",
        "crossrec_replica_lag_seconds": "Replica: age of the newest version on the topic while it is not served yet (0 when current).",
        "crossrec_replica_bytes_received_total": "Replica: message bytes read from the model topic.",
        "crossrec_replica_versions_applied_total": "Replica: versions verified, decoded and swapped in, by kind (full, delta).",
        "crossrec_replica_versions_rejected_total": "Replica: versions refused (bad chunk or checksum, missing base, not decodable).",
        // Queries.
        "crossrec_query_requests_total": "Requests received, by operation (none: the line was not a request).",
        "crossrec_query_errors_total": "Error answers, by stable error code.",
        "crossrec_query_duration_seconds": "Time to answer a request, by operation.",
        "crossrec_query_connections": "Open query connections.",
        "crossrec_answer_cache_lookups_total": "Answer cache lookups for recommend and similar, by result (hit, miss).",
    ]

    /// `exposition` with a `# HELP` line before each family's `# TYPE` line.
    static func adding(to exposition: String) -> String {
        var out = ""
        out.reserveCapacity(exposition.utf8.count + 4 * 1024)
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).prefix { $0 != " " }
                if let help = text[String(name)] { out += "# HELP \(name) \(help)\n" }
            }
            out += line
            out += "\n"
        }
        if exposition.last == "\n" || exposition.isEmpty { out.removeLast() }
        return out
    }
}
