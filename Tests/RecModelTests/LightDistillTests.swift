@testable import RecModel
import Testing

/// Light versions (Learner+LightDistill.swift): a base version patched with the users seen
/// since its cut and every item, through the full version's basis. Rows nobody touched keep
/// their bytes; touched rows are what a full build with that basis computes.
@Suite("Light versions")
struct LightDistillTests {
    static let later: Int64 = 1_700_000_100_000

    /// No refit: a full build's rows are then projections of the learner's own parameters,
    /// which is what a light version computes too.
    static var withoutRefit: DistillOptions {
        var options = DistillTests.options
        options.refitSweeps = 0
        options.jointRefitSweeps = 0
        return options
    }

    /// Every synthetic event has one timestamp, so at the base's cut every user counts as
    /// seen: the light version recomputes every row, and must land on the full build's bits.
    @Test func withNothingNewALightVersionHoldsItsBasesRows() throws {
        let learner = DistillTests.learner()
        let base = learner.distill(version: 1, options: Self.withoutRefit)
        let light = try learner.distillLight(version: 2, base: base, options: Self.withoutRefit).get()
        #expect(light.version == 2 && light.basisVersion == 1 && base.basisVersion == 1)
        let live = (0..<learner.users.rowLimit).filter { learner.users.isLive(Int32($0)) }
        #expect(learner.usersChanged(since: base).live == live, "every user was seen at the cut")
        for d in base.domains.indices {
            let (old, new) = (base.domains[d], light.domains[d])
            #expect(new.userRows == old.userRows && new.userBias == old.userBias, "domain \(d) user rows")
            #expect(new.itemRows.values == old.itemRows.values && new.itemRows.scales == old.itemRows.scales, "domain \(d) item rows")
            #expect(new.itemBias == old.itemBias && new.itemNorms == old.itemNorms)
            #expect(new.lists.isRanking && old.lists.isRanking, "the default learner has a ranking head")
            #expect(new.lists.userRows == old.lists.userRows, "domain \(d) ranking user rows")
            #expect(new.lists.itemRows.values == old.lists.itemRows.values && new.lists.itemBias == old.lists.itemBias)
        }
        for user in ["u0", "u17", "u299"] {
            for d in 0..<2 {
                let (a, b) = (base.recommend(user: user, domain: d, k: 10, excludeSeen: true), light.recommend(user: user, domain: d, k: 10, excludeSeen: true))
                #expect(a.items == b.items && a.strategy == b.strategy)
            }
        }
    }

    /// With the daemon's defaults (joint refit, target refit): users not seen since the cut
    /// keep every byte of their rows, the refitted item rows are kept, users seen since get
    /// new rows, and a user new since the cut is served personally without their rated items.
    @Test func untouchedRowsKeepTheirBytesAndNewUsersAreServed() throws {
        var learner = DistillTests.learner()
        // One event after the others: every other user was last seen before the cut.
        learner.apply(Rating(domain: 0, user: "clock", item: "i0", value: 3, timestampMillis: Self.later - 1))
        let base = learner.distill(version: 1, options: DistillTests.options)
        for user in 0..<10 {
            for item in 0..<5 { learner.apply(Rating(domain: user % 2, user: "u\(user)", item: "i\(item + 50)", value: 5, timestampMillis: Self.later)) }
        }
        for item in 0..<8 { learner.apply(Rating(domain: 0, user: "newcomer", item: "i\(item)", value: 4, timestampMillis: Self.later)) }
        let light = try learner.distillLight(version: 2, base: base, options: DistillTests.options).get()
        let changed = Set(learner.usersChanged(since: base).live)
        let newcomer = try #require(learner.users.find("newcomer", hash: StableHash.hash("newcomer")))
        let clock = try #require(learner.users.find("clock", hash: StableHash.hash("clock")))
        #expect(changed.count == 12 && changed.contains(Int(newcomer)) && changed.contains(Int(clock)), "10 raters, the newcomer, the cut's last user")
        let k = light.dimension
        for d in 0..<2 {
            let (old, new) = (base.domains[d], light.domains[d])
            #expect(new.userRows.count == learner.users.rowLimit * k)
            for row in 0..<base.users.rowLimit where base.users.isLive(Int32(row)) {
                let (a, b) = (old.userRows[row * k..<(row + 1) * k], new.userRows[row * k..<(row + 1) * k])
                if changed.contains(row) {
                    #expect(a != b, "user row \(row) of domain \(d) was seen: recomputed")
                } else {
                    #expect(a == b && old.userBias[row] == new.userBias[row], "user row \(row) of domain \(d) kept")
                    #expect(old.lists.userRows[row * k..<(row + 1) * k] == new.lists.userRows[row * k..<(row + 1) * k])
                }
            }
            // Refitted items are kept; the items new since the cut are projected.
            for row in 0..<old.itemRows.count where old.liveItems.contains(row) {
                #expect(new.itemRows.row(row) == old.itemRows.row(row) && new.itemBias[row] == old.itemBias[row])
            }
        }
        let served = light.recommend(user: "newcomer", domain: 0, k: 20, excludeSeen: true)
        #expect(served.strategy == .personal && served.items.count == 20)
        #expect(served.items.allSatisfy { !(0..<8).map { "i\($0)" }.contains($0.item) }, "rated items are not recommended")
        #expect(base.recommend(user: "newcomer", domain: 0, k: 20, excludeSeen: true).strategy == .popular)
        #expect(light.recommend(user: "newcomer", domain: 1, k: 5, excludeSeen: true).strategy == .transfer)
        let newItem = try #require(light.predict(user: "u0", item: "i50", domain: 0))
        #expect(newItem.strategy == .personal && newItem.score >= 1 && newItem.score <= 5)
    }

    @Test func aForgottenUserLeavesTheLightVersion() throws {
        var learner = DistillTests.learner()
        let base = learner.distill(version: 1, options: DistillTests.options)
        let row = Int(try #require(learner.users.find("u5", hash: StableHash.hash("u5"))))
        let forgotten = learner.forget(user: "u5")
        #expect(forgotten)
        let light = try learner.distillLight(version: 2, base: base, options: DistillTests.options).get()
        #expect(learner.usersChanged(since: base).freed == [row])
        #expect(light.recommend(user: "u5", domain: 0, k: 5, excludeSeen: true).strategy == .popular)
        let k = light.dimension
        for d in 0..<2 { #expect(light.domains[d].userRows[row * k..<(row + 1) * k].allSatisfy { $0 == 0 }) }
    }

    @Test func aReplicasModelNeedsAFullBuildAndNewItemsJoinTheIndex() throws {
        var learner = DistillTests.learner()
        var options = DistillTests.options
        options.indexClusters = 8
        options.indexProbe = 8
        let base = learner.distill(version: 1, options: options)
        let decoded = try ServingModel.decoded(base.encoded())
        #expect(throws: LightRefusal.noBasis, "no basis on a replica") { try learner.distillLight(version: 2, base: decoded, options: options).get() }
        let other = DistillTests.learner(dimension: 4)
        #expect(throws: LightRefusal.otherShape, "another learner's model") { try other.distillLight(version: 2, base: base, options: options).get() }

        learner.apply(Rating(domain: 0, user: "u1", item: "i3", value: 2, timestampMillis: Self.later))
        let light = try learner.distillLight(version: 2, base: base, options: options).get()
        // Probing every cluster gives the exact scan's answer: the index holds the light rows.
        func expectIndexServesEveryItem(_ model: ServingModel, _ note: Comment) throws {
            for user in ["u1", "u2", "u40"] {
                let row = Int(try #require(learner.users.find(user, hash: StableHash.hash(user))))
                for d in 0..<2 {
                    let indexed = model.topItems(userRow: row, domain: d, k: 1_000, excludeSeen: false, useIndex: true)
                    #expect(indexed == model.topItems(userRow: row, domain: d, k: 1_000, excludeSeen: false, useIndex: false), note)
                    #expect(indexed.count == (0..<model.domains[d].items.rowLimit).filter(model.domains[d].liveItems.contains).count, note)
                }
            }
        }
        try expectIndexServesEveryItem(light, "no new item")

        learner.apply(Rating(domain: 0, user: "u1", item: "brand-new", value: 4, timestampMillis: Self.later))
        let placed = try learner.distillLight(version: 3, base: light, options: options).get()
        let index = try #require(placed.domains[0].index)
        let row = try #require(placed.domains[0].items.find("brand-new", hash: StableHash.hash("brand-new")))
        let position = try #require(index.itemAt.firstIndex(of: row))
        #expect(index.hashAt[position] == StableHash.hash("brand-new") && index.offsets[position] == placed.domains[0].lists.itemBias[Int(row)])
        #expect(index.ranges.filter { $0.contains(position) }.count == 1, "in one cluster's range")
        #expect(light.domains[0].index?.itemAt[position] == -1, "it took a padding slot")
        try expectIndexServesEveryItem(placed, "one new item")
        // A row that holds another id now (an evicted item's, reused) leaves a hole where its
        // old item was, and is placed again.
        let moved = Int32(try #require(placed.domains[0].items.find("i3", hash: StableHash.hash("i3"))))
        let oldPosition = try #require(index.itemAt.firstIndex(of: moved))
        let lists = placed.domains[0].lists
        let again = try #require(index.updated(rows: lists.itemRows, bias: lists.itemBias, placing: [Int(moved)], hash: { _ in 42 }))
        #expect(again.itemAt[oldPosition] == -1 && again.offsets[oldPosition] == -.infinity && again.hashAt[oldPosition] == 0)
        let newPosition = try #require(again.itemAt.firstIndex(of: moved))
        #expect(again.itemAt.filter { $0 == moved }.count == 1 && again.hashAt[newPosition] == 42 && index.itemAt[newPosition] == -1)
        let patch = try #require(placed.patch(from: light))
        #expect(try ServingModel.decoded(light.encoded()).applying(patch: patch).encoded() == placed.encoded(), "a replica gets the placed item")

        // More new items than the padding of every cluster holds: the catalog is regrouped.
        for item in 0..<200 { learner.apply(Rating(domain: 0, user: "u2", item: "new-\(item)", value: 3, timestampMillis: Self.later)) }
        #expect(throws: LightRefusal.indexFull(domain: "d0"), "no room left: a full build") {
            try learner.distillLight(version: 4, base: placed, options: options).get()
        }
    }
}

extension LightDistillTests {
    /// With the joint refit, the users a light version recomputes are folded into the full
    /// build's solution: right after the full build (every user seen at the cut), the cold
    /// users' predictions stay near the full build's, nearer than their online vectors give.
    @Test func foldedUsersPredictLikeTheFullBuild() throws {
        let learner = DistillTests.learner()
        let base = learner.distill(version: 1, options: DistillTests.options)
        let light = try learner.distillLight(version: 2, base: base, options: DistillTests.options).get()
        let basis = try #require(base.basis)
        #expect(basis.joint != nil)
        // The same base without the joint basis: its light version serves online vectors.
        let withoutJoint = ServingModel(
            version: 1, appliedEvents: base.appliedEvents, clockMillis: base.clockMillis, dimension: base.dimension,
            teacherDimension: base.teacherDimension, domains: base.domains, buildNanos: 0, users: base.users,
            shareUserVectors: base.shareUserVectors, jointRefit: base.jointRefit,
            basis: ServingBasis(
                version: 1, studentDimension: basis.studentDimension, teacherDimension: basis.teacherDimension, domains: basis.domains,
                joint: nil))
        let unfolded = try learner.distillLight(version: 2, base: withoutJoint, options: DistillTests.options).get()
        func rmse(_ model: ServingModel) -> Double {
            DistillTests.rmse { event in model.predict(user: "u\(event.user)", item: "i\(event.item)", domain: 1)?.score ?? 3 }
        }
        let (full, folded, online) = (rmse(base), rmse(light), rmse(unfolded))
        #expect(abs(folded - full) < 0.002, "full \(full), folded \(folded)")
        #expect(abs(folded - full) < abs(online - full), "full \(full), folded \(folded), online \(online)")
    }
}
