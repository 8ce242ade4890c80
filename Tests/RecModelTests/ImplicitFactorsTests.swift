@testable import RecModel
import Testing

@Suite("PureSVD factors of the seen lists")
struct ImplicitFactorsTests {
    /// Users of three groups, each rating mostly its own block of items: XᵀX has three large
    /// eigenvalues, and the randomized finder must find the same ones as a dense solve.
    static func interactions(users: Int = 300, items: Int = 60) -> ImplicitFactors.Interactions {
        var x = ImplicitFactors.Interactions()
        var generator = SplitMix64(seed: 3)
        for user in 0..<users {
            let block = user % 3
            var rows = Set<Int32>()
            for _ in 0..<8 { rows.insert(Int32(block * 20 + Int(generator.next() % 20))) }
            rows.insert(Int32(generator.next() % UInt64(items)))  // noise
            x.append(user: Int32(user), items: rows.sorted())
        }
        return x
    }

    @Test func eigenvaluesMatchADenseSolveAndUserVectorsAreXTimesV() throws {
        let x = Self.interactions()
        let factors = try #require(ImplicitFactors(x, itemCount: 60, rank: 3, seed: 1))
        var gram = SmallMatrix(rows: 60, columns: 60)
        for u in 0..<x.userCount {
            var row = [Double](repeating: 0, count: 60)
            for item in x.row(u) { row[Int(item)] = 1 }
            row.withUnsafeBufferPointer { gram.addOuter($0.baseAddress!) }
        }
        let exact = gram.symmetricEigen().values
        for j in 0..<3 { #expect(abs(factors.values[j] - exact[j]) / exact[j] < 1e-5, "\(factors.values) vs \(exact.prefix(3))") }
        // V's columns are orthonormal.
        for a in 0..<3 {
            for b in 0..<3 {
                let dot = (0..<60).reduce(0.0) { $0 + factors.items[$1 * 3 + a] * factors.items[$1 * 3 + b] }
                #expect(abs(dot - (a == b ? 1 : 0)) < 1e-6)
            }
        }
        let user = factors.userVector(x.row(0))
        for j in 0..<3 {
            let expected = x.row(0).reduce(0.0) { $0 + factors.items[Int($1) * 3 + j] }
            #expect(abs(user[j] - expected) < 1e-12)
        }
        // The same input gives the same bits (replays stay identical).
        #expect(ImplicitFactors(x, itemCount: 60, rank: 3, seed: 1)?.items == factors.items)
    }

    @Test func aSampleOfUsersIsEvenlySpacedAndKeepsTheirLists() {
        let x = Self.interactions()
        let sampled = x.sample(100)
        #expect(sampled.userCount == 100 && sampled.users.first == 0 && sampled.users[1] == 3 && sampled.users.last == 297)
        #expect(sampled.row(1) == x.row(3))
        #expect(x.sample(1_000).users == x.users, "fewer users than the sample: all of them")
    }

    @Test func tooLittleDataGivesNone() {
        #expect(ImplicitFactors(ImplicitFactors.Interactions(), itemCount: 60, rank: 3, seed: 1) == nil)
        #expect(ImplicitFactors(Self.interactions(), itemCount: 10, rank: 3, seed: 1) == nil, "fewer items than rank + oversampling")
    }
}

@Suite("The implicit part of the ranking, across domains")
struct ImplicitRankingTests {
    /// Three taste groups: users of group g rate source items 0..<20 of block g and target
    /// items of block g. Users 0..<150 rate in both domains; users 150..<180 only in the source.
    static func learner() -> Learner {
        var configuration = LearnerConfiguration(domains: [
            DomainSpec(name: "source", ratingRange: 1...5), DomainSpec(name: "target", ratingRange: 1...5, isTarget: true),
        ])
        configuration.dimension = 8
        var learner = Learner(configuration: configuration)
        var generator = SplitMix64(seed: 5)
        for user in 0..<180 {
            let group = user % 3
            for domain in (user < 150 ? [0, 1] : [0]) {
                for _ in 0..<6 {
                    let item = group * 20 + Int(generator.next() % 20)
                    learner.apply(Rating(domain: domain, user: "u\(user)", item: "\(domain)-\(item)", value: 4, timestampMillis: 1_000))
                }
            }
        }
        return learner
    }

    @Test func aColdUserScoresTheTargetItemsOfTheirSourceTasteFirst() throws {
        let learner = Self.learner()
        let options = DistillOptions()
        let joint = try #require(learner.jointImplicitFactors(options: options))
        let target = 1
        let items = (0..<learner.domains[target].items.rowLimit).filter { learner.domains[target].items.isLive(Int32($0)) }
        let implicit = try #require(learner.implicitRanking(joint, domain: target, options: options, users: Array(0..<150), items: items, online: learner.userRecords))
        for user in 150..<180 {
            let row = try #require(learner.users.find("u\(user)", hash: StableHash.hash("u\(user)")))
            #expect(joint.hasPart[Int(row)], "a source-only user has an implicit vector")
            let scored = items.map { item -> (Double, Int) in
                let key = learner.domains[target].items.key(of: Int32(item))!
                let block = Int(key.dropFirst(2))! / 20
                return (implicit.score(user: Int(row), item: item), block)
            }
            let top = scored.sorted { $0.0 > $1.0 }.prefix(10)
            // A third of the target's items are the user's taste: without the transfer, a third of the list.
            #expect(top.filter { $0.1 == user % 3 }.count >= 8, "user \(user): \(top.map(\.1))")
        }
        // Off: no factors.
        var off = options
        off.rankingImplicitRank = 0
        #expect(learner.jointImplicitFactors(options: off) == nil)
    }
}
