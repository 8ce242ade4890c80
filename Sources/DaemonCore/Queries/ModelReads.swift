import QueryProtocol
import RecModel

/// The read operations of a serving model — `popular`, `predict`, `similar`, `recommend` —
/// answered the same way by a learner and by a read replica, so that both give the same bytes
/// for the same version. No lock: the caller passes the model it loaded once for the request.
struct ModelReads: Sendable {
    /// `recommend` and `similar` answers of the current model version (none kept unless given).
    var answers = ServingAnswerCache(budgetMiB: 0)

    func answer(_ request: QueryRequest, model: ServingModel?) -> Result<[String: JSONValue], QueryError> {
        var fields: [String: JSONValue] = ["model_version": .integer(Int64(model?.version ?? 0))]
        guard let model else { return .failure(QueryError(.notReady, "no model published yet: the first distillation is running")) }
        guard let name = request.domain, let d = model.domainIndex(named: name) else {
            return .failure(QueryError(.unknownDomain, "no domain \(request.domain ?? "")"))
        }
        func items(_ list: [ServingModel.Recommendation]) -> [UInt8] {
            var out: [UInt8] = []
            JSONValue.array(list.map { .object(["item": .string($0.item), "score": .number($0.score)]) }).encode(into: &out)
            return out
        }
        var key: ServingAnswerCache.Key {
            .init(
                op: request.op, domain: d, k: request.k, excludeSeen: request.op == .recommend && request.excludeSeen,
                subject: (request.op == .similar ? request.item : request.user) ?? "")
        }
        let unknownItem = QueryError(.unknownItem, "no item \(request.item ?? "") in domain \(name)")
        switch request.op {
        case .popular:
            fields["strategy"] = .string(ServingModel.Strategy.popular.rawValue)
            fields["items"] = .array(model.popular(domain: d, k: request.k).map {
                .object(["item": .string($0.item), "score": .number($0.count)])
            })
        case .predict:
            guard let answer = model.predict(user: request.user!, item: request.item!, domain: d) else { return .failure(unknownItem) }
            fields["score"] = .number(answer.score)
            fields["strategy"] = .string(answer.strategy.rawValue)
        case .similar:
            let answer = answers.answer(key, version: model.version) {
                model.similar(item: request.item!, domain: d, k: request.k).map { .init(strategy: nil, items: items($0)) }
            }
            guard let answer else { return .failure(unknownItem) }
            fields["items"] = .preencoded(answer.items)
        default:
            let answer = answers.answer(key, version: model.version) {
                let answer = model.recommend(user: request.user!, domain: d, k: request.k, excludeSeen: request.excludeSeen)
                return .init(strategy: answer.strategy, items: items(answer.items))
            }
            guard let answer else { return .failure(QueryError(.internal, "recommend gave no answer")) }
            fields["strategy"] = .string((answer.strategy ?? .popular).rawValue)
            fields["items"] = .preencoded(answer.items)
        }
        return .success(fields)
    }
}
