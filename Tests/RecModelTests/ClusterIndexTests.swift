import RecModel
import Testing

@Suite("Cluster index")
struct ClusterIndexTests {
    /// 3 000 items with planted rank-4 taste, one domain. The taste is in the ratings (items
    /// are chosen uniformly), so the lists are ranked by the rating head: no ranking head.
    static let learner: Learner = {
        let data = SyntheticRatings(users: 300, itemsPerDomain: 3_000, domains: 1, noise: 0.2)
        var configuration = SyntheticRatings.configuration(domains: 1)
        configuration.ranking.negatives = 0
        var learner = Learner(configuration: configuration)
        for event in data.events(perUser: 60, domains: [0]) { learner.apply(SyntheticRatings.rating(event)) }
        return learner
    }()

    static func model(clusters: Int, probe: Int) -> ServingModel {
        var options = DistillOptions()
        options.indexClusters = clusters
        options.indexProbe = probe
        return learner.distill(version: 1, options: options)
    }

    /// Probing every cluster scans every item: the answers are those of the exact scan, ties
    /// and seen items included.
    @Test func probingEveryClusterGivesTheExactAnswer() throws {
        let exact = Self.model(clusters: 0, probe: 1)
        let indexed = Self.model(clusters: 40, probe: 40)
        #expect(exact.domains[0].indexSummary == nil)
        let summary = try #require(indexed.domains[0].indexSummary)
        #expect(summary.clusters == 40 && summary.probe == 40)
        #expect(summary.recallAt10 == 1)
        for user in 0..<60 {
            for excludeSeen in [false, true] {
                for k in [1, 10, 200] {
                    let a = exact.recommend(user: "u\(user)", domain: 0, k: k, excludeSeen: excludeSeen)
                    let b = indexed.recommend(user: "u\(user)", domain: 0, k: k, excludeSeen: excludeSeen)
                    #expect(a.items == b.items && a.strategy == b.strategy)
                }
            }
        }
    }

    /// Probing a fifth of the clusters still finds most of the exact top 10 on data with
    /// structure (far more than the fifth a random fifth of the items would hold), and the
    /// recall `stats` reports is measured, not assumed.
    @Test func probingFewClustersKeepsMostOfTheTopTen() throws {
        let exact = Self.model(clusters: 0, probe: 1)
        let indexed = Self.model(clusters: 40, probe: 8)
        let recall = try #require(indexed.domains[0].indexSummary?.recallAt10)
        var overlap = 0.0
        for user in 0..<300 {
            let truth = exact.recommend(user: "u\(user)", domain: 0, k: 10, excludeSeen: false).items.map(\.item)
            let found = Set(indexed.recommend(user: "u\(user)", domain: 0, k: 10, excludeSeen: false).items.map(\.item))
            overlap += Double(truth.filter(found.contains).count) / Double(truth.count)
        }
        overlap /= 300
        #expect(overlap >= 0.7)
        #expect(recall < 1)
        // Build time measures 200 of these 300 users: the two estimates agree closely.
        #expect(abs(recall - overlap) < 0.05)
        // Every answer is still k distinct items in score order.
        let answer = indexed.recommend(user: "u1", domain: 0, k: 10, excludeSeen: true).items
        #expect(Set(answer.map(\.item)).count == 10)
        #expect(answer.map(\.score) == answer.map(\.score).sorted(by: >))
    }

    /// Too few items to group: no index, exact answers.
    @Test func aTinyCatalogGetsNoIndex() {
        var learner = Learner(configuration: SyntheticRatings.configuration(domains: 1))
        learner.apply(Rating(domain: 0, user: "u", item: "i", value: 4, timestampMillis: 1))
        var options = DistillOptions()
        options.indexClusters = 16
        #expect(learner.distill(version: 1, options: options).domains[0].indexSummary == nil)
    }
}
