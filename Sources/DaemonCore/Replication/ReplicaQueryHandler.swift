import Dispatch
import Foundation
import QueryProtocol
import QueryServer
import RecModel
import Replication

/// A read replica's answers: the model reads exactly as the learner gives them
/// (`ModelReads`), `health`, `stats` and `metrics` of the replica itself, and a `read_only`
/// error for the admin operations, which only the learner can carry out.
struct ReplicaQueryHandler: QueryHandler, StatusReporting {
    let replica: ReplicaService
    let metrics: ReplicaMetrics?
    var reads = ModelReads()

    func handle(_ request: QueryRequest) async -> Result<[String: JSONValue], QueryError> {
        answerNow(request) ?? .failure(QueryError(.internal, "\(request.op.rawValue) has no answer"))
    }

    func answerNow(_ request: QueryRequest) -> Result<[String: JSONValue], QueryError>? {
        let model = replica.model
        switch request.op {
        case .checkpoint, .forget:
            return .failure(QueryError(
                .readOnly, "this daemon is a read replica of \(replica.topic): send \(request.op.rawValue) to the learner"))
        case .health, .stats, .metrics:
            return statusAnswer(request.op, model: model)
        case .popular, .predict, .similar, .recommend:
            return reads.answer(request, model: model)
        }
    }

    func metricsText(_ model: ServingModel?) -> String? {
        guard let metrics else { return nil }
        let lag = lag()
        return metrics.scrape(
            status: replica.status, lagVersions: lag.versions, lagSeconds: lag.seconds, isReady: health(model)["status"] == .string("ready"))
    }

    /// Versions and seconds behind the newest manifest read from the topic.
    private func lag() -> (versions: Int, seconds: Double) {
        let status = replica.status
        guard let newest = status.newest, newest.version != status.served?.version else { return (0, 0) }
        // A learner restarted without reading the topic may number below the served version.
        let versions = max(1, newest.version - (status.served?.version ?? 0))
        return (versions, max(0, Date().timeIntervalSince1970 - Double(newest.publishedUnixMillis) / 1_000))
    }

    func health(_ model: ServingModel?) -> [String: JSONValue] {
        let status = replica.status
        let now = DispatchTime.now().uptimeNanoseconds
        var reasons: [JSONValue] = []
        let silentSeconds = Double(now &- (status.lastContactNanos == 0 ? replica.startedNanos : status.lastContactNanos)) / 1e9
        if silentSeconds > replica.maxLagSeconds {
            reasons.append(.string("model topic \(replica.topic) unreachable for \(Int(silentSeconds)) s: \(status.lastError ?? "no answer")"))
        }
        if status.waitingSinceNanos > 0, Double(now &- status.waitingSinceNanos) / 1e9 > replica.maxLagSeconds {
            let lag = lag()
            reasons.append(.string("\(lag.versions) version(s) behind the learner for \(Int(Double(now &- status.waitingSinceNanos) / 1e9)) s"))
        }
        // A refused version is loud for ten minutes, like a lost-events reset on a learner.
        if let rejection = status.lastRejection, now &- rejection.atNanos < 600_000_000_000 {
            let serving = status.served.map { "version \($0.version) keeps serving" } ?? "nothing served yet"
            reasons.append(.string("version \(rejection.version) refused: \(rejection.reason); \(serving)"))
        }
        guard model != nil else {
            return ["status": .string("starting"), "reasons": .array([.string("no complete version read from \(replica.topic) yet")] + reasons)]
        }
        return reasons.isEmpty ? ["status": .string("ready")] : ["status": .string("degraded"), "reasons": .array(reasons)]
    }

    func stats(_ model: ServingModel?) -> [String: JSONValue] {
        let status = replica.status
        let lag = lag()
        let now = DispatchTime.now().uptimeNanoseconds
        var replicaFields: [String: JSONValue] = [
            "topic": .string(replica.topic),
            "served_version": status.served.map { .integer(Int64($0.version)) } ?? .null,
            "newest_version": status.newest.map { .integer(Int64($0.version)) } ?? .null,
            "lag_versions": .integer(Int64(lag.versions)), "lag_seconds": .number(lag.seconds),
            "full_applied": .integer(Int64(status.fullApplied)), "deltas_applied": .integer(Int64(status.deltasApplied)),
            "rejected": .integer(Int64(status.rejected)), "ignored_messages": .integer(Int64(status.ignoredMessages)),
            "bytes_received": .integer(Int64(status.bytesReceived)), "last_apply_ms": .number(status.lastApplyMillis),
            "last_latency_ms": .number(status.lastLatencyMillis),
            "start_offset": .integer(status.startOffset), "position": .integer(status.position),
            "last_error": status.lastError.map(JSONValue.string) ?? .null,
            "seconds_since_contact": status.lastContactNanos == 0 ? .null : .number(Double(now &- status.lastContactNanos) / 1e9),
        ]
        if let rejection = status.lastRejection {
            replicaFields["last_rejection"] = .object([
                "version": .integer(Int64(rejection.version)), "reason": .string(rejection.reason),
                "age_seconds": .number(Double(now &- rejection.atNanos) / 1e9),
            ])
        }
        var modelFields: JSONValue = .null
        if let model, let served = status.served {
            modelFields = .object([
                "version": .integer(Int64(model.version)), "events": .integer(Int64(model.appliedEvents)),
                "dimension": .integer(Int64(model.dimension)), "teacher_dimension": .integer(Int64(model.teacherDimension)),
                "bytes": .integer(Int64(model.byteCount)), "build_ms": .number(Double(model.buildNanos) / 1e6),
                "published_unix_ms": .integer(served.publishedUnixMillis),
                "age_seconds": .number(Double(now &- status.servedAtNanos) / 1e9),
                "domains": .array(model.domains.map { .string($0.name) }),
            ])
        }
        return [
            "crossrec_version": .string(CrossrecVersion.current), "mode": .string("replica"),
            "uptime_seconds": .number(replica.uptimeSeconds), "model": modelFields, "replica": .object(replicaFields),
            "answer_cache": reads.answers.summary,
        ]
    }
}
