@testable import RecModel
import Testing

@Suite("Source-only twins and the cold-start bridge")
struct TwinTests {
    /// Shared vector (or twin) of a user, as floats.
    static func vector(_ pointer: UnsafePointer<Float>, _ count: Int) -> [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    @Test func aTwinIsTheSharedVectorTheUserWouldHaveWithoutTargetRatings() throws {
        let source = DistillTests.train.filter { $0.domain == 0 && $0.user < 20 }
        let target = DistillTests.train.filter { $0.domain == 1 && $0.user < 20 }
        // Every user's target ratings arrive in the middle of their source ratings.
        let half = source.count / 2
        var full = DistillTests.learner(domains: [])
        var sourceOnly = full
        for event in source[..<half] { full.apply(SyntheticRatings.rating(event)) }
        for event in target { full.apply(SyntheticRatings.rating(event)) }
        for event in source[half...] { full.apply(SyntheticRatings.rating(event)) }
        for event in source { sourceOnly.apply(SyntheticRatings.rating(event)) }

        #expect(full.twinCount == Set(target.map(\.user)).count)
        #expect(sourceOnly.twinCount == 0, "no target rating, no twin")
        let k = full.dimension
        for user in Set(target.map(\.user)) {
            let row = try #require(full.users.find("u\(user)", hash: StableHash.hash("u\(user)")))
            let otherRow = try #require(sourceOnly.users.find("u\(user)", hash: StableHash.hash("u\(user)")))
            let twin = Self.vector(full.sourceVector(user: Int(row)), k)
            let shared = Self.vector(full.userRecords.vector(Int(row)), k)
            // Item vectors differ between the two learners (the target ratings moved nothing
            // in domain 0, but shared vectors did and items learned from them), so the twin
            // is close to, not equal to, the source-only learner's vector; it must be much
            // closer to it than the shared vector is.
            let reference = Self.vector(sourceOnly.userRecords.vector(Int(otherRow)), k)
            func distance(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() }
            #expect(twin != shared, "user \(user): the target ratings moved the shared vector only")
            #expect(distance(twin, reference) < distance(shared, reference), "user \(user)")
        }
        // A user without target ratings is their own twin.
        let loner = try #require(full.users.find("u19", hash: StableHash.hash("u19")))
        if !target.contains(where: { $0.user == 19 }) {
            #expect(Self.vector(full.sourceVector(user: Int(loner)), k) == Self.vector(full.userRecords.vector(Int(loner)), k))
        }
    }

    @Test func forgetAndEvictionDropTheTwin() throws {
        var learner = DistillTests.learner()
        let twins = learner.twinCount
        #expect(twins == 200, "the 200 users with target ratings")
        learner.forget(user: "u5")
        #expect(learner.twinCount == twins - 1)
        // The freed twin row is reused by the next user who rates in the target domain.
        learner.apply(Rating(domain: 1, user: "newcomer", item: "i1", value: 4, timestampMillis: 1_700_000_000_000))
        #expect(learner.twinCount == twins)
        #expect(learner.twins.rowLimit == twins)
        let archive = try learner.archived()
        let restored = try archive.withSections { try Learner(restoring: $0, configuration: learner.configuration) }
        #expect(restored.twinCount == twins)
        #expect(try restored.archived().sections == archive.sections)
    }

    @Test func theBridgeBeatsTheSharedVectorAndIsChosenOnHeldOutUsers() throws {
        let learner = DistillTests.learner()
        func coldStartRMSE(_ methods: [String]) -> (Double, TransferChoice) {
            var options = DistillOptions()
            options.transferMethods = methods
            let model = learner.distill(version: 1, options: options)
            let rmse = DistillTests.rmse { model.predict(user: "u\($0.user)", item: "i\($0.item)", domain: 1)?.score ?? 3 }
            return (rmse, model.domains[1].transfer!)
        }
        let (shared, _) = coldStartRMSE(["shared"])
        let (mapped, _) = coldStartRMSE(["shared+bias"])
        let (bridged, bridgeChoice) = coldStartRMSE(["bridge"])
        let (chosen, choice) = coldStartRMSE(DistillOptions.allTransferMethods)
        #expect(bridgeChoice.method == "bridge")
        #expect(bridged < min(shared, mapped) * 0.9, "bridge \(bridged), shared \(shared), shared+bias \(mapped)")
        // Every candidate is judged on held-out users' target ratings, and the best one is used.
        #expect(Set(choice.validationRMSE.keys) == Set(DistillOptions.allTransferMethods))
        #expect(choice.method == choice.validationRMSE.min { $0.value < $1.value }!.key)
        #expect(choice.method == "bridge" && chosen == bridged)
    }

    @Test func heldOutRatingsOfItemsNoOtherUserRatedAreNotJudged() throws {
        let learner = DistillTests.learner()
        let rows = (0..<learner.users.rowLimit).filter { learner.hasOtherRatings(user: $0, than: 1) }
        let data = BridgeData(learner: learner, target: 1, rows: rows).holdingOut { _ in true }
        let all = data.heldOutErrors { _, _ in 0 }
        let item = data.itemRows[0]
        let ratingsOfItem = data.itemOf.filter { $0 == 0 }.count
        let vector = [Double](repeating: 0, count: learner.dimension)
        let judged = data.replacingItems([item: JudgedItem(vector: vector, bias: 0, unrated: true)])
        let rest = judged.heldOutErrors { _, _ in 0 }
        #expect(ratingsOfItem > 0 && rest.count == all.count - ratingsOfItem)
        // A replaced item that others rated is judged with its new values.
        let moved = data.replacingItems([item: JudgedItem(vector: vector, bias: 1)])
        #expect(moved.heldOutErrors { _, _ in 0 }.count == all.count)
        #expect(moved.baseOf != data.baseOf)
    }
}
