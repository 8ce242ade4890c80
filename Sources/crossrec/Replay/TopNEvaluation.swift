import Foundation

/// Top-N quality of lists on a temporal split (`crossrec replay --split`): the model learns
/// the first part of the stream; each warm user's list (users with ratings in the domain on
/// both sides) is judged against the distinct items they rate later. Binary relevance; items
/// first rated after the split stay relevant (no list can hold them), as a user would see it.
struct TopNEvaluation {
    /// Users are bucketed by their training ratings in the domain.
    static let activityBuckets: [(name: String, range: Range<Int>)] = [
        ("1-19", 1..<20), ("20-99", 20..<100), ("100-499", 100..<500), ("500+", 500..<Int.max),
    ]

    struct Figures {
        var users = 0
        var hits10 = 0.0, ndcg10 = 0.0, recall10 = 0.0, precision10 = 0.0
        var hits20 = 0.0, ndcg20 = 0.0, recall20 = 0.0, precision20 = 0.0
        var listed: Set<String> = []
        var popularityRankSum = 0.0, listedCount = 0
        /// Listed items the user had rated before the split.
        var leaks = 0
        var bucketUsers = [Int](repeating: 0, count: TopNEvaluation.activityBuckets.count)
        var bucketNDCG10 = [Double](repeating: 0, count: TopNEvaluation.activityBuckets.count)

        func json(catalog: Int) -> [String: Any] {
            let n = Double(max(users, 1))
            var buckets: [String: Any] = [:]
            for (index, bucket) in TopNEvaluation.activityBuckets.enumerated() {
                buckets[bucket.name] = ["users": bucketUsers[index], "ndcg10": bucketUsers[index] > 0 ? bucketNDCG10[index] / Double(bucketUsers[index]) : 0]
            }
            return [
                "users": users, "hr10": hits10 / n, "ndcg10": ndcg10 / n, "recall10": recall10 / n, "precision10": precision10 / n,
                "hr20": hits20 / n, "ndcg20": ndcg20 / n, "recall20": recall20 / n, "precision20": precision20 / n,
                "coverage10": catalog > 0 ? Double(listed.count) / Double(catalog) : 0,
                "mean_popularity_rank": listedCount > 0 ? popularityRankSum / Double(listedCount) : 0, "leaks": leaks,
                "by_activity": buckets,
            ]
        }
    }

    let domain: String
    /// Items rated before the split: the catalog coverage is a share of.
    let catalog: Int
    var methods: [(name: String, figures: Figures)] = []
    private let training: [String: Set<String>]
    private let relevant: [String: Set<String>]
    private let popularityRank: [String: Int]
    /// Training items by count, most first (ties by id): the MostPop reference.
    private let popular: [String]

    /// `train` and `test` are the events of one domain on either side of the split. `cold`:
    /// judge the users with no training rating in the domain instead (cold start: a target
    /// domain's held-out users, whose lists come from what they rated elsewhere).
    init(domain: String, train: [ReplayEvents.Event], test: [ReplayEvents.Event], cold: Bool = false) {
        self.domain = domain
        var training: [String: Set<String>] = [:]
        var counts: [String: Int] = [:]
        for event in train {
            training[event.user, default: []].insert(event.item)
            counts[event.item, default: 0] += 1
        }
        var relevant: [String: Set<String>] = [:]
        for event in test where (training[event.user] == nil) == cold { relevant[event.user, default: []].insert(event.item) }
        popular = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        popularityRank = Dictionary(uniqueKeysWithValues: popular.enumerated().map { ($1, $0 + 1) })
        self.training = training
        self.relevant = relevant
        catalog = counts.count
    }

    /// The warm users, sorted (lists are asked in this order).
    var users: [String] { relevant.keys.sorted() }

    /// Judges the lists `list` gives (best first, at least 20 asked) under `name`.
    mutating func add(method name: String, list: (String) -> [String]) {
        var figures = Figures()
        for user in users {
            let items = Array(list(user).prefix(20))
            score(items, user: user, into: &figures)
        }
        methods.append((name, figures))
    }

    /// The most-popular list of the training period, the user's training items removed.
    mutating func addMostPopular() {
        let (training, popular) = (training, popular)
        add(method: "most_popular") { user in
            let seen = training[user] ?? []
            return Array(popular.lazy.filter { !seen.contains($0) }.prefix(20))
        }
    }

    private func score(_ items: [String], user: String, into figures: inout Figures) {
        guard let wanted = relevant[user] else { return }
        let seen = training[user] ?? []
        let activity = seen.count
        figures.users += 1
        var dcg10 = 0.0, dcg20 = 0.0, hits10 = 0, hits20 = 0
        for (position, item) in items.enumerated() {
            if position < 10 {
                figures.listed.insert(item)
                figures.popularityRankSum += Double(popularityRank[item] ?? catalog + 1)
                figures.listedCount += 1
            }
            if seen.contains(item) { figures.leaks += 1 }
            guard wanted.contains(item) else { continue }
            let gain = 1 / log2(Double(position) + 2)
            if position < 10 {
                dcg10 += gain
                hits10 += 1
            }
            dcg20 += gain
            hits20 += 1
        }
        func ideal(_ k: Int) -> Double { (0..<min(k, wanted.count)).reduce(0) { $0 + 1 / log2(Double($1) + 2) } }
        let ndcg10 = dcg10 / ideal(10)
        figures.ndcg10 += ndcg10
        figures.ndcg20 += dcg20 / ideal(20)
        figures.hits10 += hits10 > 0 ? 1 : 0
        figures.hits20 += hits20 > 0 ? 1 : 0
        figures.recall10 += Double(hits10) / Double(wanted.count)
        figures.recall20 += Double(hits20) / Double(wanted.count)
        figures.precision10 += Double(hits10) / 10
        figures.precision20 += Double(hits20) / 20
        if let bucket = Self.activityBuckets.firstIndex(where: { $0.range.contains(activity) }) {
            figures.bucketUsers[bucket] += 1
            figures.bucketNDCG10[bucket] += ndcg10
        }
    }

    var json: [String: Any] {
        ["domain": domain, "catalog": catalog, "methods": Dictionary(uniqueKeysWithValues: methods.map { ($0.name, $0.figures.json(catalog: catalog)) })]
    }

    var text: String {
        var lines = ["top-N, domain \(domain): \(users.count) users judged, \(catalog) items in training"]
        lines.append("  method          NDCG@10  HR@10  Recall@10  NDCG@20  coverage@10  pop.rank  leaks  NDCG@10 by activity (" + Self.activityBuckets.map(\.name).joined(separator: ", ") + ")")
        for (name, figures) in methods {
            let j = figures.json(catalog: catalog)
            let buckets = (j["by_activity"] as? [String: Any]) ?? [:]
            let byActivity = Self.activityBuckets.map { bucket -> String in
                let entry = buckets[bucket.name] as? [String: Any]
                return String(format: "%.3f", entry?["ndcg10"] as? Double ?? 0)
            }.joined(separator: " ")
            lines.append(
                String(
                    format: "  %@  %7.4f  %5.3f  %9.4f  %7.4f  %11.3f  %8.0f  %5d  %@", name.padding(toLength: 14, withPad: " ", startingAt: 0),
                    j["ndcg10"] as! Double, j["hr10"] as! Double, j["recall10"] as! Double, j["ndcg20"] as! Double,
                    j["coverage10"] as! Double, j["mean_popularity_rank"] as! Double, figures.leaks, byActivity))
        }
        return lines.joined(separator: "\n")
    }
}
