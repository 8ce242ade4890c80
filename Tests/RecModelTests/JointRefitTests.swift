@testable import RecModel
import Testing

@Suite("Joint refit")
struct JointRefitTests {
    /// One pass over the data: the online model is far from converged, as it is on a stream.
    /// With `lastUsers`, the events of users below it come last.
    static func learner(sourceRing: Int = 1_000_000, lastUsers: Int = 0) -> Learner {
        var configuration = SyntheticRatings.configuration()
        configuration.domains[1].isTarget = true
        configuration.recentSourceRatings = sourceRing
        var learner = Learner(configuration: configuration)
        let events = DistillTests.train.filter { $0.user >= lastUsers } + DistillTests.train.filter { $0.user < lastUsers }
        for event in events { learner.apply(SyntheticRatings.rating(event)) }
        return learner
    }

    static func options(sweeps: Int) -> DistillOptions {
        var options = DistillOptions()
        options.jointRefitSweeps = sweeps
        return options
    }

    @Test func lowersTheColdUsersErrorAndLeavesTheLearnerAlone() throws {
        let learner = Self.learner()
        let before = try learner.archived().sections
        func coldStartRMSE(_ model: ServingModel) -> Double {
            DistillTests.rmse { event in
                let answer = model.predict(user: "u\(event.user)", item: "i\(event.item)", domain: 1)
                #expect(answer?.strategy == .transfer)
                return answer?.score ?? 3
            }
        }
        let online = coldStartRMSE(learner.distill(version: 1, options: Self.options(sweeps: 0)))
        let joint = coldStartRMSE(learner.distill(version: 2, options: Self.options(sweeps: 5)))
        #expect(joint < online * 0.9, "joint refit \(joint) vs online vectors \(online)")
        #expect(try learner.archived().sections == before, "the refit works on a copy")
    }

    /// Users whose older ratings have left the rings keep the vectors that saw them; users
    /// wholly in the rings are solved; every ring item is solved.
    @Test func solvesOnlyUsersWhoseEveryRatingIsInTheRings() throws {
        // The source ring holds the last 2 000 of 12 000 source ratings: users 0..<10 (300 of
        // them, rated last) wholly, the others in part.
        let learner = Self.learner(sourceRing: 2_000, lastUsers: 10)
        let refit = JointRefit(learner: learner, model: .refit, lambda: 0.1)
        #expect(refit.complete.filter { $0 }.count == 10 && refit.complete.contains(false))
        var teacher = learner
        var solved = refit
        solved.solve(sweeps: 2, options: Self.options(sweeps: 2))
        solved.write(into: &teacher)
        for (u, row) in refit.userRows.enumerated() {
            let k = learner.dimension
            let online = (0..<k).map { learner.userRecords.vector(Int(row))[$0] }
            let written = (0..<k).map { teacher.userRecords.vector(Int(row))[$0] }
            let total = (0...1).reduce(0.0) { $0 + learner.userRecords[Int(row), domain: $1, Learner.UserColumn.ratings] }
            let inRings = refit.ratings.filter { $0.user == Int32(u) }.count
            #expect(refit.complete[u] == (Double(inRings) == total))
            if refit.complete[u] { #expect(written != online) } else { #expect(written == online) }
        }
        let item = Int(refit.itemRows[0]), d = refit.itemDomain[0]
        #expect(teacher.domains[d].itemRecords.vector(item)[0] != learner.domains[d].itemRecords.vector(item)[0])
    }

    /// Items no complete user rated in the rings are solved once, not every sweep: their
    /// inputs do not move, so the result is the same bits as solving them in every sweep.
    @Test func itemsOfIncompleteUsersAloneAreSolvedOnceWithTheSameBits() throws {
        let learner = Self.learner(sourceRing: 2_000, lastUsers: 10)
        for model in JointRefit.Model.allCases {
            let problem = JointRefit(learner: learner, model: model, lambda: 0.1)
            let settled = problem.itemRows.indices.filter { i in !problem.ratings.contains { Int($0.item) == i && problem.complete[Int($0.user)] } }
            #expect(!settled.isEmpty && settled.count < problem.itemRows.count, "both kinds of items")
            var once = problem, every = problem
            once.solve(sweeps: 3, options: Self.options(sweeps: 3))
            every.solve(sweeps: 3, options: Self.options(sweeps: 3), resolveSettled: true)
            #expect(once.itemVectors.map(\.bitPattern) == every.itemVectors.map(\.bitPattern), "\(model)")
            #expect(once.itemBias.map(\.bitPattern) == every.itemBias.map(\.bitPattern), "\(model)")
            #expect(once.solvedVectors.map(\.bitPattern) == every.solvedVectors.map(\.bitPattern), "\(model)")
            #expect(once.itemVectors != problem.itemVectors, "the items were solved")
        }
    }

    /// The lists rank with the online vectors, which the ranking head's items were learned
    /// against: a user who rated in the domain gets the same list with or without the refit.
    @Test func listsOfUsersWhoRatedInTheDomainDoNotChange() throws {
        let learner = Self.learner()
        let off = learner.distill(version: 1, options: Self.options(sweeps: 0))
        let on = learner.distill(version: 2, options: Self.options(sweeps: 5))
        for user in [0, 17, 150] {
            let a = off.recommend(user: "u\(user)", domain: 1, k: 10, excludeSeen: true)
            let b = on.recommend(user: "u\(user)", domain: 1, k: 10, excludeSeen: true)
            #expect(a.strategy == .personal && b.strategy == .personal)
            #expect(a.items.map(\.item) == b.items.map(\.item))
        }
        let personal = try #require(on.predict(user: "u0", item: "i1", domain: 1))
        let before = try #require(off.predict(user: "u0", item: "i1", domain: 1))
        #expect(personal.score != before.score, "predictions do use the refit")
    }

    /// The dual (fewer rows than features) and the primal give the ridge solution: checked
    /// against the normal equations, with a different penalty on each feature.
    @Test func ridgeSolverAgreesWithTheNormalEquations() throws {
        var generator = SplitMix64(seed: 3)
        let penalties = [0.5, 2, 0.1, 1, 3]
        for rows in [2, 4, 5, 9] {
            var solver = RidgeSolver(width: 5)
            var gram = SmallMatrix(rows: 5, columns: 5), right = SmallMatrix(rows: 5, columns: 1)
            for _ in 0..<rows {
                let x = (0..<5).map { _ in Double(generator.nextSignedUnitFloat()) }
                let y = Double(generator.nextSignedUnitFloat())
                solver.addRow(target: y) { for j in 0..<5 { $0[j] = x[j] } }
                x.withUnsafeBufferPointer { gram.addOuter($0.baseAddress!) }
                for j in 0..<5 { right[j, 0] += x[j] * y }
            }
            for j in 0..<5 { gram[j, j] += penalties[j] }
            let expected = try #require(gram.solveSymmetric(right)).values
            let solution = solver.solve(penalties: penalties)
            let solved = try #require(solution)
            for j in 0..<5 { #expect(abs(solved[j] - expected[j]) < 1e-9, "\(rows) rows, weight \(j)") }
        }
        var empty = RidgeSolver(width: 3)
        #expect(empty.solve(penalties: [1, 1, 1]) == nil, "no rows, no solution")
    }

    /// The normal equations' kernel (AVX2 and baseline) gives the bits of the plain sum, one
    /// row at a time over the upper triangle, mirrored: replays do not depend on the CPU.
    @Test func normalEquationsHaveTheBitsOfOneRowAtATime() {
        var generator = SplitMix64(seed: 11)
        for width in [1, 3, 5, 33, 34] {
            for rows in [0, 1, 3, 4, 7, 9, 40] {
                // Full 53-bit values (products of floats would add up exactly, in any order),
                // some exactly 0 (the one-hot bias columns of the refit).
                func value() -> Double { (Double(generator.next() >> 11) / 0x1p53 - 0.5) * 3 }
                let features = (0..<rows * width).map { index -> Double in index % 7 == 3 ? 0 : value() }
                let targets = (0..<rows).map { _ in value() * 4 }
                var gram = [Double](repeating: 0, count: width * width), right = [Double](repeating: 0, count: width)
                for row in 0..<rows {
                    for i in 0..<width where features[row * width + i] != 0 {
                        let left = features[row * width + i]
                        for j in i..<width { gram[i * width + j] += left * features[row * width + j] }
                        right[i] += left * targets[row]
                    }
                }
                for i in 0..<width { for j in 0..<i { gram[i * width + j] = gram[j * width + i] } }
                for allowAVX2 in [true, false] {
                    var g = [Double](repeating: 0, count: width * width), r = [Double](repeating: 0, count: width)
                    RidgeSolver.accumulateNormalEquations(features, targets, width: width, into: &g, &r, allowAVX2: allowAVX2)
                    #expect(g.map(\.bitPattern) == gram.map(\.bitPattern), "Gram, width \(width), \(rows) rows, AVX2 \(allowAVX2)")
                    #expect(r.map(\.bitPattern) == right.map(\.bitPattern), "Xᵀy, width \(width), \(rows) rows, AVX2 \(allowAVX2)")
                }
            }
        }
    }
}

@Suite("Cold-start method choice")
struct TransferChoiceTests {
    /// Sums over users go by ascending row, not in a Dictionary's order (seeded per process,
    /// and different for the same entries at another capacity): the same errors give the same
    /// bits however they were collected.
    @Test func errorsAreSummedInRowOrder() {
        var generator = SplitMix64(seed: 5)
        let entries = (0..<500).map { row in (Int32(row * 7 % 1_000), (squared: Double(generator.nextSignedUnitFloat()) / 3 + 1, count: 1)) }
        var small: Learner.UserErrors = [:], large: Learner.UserErrors = [:]
        large.reserveCapacity(100_000)
        for (row, error) in entries { small[row] = error }
        for (row, error) in entries.reversed() { large[row] = error }
        #expect(Array(small.keys) != Array(large.keys), "the two dictionaries iterate differently")
        let a = Learner.inRowOrder(small), b = Learner.inRowOrder(large)
        #expect(a.map(\.row) == entries.map(\.0).sorted())
        #expect(a.map(\.row) == b.map(\.row) && a.map(\.squared.bitPattern) == b.map(\.squared.bitPattern))
    }

    /// Per-user squared errors of one rating each: `shared` errs by `base`, the other two by
    /// `base` minus a gain that alternates in sign around its mean.
    static func errors(users: Int, gain: Double, spread: Double) -> [String: Learner.UserErrors] {
        var result: [String: Learner.UserErrors] = [:]
        for user in 0..<users {
            let row = Int32(user), base = 1.0
            let noise = user % 2 == 0 ? spread : -spread
            result["shared", default: [:]][row] = (base, 1)
            result["shared+bias", default: [:]][row] = (base - gain + noise, 1)
            result["bridge", default: [:]][row] = (base - 2 * gain + noise, 1)
        }
        return result
    }

    static func rmse(_ errors: Learner.UserErrors) -> Double {
        (errors.values.reduce(0) { $0 + $1.squared } / Double(errors.count)).squareRoot()
    }

    @Test func theSimplerMethodStaysUnlessAMoreComplexOneWinsByMoreThanItsStandardError() {
        // 100 users, per-user differences ±0.5 around the gain: standard error 0.05.
        let noisy = Self.errors(users: 100, gain: 0.01, spread: 0.5)
        let noisyRMSE = noisy.mapValues(Self.rmse)
        #expect(noisyRMSE["bridge"]! < noisyRMSE["shared"]!, "the lowest error alone would take the bridge")
        #expect(Learner.robustChoice(errors: noisyRMSE, perUser: noisy) == "shared")
        let clear = Self.errors(users: 100, gain: 0.2, spread: 0.5)
        #expect(Learner.robustChoice(errors: clear.mapValues(Self.rmse), perUser: clear) == "bridge")
        // A method that could not be judged (NaN) is never chosen.
        var unjudged = clear.mapValues(Self.rmse)
        unjudged["bridge"] = .nan
        #expect(Learner.robustChoice(errors: unjudged, perUser: clear) == "shared+bias")
        // Another order: its first candidate is the one that stays.
        #expect(Learner.robustChoice(errors: noisyRMSE, perUser: noisy, order: ["bridge", "shared"]) == "bridge")
    }
}
