@testable import RecModel
import Testing

@Suite("Recent ratings and the refit")
struct RecentRatingsTests {
    static func entries(_ ring: RecentRatings) -> [UInt64] {
        var users: [UInt64] = []
        ring.forEach { user, _, _ in users.append(user) }
        return users
    }

    @Test func theRingKeepsTheNewestInOrderAndForgetsUsers() throws {
        var ring = RecentRatings(capacity: 5)
        for user in UInt64(1)...8 { ring.append(user: user, item: user * 10, value: Double(user)) }
        #expect(Self.entries(ring) == [4, 5, 6, 7, 8])
        ring.remove(users: [5, 7])
        #expect(Self.entries(ring) == [4, 6, 8])
        ring.append(user: 9, item: 90, value: 9)
        #expect(Self.entries(ring) == [4, 6, 8, 9])
        #expect(RecentRatings(capacity: 0).count == 0)
        var none = RecentRatings(capacity: 0)
        none.append(user: 1, item: 1, value: 1)
        #expect(none.count == 0, "a domain without refit records nothing")
    }

    @Test func restoredIntoASmallerRingKeepsTheNewest() throws {
        var ring = RecentRatings(capacity: 6)
        for user in UInt64(1)...9 { ring.append(user: user, item: user, value: Double(user)) }
        var buffer = ArchiveBuffer()
        buffer.beginSection(ArchiveSection(kind: ArchiveSection.recentRatings))
        try ring.archive(into: &buffer)
        let bytes = try #require(buffer.sections.values.first)
        try bytes.withUnsafeBytes { raw in
            var same = ArchiveReader(raw, section: ArchiveSection(kind: ArchiveSection.recentRatings))
            #expect(Self.entries(try RecentRatings.restore(capacity: 6, from: &same)) == [4, 5, 6, 7, 8, 9])
            var smaller = ArchiveReader(raw, section: ArchiveSection(kind: ArchiveSection.recentRatings))
            let restored = try RecentRatings.restore(capacity: 4, from: &smaller)
            #expect(Self.entries(restored) == [6, 7, 8, 9])
            var value = 0.0
            restored.forEach { _, _, rating in value += rating }
            #expect(value == 30)
        }
    }

    /// Every domain records (the targets for their refit, the others for the joint refit), a
    /// domain whose ring is configured empty records nothing, and `forget` takes the user's
    /// ratings out of every ring.
    @Test func domainsRecordAndForgetPurges() {
        var learner = DistillTests.learner()
        let recorded = (0...1).map { d in learner.recentRatingCount(domain: d) }
        #expect(recorded == (0...1).map { d in DistillTests.train.filter { $0.domain == d }.count * 4 })
        let mine = (0...1).map { d in DistillTests.train.filter { $0.domain == d && $0.user == 5 }.count * 4 }
        #expect(mine.allSatisfy { $0 > 0 })
        learner.forget(user: "u5")
        #expect((0...1).map { d in learner.recentRatingCount(domain: d) } == [recorded[0] - mine[0], recorded[1] - mine[1]])
        var configuration = SyntheticRatings.configuration()
        configuration.domains[1].isTarget = true
        configuration.recentSourceRatings = 0
        var sourceless = Learner(configuration: configuration)
        for event in DistillTests.train { sourceless.apply(SyntheticRatings.rating(event)) }
        #expect(sourceless.recentRatingCount(domain: 0) == 0 && sourceless.recentRatingCount(domain: 1) > 0)
    }

    /// The synthetic data has little noise (0.2), so it wants a small penalty; the default (20)
    /// suits MovieLens and shrinks these items too much (0.28 against 0.22 without refit).
    @Test func refitImprovesColdStartAndLeavesTheLearnerAlone() throws {
        let learner = DistillTests.learner()
        let before = try learner.archived().sections
        var off = DistillOptions(), on = DistillOptions()
        off.refitSweeps = 0
        // The target refit alone, without the joint refit before it (JointRefitTests).
        (off.jointRefitSweeps, on.jointRefitSweeps) = (0, 0)
        on.refitRegularizations = [1]
        // The refit alone: the bridge (TwinTests) would make up for much of the difference.
        (off.transferMethods, on.transferMethods) = (["shared+bias"], ["shared+bias"])
        func coldStartRMSE(_ model: ServingModel) -> Double {
            DistillTests.rmse { model.predict(user: "u\($0.user)", item: "i\($0.item)", domain: 1)?.score ?? 3 }
        }
        let onlineModel = learner.distill(version: 1, options: off), refitModel = learner.distill(version: 2, options: on)
        let online = coldStartRMSE(onlineModel), refitted = coldStartRMSE(refitModel)
        #expect(refitted < online * 0.9, "refit \(refitted) vs online parameters \(online)")
        #expect(onlineModel.domains[1].refit == nil)
        let choice = try #require(refitModel.domains[1].refit)
        #expect(choice.ratings == learner.recentRatingCount(domain: 1) && choice.items == 100 && choice.users == 200)
        #expect(refitModel.domains[0].refit == nil, "only target domains are refitted")
        #expect(try learner.archived().sections == before, "the refit works on a copy")
    }

    @Test func severalPenaltiesAreChosenOnHeldOutUsers() throws {
        var options = DistillOptions()
        options.refitRegularizations = [100, 1, 10]
        options.jointRefitCMFRegularization = 0  // the target refit follows the per-domain model only
        let choice = try #require(DistillTests.learner().distill(version: 1, options: options).domains[1].refit)
        #expect(Set(choice.validationRMSE.keys) == [1, 10, 100])
        let best = try #require(choice.validationRMSE.min { $0.value < $1.value })
        #expect(choice.regularization == best.key)
    }
}
