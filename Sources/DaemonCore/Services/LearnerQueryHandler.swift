import Checkpoint
import Dispatch
import Foundation
import KafkaIngest
import QueryProtocol
import QueryServer
import RecModel

/// Answers queries from the ingest service's latest learner snapshot (and its status for
/// `stats`). Never touches the writer's learner: the snapshot is immutable.
struct LearnerQueryHandler: QueryHandler {
    let ingest: IngestService
    let checkpoints: CheckpointService
    /// Nil when the process has no Prometheus registry (the `metrics` op then says so).
    let metrics: MetricsExporter?
    let startedNanos = DispatchTime.now().uptimeNanoseconds

    func handle(_ request: QueryRequest) async -> Result<[String: JSONValue], QueryError> {
        let (version, learner) = ingest.model
        var fields: [String: JSONValue] = ["model_version": .integer(Int64(version))]
        switch request.op {
        case .health:
            fields.merge(health()) { $1 }
        case .stats:
            fields.merge(stats()) { $1 }
        case .metrics:
            guard let metrics else { return .failure(QueryError(.internal, "metrics are not enabled in this process")) }
            let lag = ingest.consumer.lag()
            let perDomain = ingest.consumer.settings.topics.map { topic in
                lag.filter { $0.partition.topic == topic.name }.compactMap(\.lag).reduce(0, +)
            }
            fields["text"] = .string(metrics.scrape(status: ingest.status, lagPerDomain: perDomain, modelVersion: version))
        case .popular:
            let d = try? domain(request, learner).get()
            guard let d else { return .failure(unknownDomain(request)) }
            fields["items"] = .array(learner.popular(domain: d, k: request.k).map {
                .object(["item": .string($0.item), "score": .number($0.count)])
            })
        case .predict:
            guard let d = try? domain(request, learner).get() else { return .failure(unknownDomain(request)) }
            guard let score = learner.predict(user: request.user!, item: request.item!, domain: d) else {
                return .failure(QueryError(.unknownItem, "no item \(request.item!) in domain \(request.domain!)"))
            }
            fields["score"] = .number(score)
        case .similar:
            guard let d = try? domain(request, learner).get() else { return .failure(unknownDomain(request)) }
            guard let items = learner.similar(item: request.item!, domain: d, k: request.k) else {
                return .failure(QueryError(.unknownItem, "no item \(request.item!) in domain \(request.domain!)"))
            }
            fields["items"] = .array(items.map { .object(["item": .string($0.item), "score": .number($0.score)]) })
        case .checkpoint:
            switch await checkpoints.checkpointNow() {
            case .success(let written): fields.merge(Self.describe(written)) { $1 }
            case .failure(let error): return .failure(QueryError(.internal, "checkpoint failed: \(error.message)"))
            }
        case .forget:
            let known = await ingest.forget(user: request.user!)
            fields["forgotten"] = .bool(known)
            fields["model_version"] = .integer(Int64(ingest.model.version))
        case .recommend:
            guard let d = try? domain(request, learner).get() else { return .failure(unknownDomain(request)) }
            let answer = learner.recommend(user: request.user!, domain: d, k: request.k, excludeSeen: request.excludeSeen)
            fields["strategy"] = .string(answer.strategy.rawValue)
            fields["items"] = .array(answer.items.map { .object(["item": .string($0.item), "score": .number($0.score)]) })
        }
        return .success(fields)
    }

    /// `ready`, or `degraded` with the reasons: Kafka unreachable since the last message, or a
    /// writer thread that stopped making progress.
    private func health() -> [String: JSONValue] {
        var reasons: [JSONValue] = []
        if let error = ingest.consumer.unresolvedError { reasons.append(.string("kafka: \(error)")) }
        // A reset of an unavailable position means lost events: loud for ten minutes.
        let now = DispatchTime.now().uptimeNanoseconds
        for reset in ingest.consumer.resets where now &- reset.atNanos < 600_000_000_000 {
            reasons.append(.string("kafka: \(reset.description)"))
        }
        let checkpoint = checkpoints.status
        if let error = checkpoint.lastError {
            reasons.append(.string("checkpoint: \(checkpoint.consecutiveFailures) failed in a row, last: \(error)"))
        }
        let writerIdleNanos = DispatchTime.now().uptimeNanoseconds &- ingest.lastProgressNanos.load(ordering: .relaxed)
        if ingest.lastProgressNanos.load(ordering: .relaxed) > 0, writerIdleNanos > 10_000_000_000 {
            reasons.append(.string("ingest writer made no progress for \(writerIdleNanos / 1_000_000_000) s"))
        }
        return reasons.isEmpty ? ["status": .string("ready")] : ["status": .string("degraded"), "reasons": .array(reasons)]
    }

    private func domain(_ request: QueryRequest, _ learner: Learner) -> Result<Int, QueryError> {
        guard let name = request.domain, let index = learner.domainIndex(named: name) else {
            return .failure(unknownDomain(request))
        }
        return .success(index)
    }

    private func unknownDomain(_ request: QueryRequest) -> QueryError {
        QueryError(.unknownDomain, "no domain \(request.domain ?? "")")
    }

    private func stats() -> [String: JSONValue] {
        let status = ingest.status
        let lag = ingest.consumer.lag()
        func finite(_ value: Double) -> JSONValue { value.isFinite ? .number(value) : .null }
        let domains: [JSONValue] = status.domains.enumerated().map { index, domain in
            let rejected = status.counters.rejected[index]
            let topic = ingest.consumer.settings.topics[index].name
            return .object([
                "domain": .string(domain.name), "events": .integer(Int64(domain.events)),
                "users": .integer(Int64(domain.users)), "items": .integer(Int64(domain.items)),
                "rejected": .object(Dictionary(uniqueKeysWithValues: rejected.map { ($0.key.rawValue, .integer(Int64($0.value))) })),
                "rmse": finite(domain.metrics.rmse), "mae": finite(domain.metrics.mae),
                "window_rmse": finite(domain.metrics.windowRMSE), "window_mae": finite(domain.metrics.windowMAE),
                "baseline_rmse": finite(domain.metrics.baselineRMSE), "baseline_mae": finite(domain.metrics.baselineMAE),
                "lag": .array(lag.filter { $0.partition.topic == topic }.map { partition in
                    .object([
                        "partition": .integer(Int64(partition.partition.partition)),
                        "lag": partition.lag.map { .integer($0) } ?? .null,
                    ])
                }),
            ])
        }
        return [
            "domains": .array(domains), "users": .integer(Int64(status.users)),
            "events": .integer(Int64(status.appliedEvents)),
            "uptime_seconds": .number(Double(DispatchTime.now().uptimeNanoseconds - startedNanos) / 1e9),
            "model_age_seconds": .number(ingest.modelAgeSeconds),
            "checkpoint": checkpointStats(),
            "offset_resets": .array(ingest.consumer.resets.map { .string($0.description) }),
        ]
    }

    private func checkpointStats() -> JSONValue {
        let status = checkpoints.status
        var fields: [String: JSONValue] = [
            "writes": .integer(Int64(status.writes)), "failures": .integer(Int64(status.failures)),
            "last_error": status.lastError.map(JSONValue.string) ?? .null,
            "restored_from": status.restoredFrom.map(JSONValue.string) ?? .null,
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
