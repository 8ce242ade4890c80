import Checkpoint
import Foundation
import RecModel

/// A small deterministic model and its offsets: the content of the golden fixtures.
enum SampleCheckpoint {
    static let createdMillis: Int64 = 1_790_000_000_000
    static let offsets = [
        StoredOffset(topic: "ratings.books", partition: 0, offset: 120),
        StoredOffset(topic: "ratings.movies", partition: 0, offset: 90),
        StoredOffset(topic: "ratings.movies", partition: 1, offset: 91),
    ]
    static let metadata = ["crossrec.version": "fixture", "applied_events": "300"]

    /// `rankingHead: false`: the learner of the version 1–3 fixtures, written before the head.
    static func configuration(dimension: Int = 4, rankingHead: Bool = true) -> LearnerConfiguration {
        var configuration = LearnerConfiguration(domains: [
            DomainSpec(name: "movies", ratingRange: 1...5), DomainSpec(name: "books", ratingRange: 1...10, isTarget: true),
        ])
        configuration.dimension = dimension
        configuration.maxUsers = 30
        configuration.metricsWindow = 50
        configuration.recentTargetRatings = 100  // fewer than the books events: the ring wraps
        // Pinned, not the default: the fixtures are files written once, and a default chosen
        // later must not change what they hold.
        configuration.ranking.negatives = rankingHead ? 4 : 0
        configuration.recentSourceRatings = 0
        return configuration
    }

    static func learner(rankingHead: Bool = true) -> Learner {
        var generator = SplitMix64(seed: 11)
        var learner = Learner(configuration: configuration(rankingHead: rankingHead))
        for index in 0..<300 {
            let domain = Int(generator.next() % 2)
            let user = "user-\(generator.next() % 40)"
            let item = "item-\(generator.next() % 25)"
            let value = Double(1 + generator.next() % (domain == 0 ? 5 : 10))
            learner.apply(Rating(domain: domain, user: user, item: item, value: value, timestampMillis: Int64(index) * 1_000))
            if index == 200 { learner.forget(user: "user-3") }
        }
        return learner
    }

    static func fixturePath(version: UInt32) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/checkpoint-v\(version).ckpt").path
    }
}
