@testable import RecModel
import Testing

/// Patches (ServingModel+Patch.swift): a version as its differences from the one before,
/// applied on a replica's copy of that one, gives the version's exact bytes.
@Suite("Serving model patches")
struct ServingPatchTests {
    /// A full build, then a light version after new ratings, a new user, a new item and a
    /// forgotten user.
    static func versions() throws -> (base: ServingModel, next: ServingModel) {
        var learner = DistillTests.learner()
        learner.apply(Rating(domain: 0, user: "clock", item: "i0", value: 3, timestampMillis: LightDistillTests.later - 1))
        let base = learner.distill(version: 1, options: DistillTests.options)
        for user in 0..<6 {
            learner.apply(Rating(domain: user % 2, user: "u\(user)", item: "i\(user + 60)", value: 4, timestampMillis: LightDistillTests.later))
        }
        learner.apply(Rating(domain: 1, user: "newcomer", item: "brand-new", value: 5, timestampMillis: LightDistillTests.later))
        _ = learner.forget(user: "u9")
        let next = try learner.distillLight(version: 2, base: base, options: DistillTests.options).get()
        return (base, next)
    }

    @Test func aPatchOnTheBaseGivesTheVersionsExactBytes() throws {
        let (base, next) = try Self.versions()
        let patch = try #require(next.patch(from: base))
        let encoded = next.encoded()
        #expect(patch.count * 4 < encoded.count, "\(patch.count) bytes of patch for \(encoded.count) of model")
        #expect(try base.applying(patch: patch).encoded() == encoded)
        // A replica holds the base as it decoded it.
        let replicaBase = try ServingModel.decoded(base.encoded())
        let patched = try replicaBase.applying(patch: patch)
        #expect(patched.encoded() == encoded)
        #expect(patched.recommend(user: "newcomer", domain: 1, k: 5, excludeSeen: true).strategy == .personal)
        #expect(patched.recommend(user: "u9", domain: 0, k: 5, excludeSeen: true).strategy == .popular, "forgotten")
        // A version patched onto itself changes nothing.
        let same = try #require(next.patch(from: next))
        #expect(try next.applying(patch: same).encoded() == encoded)
    }

    @Test func aPatchRefusesAnotherBaseAndDamage() throws {
        let (base, next) = try Self.versions()
        let patch = try #require(next.patch(from: base))
        #expect(throws: ArchiveError.self) { try next.applying(patch: patch) }
        #expect(throws: ArchiveError.self) { try base.applying(patch: Array(patch.prefix(patch.count / 2))) }
        var garbled = patch
        garbled[0] ^= 0xFF
        #expect(throws: ArchiveError.self) { try base.applying(patch: garbled) }
        #expect(throws: ArchiveError.self) { try base.applying(patch: base.encoded()) }
    }

    @Test func modelsOfAnotherShapeHaveNoPatch() throws {
        let learner = DistillTests.learner()
        var options = DistillTests.options
        options.jointRefitSweeps = 0
        let plain = learner.distill(version: 1, options: options)
        options.indexClusters = 8
        let indexed = learner.distill(version: 2, options: options)
        #expect(indexed.patch(from: plain) == nil)
        #expect(plain.patch(from: indexed) == nil)
    }
}
