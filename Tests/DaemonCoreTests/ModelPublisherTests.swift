@testable import DaemonCore
import RecModel
import Testing

@Suite("Model publisher")
struct ModelPublisherTests {
    /// A light version shares its base's projections and is diffed; a full build has new ones
    /// (every row moves) and goes whole without computing a patch, unless the configured share
    /// asks for patches of every version.
    @Test func aFullBuildIsNotDiffedAgainstAnotherBasis() throws {
        var learner = Learner(configuration: LearnerConfiguration(domains: [DomainSpec(name: "movies", ratingRange: 1...5)]))
        for user in 0..<30 {
            for step in 0..<8 {
                learner.apply(Rating(
                    domain: 0, user: "u\(user)", item: "i\((user * 3 + step) % 20)", value: Double(1 + (user + step) % 5),
                    timestampMillis: 1_700_000_000_000))
            }
        }
        let first = learner.distill(version: 1, options: DistillOptions())
        let light = try learner.distillLight(version: 2, base: first, options: DistillOptions()).get()
        let second = learner.distill(version: 3, options: DistillOptions())
        #expect(light.basisVersion == 1 && second.basisVersion == 3)
        #expect(ModelPublisher.mayPatch(light, from: first, maxDeltaShare: 0.5))
        #expect(!ModelPublisher.mayPatch(second, from: light, maxDeltaShare: 0.5))
        #expect(ModelPublisher.mayPatch(second, from: light, maxDeltaShare: 1))
    }
}
