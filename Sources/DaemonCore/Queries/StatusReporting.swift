import QueryProtocol
import RecModel

/// `health`, `stats` and `metrics`, answered the same way by a learner and by a read replica
/// from what each reports about itself.
protocol StatusReporting {
    func health(_ model: ServingModel?) -> [String: JSONValue]
    func stats(_ model: ServingModel?) -> [String: JSONValue]
    /// The Prometheus exposition; nil when the process has no registry.
    func metricsText(_ model: ServingModel?) -> String?
}

extension StatusReporting {
    /// The answer to a status operation (with the served version); nil for any other.
    func statusAnswer(_ operation: QueryRequest.Operation, model: ServingModel?) -> Result<[String: JSONValue], QueryError>? {
        var fields: [String: JSONValue] = ["model_version": .integer(Int64(model?.version ?? 0))]
        switch operation {
        case .health:
            fields.merge(health(model)) { $1 }
            fields["crossrec_version"] = .string(CrossrecVersion.current)
        case .stats:
            fields.merge(stats(model)) { $1 }
        case .metrics:
            guard let text = metricsText(model) else { return .failure(QueryError(.internal, "metrics are not enabled in this process")) }
            fields["text"] = .string(text)
        default:
            return nil
        }
        return .success(fields)
    }
}
