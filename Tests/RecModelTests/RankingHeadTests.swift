@testable import RecModel
import Testing

@Suite("Ranking head and seen items")
struct RankingHeadTests {
    /// Users choose the popular items (rated 3) far more often than a few niche ones (rated 5
    /// by a handful): squared loss ranks the niche items first, the ranking head what is chosen.
    static func chosenVersusPraised(negatives: Int) -> (learner: Learner, popular: Set<String>, niche: Set<String>) {
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "movies", ratingRange: 1...5)])
        configuration.dimension = 8
        configuration.ranking.negatives = negatives
        var learner = Learner(configuration: configuration)
        let popular = Set((0..<30).map { "popular-\($0)" })
        let niche = Set((0..<20).map { "niche-\($0)" })
        var generator = SplitMix64(seed: 5)
        // Each user chooses 5 of the 30 popular items (about 50 ratings each, and 25 a user has
        // not chosen yet); each niche item gets its three fans' fives at random times.
        var events: [(user: String, item: String, value: Double)] = []
        for _ in 0..<5 {
            for user in 0..<300 { events.append(("u\(user)", "popular-\(generator.next() % 30)", 3)) }
        }
        for item in niche.sorted() {
            for fan in 0..<3 { events.append(("fan\(fan)-\(item)", item, 5)) }
        }
        events.shuffle(using: &generator)
        for (time, event) in events.enumerated() {
            learner.apply(Rating(domain: 0, user: event.user, item: event.item, value: event.value, timestampMillis: Int64(time)))
        }
        return (learner, popular, niche)
    }

    @Test func listsRankWhatUsersChooseWithTheHeadAndWhatTheyPraiseWithout() {
        for negatives in [8, 0] {
            let (learner, popular, niche) = Self.chosenVersusPraised(negatives: negatives)
            let served = learner.distill(version: 1)
            // A user who chose a few popular items: the rest of the popular ones are what she
            // will choose next.
            for list in [
                learner.recommend(user: "u7", domain: 0, k: 10, excludeSeen: true).items.map(\.item),
                served.recommend(user: "u7", domain: 0, k: 10, excludeSeen: true).items.map(\.item),
            ] {
                let chosen = list.filter(popular.contains).count
                let praised = list.filter(niche.contains).count
                if negatives > 0 {
                    #expect(chosen > praised, "with the head: \(list)")
                } else {
                    #expect(praised > chosen, "without the head: \(list)")
                }
            }
        }
    }

    /// Negatives are drawn from the whole domain: after many events on one item, every other
    /// item has been a negative and its ranking bias went down.
    @Test func negativesAreDrawnAcrossTheWholeCatalog() {
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "movies", ratingRange: 1...5)])
        configuration.dimension = 8
        var learner = Learner(configuration: configuration)
        for index in 0..<100 { learner.apply(Rating(domain: 0, user: "maker", item: "i\(index)", value: 3, timestampMillis: 0)) }
        let before = (0..<100).map { learner.rankingBias(item: "i\($0)", domain: 0)! }
        for index in 0..<3_000 { learner.apply(Rating(domain: 0, user: "u\(index % 300)", item: "i0", value: 4, timestampMillis: 1)) }
        let lowered = (1..<100).filter { learner.rankingBias(item: "i\($0)", domain: 0)! < before[$0] }
        #expect(lowered.count == 99, "items never drawn as negatives: \(99 - lowered.count)")
        #expect(learner.rankingBias(item: "i0", domain: 0)! > before[0])
    }

    @Test func servedListsKeepTheTeachersRanking() {
        let (learner, _, _) = Self.chosenVersusPraised(negatives: 8)
        let fidelity = learner.distill(version: 1).domains[0].fidelity
        #expect(fidelity.sampledUsers > 0)
        #expect(fidelity.top10Overlap >= 0.8, "top-10 overlap with the teacher's ranking: \(fidelity.top10Overlap)")
    }

    @Test func aUserWhoRatedFiveThousandItemsIsNeverShownOneOfThem() {
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "movies", ratingRange: 1...5)])
        configuration.dimension = 8
        var learner = Learner(configuration: configuration)
        var generator = SplitMix64(seed: 9)
        var rated: Set<String> = []
        // 6 000 items; the heavy user rates 5 000 of them, the others make every item known.
        for index in 0..<6_000 {
            let item = "item-\(index)"
            learner.apply(Rating(domain: 0, user: "light-\(index % 50)", item: item, value: 3, timestampMillis: Int64(index)))
            if index < 5_000 {
                rated.insert(item)
                learner.apply(
                    Rating(domain: 0, user: "heavy", item: item, value: Double(1 + generator.next() % 5), timestampMillis: Int64(index)))
            }
        }
        let served = learner.distill(version: 1)
        let teacherList = learner.recommend(user: "heavy", domain: 0, k: 1_000, excludeSeen: true).items.map(\.item)
        let servedList = served.recommend(user: "heavy", domain: 0, k: 1_000, excludeSeen: true).items.map(\.item)
        #expect(teacherList.count == 1_000)
        #expect(servedList.count == 1_000)
        #expect(teacherList.filter(rated.contains).isEmpty)
        #expect(servedList.filter(rated.contains).isEmpty)
        #expect(learner.hasSeen(user: "heavy", item: "item-0", domain: 0), "the oldest rating is still remembered")
    }

    @Test func aRestoredLearnerDrawsTheSameNegativesAndEndsBitIdentical() throws {
        let data = SyntheticRatings(users: 60, itemsPerDomain: 40)
        let events = data.events(perUser: 10)
        let configuration = SyntheticRatings.configuration()
        #expect(configuration.ranking.isEnabled)
        var uninterrupted = Learner(configuration: configuration)
        for (index, event) in events.enumerated() { uninterrupted.apply(SyntheticRatings.rating(event, time: Int64(index))) }
        var first = Learner(configuration: configuration)
        let half = events.count / 2
        for (index, event) in events[..<half].enumerated() { first.apply(SyntheticRatings.rating(event, time: Int64(index))) }
        var restored = try first.archived().withSections { try Learner(restoring: $0, configuration: configuration) }
        for (index, event) in events[half...].enumerated() {
            restored.apply(SyntheticRatings.rating(event, time: Int64(half + index)))
        }
        #expect(try restored.archived().sections == uninterrupted.archived().sections)
    }
}

@Suite("Ranking step kernel")
struct RankingStepKernelTests {
    /// The AVX2 copy and the baseline one give the same bits, at dimensions with and without a
    /// tail past the 8-lane blocks.
    @Test(arguments: [8, 13, 32, 67])
    func avx2AndBaselineAgreeBitForBit(dimension k: Int) {
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "d", ratingRange: 1...5)])
        configuration.ranking.userWeight = 0.5
        let rates = RankingHead.Rates(configuration)
        let count = 9
        let width = k + 2
        func run(portable: Bool) -> [Float] {
            var generator = SplitMix64(seed: UInt64(k))
            let user = UnsafeMutablePointer<Float>.allocate(capacity: k)
            let table = UnsafeMutablePointer<Float>.allocate(capacity: count * width)
            let rows = UnsafeMutablePointer<UnsafeMutablePointer<Float>?>.allocate(capacity: count)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { [user, table, scratch].forEach { $0.deallocate() }; rows.deallocate() }
            for j in 0..<k { user[j] = generator.nextSignedUnitFloat() }
            for c in 0..<count {
                rows[c] = table + c * width
                for j in 0...k { table[c * width + j] = generator.nextSignedUnitFloat() }
                table[c * width + k + 1] = 0.5
            }
            for _ in 0..<5 {
                RankingHead.step(user: user, rows: rows, count: count, dimension: k, rates: rates, scratch: scratch, portable: portable)
            }
            return Array(UnsafeBufferPointer(start: user, count: k)) + Array(UnsafeBufferPointer(start: table, count: count * width))
        }
        let fast = run(portable: false)
        let baseline = run(portable: true)
        #expect(fast.map(\.bitPattern) == baseline.map(\.bitPattern))
        #expect(fast.allSatisfy { $0.isFinite })
    }
}
