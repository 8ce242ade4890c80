import Checkpoint
import Dispatch
import Foundation
import KafkaIngest
import QueryProtocol
import QueryServer
import RecModel

/// Answers queries from the published serving model (`DistillService`), status from ingest
/// and checkpoints. Never touches the writer's learner, and never takes a lock for a model
/// query: the model is one atomic load, kept for the whole request.
struct ServingQueryHandler: QueryHandler, StatusReporting {
    let ingest: IngestService
    let distill: DistillService
    let checkpoints: CheckpointService
    /// Nil when the process has no Prometheus registry (the `metrics` op then says so).
    let metrics: MetricsExporter?
    /// `recommend`, `predict`, `similar` and `popular` of the published model.
    var reads = ModelReads()
    /// The replication publisher, when `replication.topic` is set.
    var publisher: ModelPublisher? = nil
    let startedNanos = DispatchTime.now().uptimeNanoseconds

    /// Checkpoint and forget wait for the ingest writer; everything else is answered by
    /// `answerNow`.
    func handle(_ request: QueryRequest) async -> Result<[String: JSONValue], QueryError> {
        if let answer = answerNow(request) { return answer }
        var fields: [String: JSONValue] = ["model_version": .integer(Int64(distill.model?.version ?? 0))]
        switch request.op {
        case .checkpoint:
            switch await checkpoints.checkpointNow() {
            case .success(let written): fields.merge(Self.describe(written)) { $1 }
            case .failure(let error): return .failure(QueryError(.internal, "checkpoint failed: \(error.message)"))
            }
            return .success(fields)
        case .forget:
            let known = await ingest.forget(user: request.user!)
            distill.forget(user: request.user!)
            fields["forgotten"] = .bool(known)
            fields["model_version"] = .integer(Int64(distill.model?.version ?? 0))
            return .success(fields)
        default:
            return .failure(QueryError(.internal, "\(request.op.rawValue) has no answer"))
        }
    }

    /// Reads of the published model and of status: no waiting, no lock on the model (run on
    /// the connection's event loop). Nil for the operations that wait for the writer.
    func answerNow(_ request: QueryRequest) -> Result<[String: JSONValue], QueryError>? {
        let model = distill.model
        switch request.op {
        case .checkpoint, .forget:
            return nil
        case .health, .stats, .metrics:
            return statusAnswer(request.op, model: model)
        case .popular, .predict, .similar, .recommend:
            return reads.answer(request, model: model)
        }
    }

    func metricsText(_ model: ServingModel?) -> String? {
        guard let metrics else { return nil }
        let lag = ingest.consumer.lag()
        let perDomain = ingest.consumer.settings.topics.map { topic in
            lag.filter { $0.partition.topic == topic.name }.compactMap(\.lag).reduce(0, +)
        }
        let publishedAt = distill.modelAgeSeconds.map { Date().timeIntervalSince1970 - $0 }
        return metrics.scrape(
            status: ingest.status, lagPerDomain: perDomain, modelVersion: model?.version ?? 0,
            modelPublishedAt: publishedAt, isReady: health(model)["status"] == .string("ready"))
    }

    /// `ready`, or `degraded` with the reasons: Kafka unreachable since the last message, or a
    /// writer thread that stopped making progress.
    func health(_ model: ServingModel?) -> [String: JSONValue] {
        guard model != nil else { return ["status": .string("starting"), "reasons": .array([.string("first model not built yet")])] }
        var reasons: [JSONValue] = []
        if let error = ingest.consumer.unresolvedError { reasons.append(.string("kafka: \(error)")) }
        // A reset of an unavailable position means lost events: loud for ten minutes.
        let now = DispatchTime.now().uptimeNanoseconds
        for reset in ingest.consumer.resets where now &- reset.atNanos < 600_000_000_000 {
            reasons.append(.string("kafka: \(reset.description)"))
        }
        let checkpoint = checkpoints.status
        if checkpoint.startedWithoutHistory {
            reasons.append(.string(
                "started with an empty model: \(checkpoint.skippedAtStart.count) unusable checkpoint(s) (stats.checkpoint.skipped_at_start); degraded until a checkpoint is written"))
        }
        if let error = checkpoint.lastError {
            reasons.append(.string("checkpoint: \(checkpoint.consecutiveFailures) failed in a row, last: \(error)"))
        }
        if let publishing = publisher?.status, let error = publishing.lastError {
            reasons.append(.string("replication: publishing failed \(publishing.consecutiveFailures) time(s) in a row, last: \(error)"))
        }
        let writerIdleNanos = DispatchTime.now().uptimeNanoseconds &- ingest.lastProgressNanos.load(ordering: .relaxed)
        if ingest.lastProgressNanos.load(ordering: .relaxed) > 0, writerIdleNanos > 10_000_000_000 {
            reasons.append(.string("ingest writer made no progress for \(writerIdleNanos / 1_000_000_000) s"))
        }
        return reasons.isEmpty ? ["status": .string("ready")] : ["status": .string("degraded"), "reasons": .array(reasons)]
    }

    /// `online_hit_rate`: sampled events and hits per strategy, and the share (null before a sample).
    private func hitRateStats(_ rate: OnlineHitRate) -> JSONValue {
        func tally(_ tally: OnlineHitRate.Tally) -> JSONValue {
            .object([
                "sampled": .integer(Int64(tally.sampled)), "hits": .integer(Int64(tally.hits)),
                "hr10": tally.rate.map { .number($0) } ?? .null,
            ])
        }
        return .object(["personal": tally(rate.personal), "transfer": tally(rate.transfer)])
    }

    func stats(_ model: ServingModel?) -> [String: JSONValue] {
        let status = ingest.status
        let lag = ingest.consumer.lag()
        func finite(_ value: Double) -> JSONValue { value.isFinite ? .number(value) : .null }
        let domains: [JSONValue] = status.domains.enumerated().map { index, domain in
            let rejected = status.counters.rejected[index]
            let topic = ingest.consumer.settings.topics[index].name
            let window = domain.metrics.windowErrors
            return .object([
                "domain": .string(domain.name), "events": .integer(Int64(domain.events)),
                "users": .integer(Int64(domain.users)), "items": .integer(Int64(domain.items)),
                "rejected": .object(Dictionary(uniqueKeysWithValues: rejected.map { ($0.key.rawValue, .integer(Int64($0.value))) })),
                "rmse": finite(domain.metrics.rmse), "mae": finite(domain.metrics.mae),
                "window_rmse": finite(window.rmse), "window_mae": finite(window.mae),
                "baseline_rmse": finite(domain.metrics.baselineRMSE), "baseline_mae": finite(domain.metrics.baselineMAE),
                "model": model.map { servedStats($0.domains[index]) } ?? .null,
                "online_hit_rate": hitRateStats(status.hitRates[index]),
                "lag": .array(lag.filter { $0.partition.topic == topic }.map { partition in
                    .object([
                        "partition": .integer(Int64(partition.partition.partition)),
                        "lag": partition.lag.map { .integer($0) } ?? .null,
                    ])
                }),
            ])
        }
        return [
            "crossrec_version": .string(CrossrecVersion.current),
            "domains": .array(domains), "users": .integer(Int64(status.users)),
            "events": .integer(Int64(status.appliedEvents)),
            "uptime_seconds": .number(Double(DispatchTime.now().uptimeNanoseconds - startedNanos) / 1e9),
            "model": modelStats(model),
            "checkpoint": checkpointStats(),
            "offset_resets": .array(ingest.consumer.resets.map { .string($0.description) }),
            "answer_cache": reads.answers.summary,
            "mode": .string("learner"),
            "replication": publisher.map(replicationStats) ?? .null,
        ]
    }

    private func modelStats(_ model: ServingModel?) -> JSONValue {
        guard let model else { return .null }
        let status = distill.status
        return .object([
            "version": .integer(Int64(model.version)), "age_seconds": distill.modelAgeSeconds.map(JSONValue.number) ?? .null,
            "events": .integer(Int64(model.appliedEvents)), "dimension": .integer(Int64(model.dimension)),
            "teacher_dimension": .integer(Int64(model.teacherDimension)), "bytes": .integer(Int64(model.byteCount)),
            "build_ms": .number(Double(model.buildNanos) / 1e6), "stall_ms": .number(Double(status.stallNanos) / 1e6),
            "builds": .integer(Int64(status.builds)), "light_builds": .integer(Int64(status.lightBuilds)),
            "basis_version": model.basisVersion.map { .integer(Int64($0)) } ?? .null,
            "joint_refit": model.jointRefit.map { joint in
                .object([
                    "model": .string(joint.model), "validation_rmse": .object(joint.validationRMSE.mapValues { .number($0) }),
                    "validation_users": .integer(Int64(joint.validationUsers)), "ratings": .integer(Int64(joint.ratings)),
                    "users": .integer(Int64(joint.users)), "judged_version": .integer(Int64(joint.judgedVersion)),
                ])
            } ?? .null,
        ])
    }

    /// Fidelity, transfer and refit of one domain's student.
    private func servedStats(_ domain: ServedDomain) -> JSONValue {
        let fidelity = domain.fidelity
        var fields: [String: JSONValue] = [
            "score_rmse": .number(fidelity.scoreRMSE), "top10_overlap": .number(fidelity.top10Overlap),
            "sampled_users": .integer(Int64(fidelity.sampledUsers)), "retained_energy": .number(fidelity.retainedEnergy),
            "student_bytes": .integer(Int64(fidelity.studentBytes)), "teacher_bytes": .integer(Int64(fidelity.teacherBytes)),
            "within_bound": .bool(fidelity.scoreRMSE <= distill.maxScoreRMSE),
        ]
        if let index = domain.indexSummary {
            fields["index"] = .object([
                "clusters": .integer(Int64(index.clusters)), "probe": .integer(Int64(index.probe)),
                "recall_at_10": index.recallAt10.map(JSONValue.number) ?? .null,
            ])
        }
        if let transfer = domain.transfer {
            fields["transfer"] = .object([
                "method": .string(transfer.method),
                "validation_rmse": .object(transfer.validationRMSE.mapValues { .number($0) }),
                "training_users": .integer(Int64(transfer.trainingUsers)),
                "validation_users": .integer(Int64(transfer.validationUsers)),
            ])
        }
        if let refit = domain.refit {
            fields["refit"] = .object([
                "regularization": .number(refit.regularization),
                "validation_rmse": .object(Dictionary(uniqueKeysWithValues: refit.validationRMSE.map { ("\($0.key)", .number($0.value)) })),
                "ratings": .integer(Int64(refit.ratings)), "items": .integer(Int64(refit.items)),
                "users": .integer(Int64(refit.users)),
            ])
        }
        return .object(fields)
    }

    private func replicationStats(_ publisher: ModelPublisher) -> JSONValue {
        let status = publisher.status
        return .object([
            "topic": .string(publisher.topic),
            "published_version": status.publishedVersion.map { .integer(Int64($0)) } ?? .null,
            "published_unix_ms": .integer(status.publishedUnixMillis),
            "full_versions": .integer(Int64(status.fullVersions)), "deltas": .integer(Int64(status.deltas)),
            "bytes": .integer(Int64(status.bytes)), "last_bytes": .integer(Int64(status.lastBytes)),
            "last_kind": .string(status.lastWasDelta ? "delta" : "full"), "last_publish_ms": .number(status.lastPublishMillis),
            "failures": .integer(Int64(status.failures)), "last_error": status.lastError.map(JSONValue.string) ?? .null,
        ])
    }

    private func checkpointStats() -> JSONValue {
        let status = checkpoints.status
        var fields: [String: JSONValue] = [
            "writes": .integer(Int64(status.writes)), "failures": .integer(Int64(status.failures)),
            "last_error": status.lastError.map(JSONValue.string) ?? .null,
            "restored_from": status.restoredFrom.map(JSONValue.string) ?? .null,
            "skipped_at_start": .array(status.skippedAtStart.map(JSONValue.string)),
        ]
        if let last = status.lastSuccess {
            fields["last"] = .object(Self.describe(last).merging([
                "age_seconds": .number(Double(DispatchTime.now().uptimeNanoseconds &- last.monotonicNanos) / 1e9)
            ]) { $1 })
        }
        return .object(fields)
    }

    /// A written checkpoint as the `checkpoint` op and `stats` show it.
    static func describe(_ written: CheckpointService.Success) -> [String: JSONValue] {
        [
            "path": .string(written.path), "sequence": .integer(Int64(written.sequence)),
            "bytes": .integer(Int64(written.bytes)), "events": .integer(Int64(written.appliedEvents)),
            "created_unix_ms": .integer(written.wallMillis),
            "write_ms": .number(Double(written.writeNanos) / 1e6), "stall_ms": .number(Double(written.stallNanos) / 1e6),
            "offsets": .array(written.offsets.map {
                .object(["topic": .string($0.topic), "partition": .integer(Int64($0.partition)), "offset": .integer($0.offset)])
            }),
        ]
    }
}
