import RecModel
import Testing

@Suite("Distillation")
struct DistillTests {
    /// Users 0..<200 rate in both domains; users 200..<400 only in domain 0, and their
    /// domain-1 ratings are held out. Domain 1 is the target.
    static let data = SyntheticRatings(users: 400, itemsPerDomain: 100, noise: 0.2)
    static let train = data.events(perUser: 30, domains: [0]) + data.events(perUser: 30, domains: [1]) { $0 < 200 }
    static let heldOut = data.events(perUser: 30, domains: [1]) { $0 >= 200 }

    static func learner(domains: [Int] = [0, 1], dimension: Int = 8) -> Learner {
        var configuration = SyntheticRatings.configuration()
        configuration.dimension = dimension
        configuration.domains[1].isTarget = true
        var learner = Learner(configuration: configuration)
        for _ in 0..<4 { for event in train where domains.contains(event.domain) { learner.apply(SyntheticRatings.rating(event)) } }
        return learner
    }

    /// Daemon defaults but the joint models judged on one held-out slice (about 40 users here,
    /// rather than slice after slice until 100): what these tests check does not depend on it,
    /// JointChoiceTests checks the judging, and debug builds pay two trials a slice.
    static var options: DistillOptions {
        var options = DistillOptions()
        options.jointRefitJudgedUsers = 1
        return options
    }

    static func rmse(_ predict: (SyntheticRatings.Event) -> Double) -> Double {
        let squared = heldOut.reduce(0.0) { sum, event in
            let error = predict(event) - event.value
            return sum + error * error
        }
        return (squared / Double(heldOut.count)).squareRoot()
    }

    @Test func coldStartTransferBeatsPopularityAndTargetOnly() throws {
        let model = Self.learner().distill(version: 1, options: Self.options)
        let transfer = Self.rmse { event in
            let answer = model.predict(user: "u\(event.user)", item: "i\(event.item)", domain: 1)
            #expect(answer?.strategy == .transfer)
            return answer?.score ?? 3
        }
        // Popularity: what an unknown user gets (domain mean and item bias).
        let popular = Self.rmse { model.predict(user: "nobody", item: "i\($0.item)", domain: 1)?.score ?? 3 }
        // Target only: a model that never saw domain 0 (TGT), so these users are unknown to it.
        let targetOnlyModel = Self.learner(domains: [1]).distill(version: 1, options: Self.options)
        let targetOnly = Self.rmse { targetOnlyModel.predict(user: "u\($0.user)", item: "i\($0.item)", domain: 1)?.score ?? 3 }
        #expect(transfer < popular * 0.8, "transfer \(transfer) vs popularity \(popular)")
        #expect(transfer < targetOnly * 0.8, "transfer \(transfer) vs target-only \(targetOnly)")
        let choice = try #require(model.domains[1].transfer)
        #expect(choice.trainingUsers == 200, "fitted on the overlapping users only")
        #expect(choice.validationUsers == 200, "with few users, every slice is held out once")
        #expect(model.domains[0].transfer == nil, "only target domains get a transfer map")
    }

    @Test func aColdUsersDeviationShrinksByTheirRatingsElsewhere() throws {
        let learner = Self.learner()
        // Without the refits (the shrinkage applies after them): two builds cost a debug run less.
        var plain = Self.options
        plain.jointRefitSweeps = 0
        plain.refitSweeps = 0
        plain.coldShrinkage = 0
        var shrunk = plain
        shrunk.coldShrinkage = 120  // the cold users rated 4 × 30 times in domain 0: n / (n + c) = 1/2
        let full = learner.distill(version: 1, options: plain), half = learner.distill(version: 1, options: shrunk)
        let range = 1.0...5.0
        var compared = 0
        for event in Self.heldOut.prefix(400) {
            let (user, item) = ("u\(event.user)", "i\(event.item)")
            // An unknown user's prediction: the item's baseline, the same in both versions.
            let baseline = try #require(full.predict(user: "nobody", item: item, domain: 1)).score
            #expect(half.predict(user: "nobody", item: item, domain: 1)?.score == baseline)
            let unshrunk = try #require(full.predict(user: user, item: item, domain: 1)).score
            let shrunkScore = try #require(half.predict(user: user, item: item, domain: 1)).score
            // Clamped scores say nothing about the deviation.
            guard ![baseline, unshrunk, shrunkScore].contains(where: { $0 <= range.lowerBound || $0 >= range.upperBound }) else { continue }
            #expect(abs((shrunkScore - baseline) - (unshrunk - baseline) / 2) < 1e-4, "\(user) \(item)")
            compared += 1
        }
        #expect(compared > 200)
        // Users with ratings in the target are served as learned.
        for user in 0..<20 {
            #expect(full.predict(user: "u\(user)", item: "i3", domain: 1)?.score == half.predict(user: "u\(user)", item: "i3", domain: 1)?.score)
        }
    }

    @Test func studentStaysWithinTheFidelityBound() {
        let learner = Self.learner(dimension: 16)
        let options = Self.options
        var small = options
        small.dimension = 8
        let model = learner.distill(version: 1, options: small)
        for domain in model.domains {
            #expect(domain.fidelity.scoreRMSE <= options.maxScoreRMSE, "\(domain.name): \(domain.fidelity)")
            #expect(domain.fidelity.top10Overlap >= 0.6, "\(domain.name): \(domain.fidelity)")
            #expect(domain.fidelity.studentBytes < domain.fidelity.teacherBytes)
        }
        #expect(model.dimension == 8 && model.teacherDimension == 16)
    }

    /// With k' = d the projection is exact, so the int8 student ranks like the float teacher
    /// (the ranking head alone: the implicit part adds dimensions the student cannot all keep).
    @Test func fullRankStudentTopTenAgreesWithTheTeacher() {
        let learner = Self.learner()
        var options = Self.options
        options.dimension = 8
        options.rankingImplicitRank = 0
        let model = learner.distill(version: 1, options: options)
        var overlap = 0.0
        for user in 0..<100 {
            let student = Set(model.recommend(user: "u\(user)", domain: 0, k: 10, excludeSeen: false).items.map(\.item))
            let teacher = Set(learner.recommend(user: "u\(user)", domain: 0, k: 10, excludeSeen: false).items.map(\.item))
            overlap += Double(student.intersection(teacher).count) / 10
        }
        #expect(overlap / 100 >= 0.9)
        #expect(model.domains[0].fidelity.retainedEnergy > 0.999)
    }

    /// The top-k scan skips items below the worst kept score: the k best must be exactly the
    /// first k of the full ranking (where nothing is skipped), ties included.
    @Test func topKScanKeepsExactlyTheBestOfTheFullRanking() {
        let model = Self.learner().distill(version: 1, options: Self.options)
        for user in 0..<50 {
            for domain in 0..<2 {
                let all = model.recommend(user: "u\(user)", domain: domain, k: 10_000, excludeSeen: true).items
                for k in [1, 3, 10] {
                    #expect(model.recommend(user: "u\(user)", domain: domain, k: k, excludeSeen: true).items == Array(all.prefix(k)))
                }
            }
        }
    }

    /// The same over 3 000 items: the scan runs over several runs of 1 024 rows, with the
    /// floor reached in one run filtering the next.
    @Test func topKScanIsExactAcrossRunsOfRows() {
        let data = SyntheticRatings(users: 300, itemsPerDomain: 3_000, noise: 0.2)
        let events = data.events(perUser: 60, domains: [0])
        var learner = Learner(configuration: SyntheticRatings.configuration(domains: 1))
        for event in events { learner.apply(SyntheticRatings.rating(event)) }
        let model = learner.distill(version: 1, options: Self.options)
        let items = learner.statistics(domain: 0).items
        #expect(items > 2_048)
        for user in 0..<30 {
            let all = model.recommend(user: "u\(user)", domain: 0, k: 10_000, excludeSeen: true).items
            #expect(all.count == items - Set(events.filter { $0.user == user }.map(\.item)).count)
            for k in [1, 10, 100] {
                #expect(model.recommend(user: "u\(user)", domain: 0, k: k, excludeSeen: true).items == Array(all.prefix(k)))
            }
        }
    }

    @Test func recommendExcludesSeenItemsAndSaysHow() {
        let learner = Self.learner()
        let model = learner.distill(version: 1, options: Self.options)
        let personal = model.recommend(user: "u1", domain: 1, k: 100, excludeSeen: true)
        #expect(personal.strategy == .personal)
        #expect(!personal.items.contains { learner.hasSeen(user: "u1", item: $0.item, domain: 1) })
        #expect(personal.items.count == 100 - Set(Self.train.filter { $0.user == 1 && $0.domain == 1 }.map(\.item)).count)
        let scores = personal.items.map(\.score)
        #expect(scores == scores.sorted(by: >))
        #expect(model.recommend(user: "u300", domain: 1, k: 5, excludeSeen: true).strategy == .transfer)
        let popular = model.recommend(user: "stranger", domain: 1, k: 5, excludeSeen: true)
        #expect(popular.strategy == .popular)
        #expect(popular.items.map(\.item) == model.popular(domain: 1, k: 5).map(\.item))
        #expect(model.similar(item: "i3", domain: 0, k: 5)?.count == 5)
        #expect(model.similar(item: "nope", domain: 0, k: 5) == nil)
    }

    @Test func forgetRemovesTheUserFromTheNextVersionAndTheTransferFit() throws {
        var learner = Self.learner()
        let before = learner.distill(version: 1, options: Self.options)
        #expect(before.strategy(user: "u5", domain: 1) == .personal)
        let derived = before.removing(user: "u5", version: 2)
        #expect(derived.strategy(user: "u5", domain: 1) == .popular, "the derived version forgets at once")
        #expect(before.strategy(user: "u5", domain: 1) == .personal, "a published version never changes")
        learner.forget(user: "u5")
        let after = learner.distill(version: 3, options: Self.options)
        #expect(after.strategy(user: "u5", domain: 0) == .popular)
        let fitted = try #require(before.domains[1].transfer), refitted = try #require(after.domains[1].transfer)
        #expect(refitted.trainingUsers == fitted.trainingUsers - 1)
        #expect(refitted.validationUsers == fitted.validationUsers - 1)
    }

    @Test func anEmptyLearnerDistillsToAModelThatServesNothing() {
        let model = Learner(configuration: SyntheticRatings.configuration()).distill(version: 1, options: Self.options)
        #expect(model.recommend(user: "u", domain: 0, k: 10, excludeSeen: true).items.isEmpty)
        #expect(model.popular(domain: 1, k: 10).isEmpty)
        #expect(model.predict(user: "u", item: "i", domain: 0) == nil)
    }
}
