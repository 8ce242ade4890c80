@testable import RecModel
import Testing

/// Which joint refit model a build serves: both are solved without the target ratings of a
/// held-out slice of users, who are then predicted as cold users.
@Suite("Joint refit model choice")
struct JointChoiceTests {
    static let learner = JointRefitTests.learner()

    /// Hiding moves exactly the target ratings of the named users who are solved and rated
    /// elsewhere; nothing else leaves the fit, and none of those ratings stays in it.
    @Test func hidingLeavesOutTheTargetRatingsOfTheHeldOutUsersOnly() throws {
        let learner = Self.learner
        let all = JointRefit(learner: learner, model: .cmf, lambda: 0.2)
        let held: (Int32) -> Bool = { $0 % 4 == 0 }
        let trial = JointRefit(learner: learner, model: .cmf, lambda: 0.2, hiding: held)
        #expect(!trial.hidden.isEmpty && trial.ratings.count + trial.hidden.count == all.ratings.count)
        let target = learner.configuration.domains.firstIndex { $0.isTarget }
        for rating in trial.hidden {
            #expect(held(trial.userRows[Int(rating.user)]) && trial.complete[Int(rating.user)])
            #expect(trial.itemDomain[Int(rating.item)] == target)
        }
        let hiddenUsers = Set(trial.hidden.map(\.user))
        #expect(!trial.ratings.contains { hiddenUsers.contains($0.user) && trial.itemDomain[Int($0.item)] == target })
        #expect(trial.ratings.contains { hiddenUsers.contains($0.user) }, "their other ratings stay")
    }

    /// Every build with a joint refit reports both models' held-out errors and serves the one
    /// chosen: without the target refit after CMF's, with it after the other.
    @Test func eachBuildJudgesBothModelsAndServesTheChosenOne() throws {
        let model = Self.learner.distill(version: 1)
        let joint = try #require(model.jointRefit)
        #expect(Set(joint.validationRMSE.keys) == ["cmf", "refit"] && joint.validationUsers > 0, "\(joint)")
        #expect(joint.validationRMSE.values.allSatisfy { $0.isFinite && $0 > 0 })
        #expect((joint.model == "cmf") == (model.domains[1].refit == nil), "\(joint)")
        #expect(joint.users > 0 && joint.ratings > joint.users && joint.judgedVersion == 1)
    }

    /// A kept choice is served as judged, without judging again: the other model than the one
    /// judged best, kept, is what the build solves.
    @Test func aKeptChoiceIsServedWithoutJudging() throws {
        let judged = try #require(Self.learner.distill(version: 1).jointRefit)
        var kept = judged
        kept.model = judged.model == "cmf" ? "refit" : "cmf"
        var options = DistillOptions()
        options.jointRefitReuse = kept
        let model = Self.learner.distill(version: 5, options: options)
        let served = try #require(model.jointRefit)
        #expect(served.model == kept.model && served.judgedVersion == 1 && served.validationRMSE == judged.validationRMSE)
        #expect((served.model == "cmf") == (model.domains[1].refit == nil))
    }

    /// The daemon keeps a judged choice for `jointRefitJudgeEvery` versions counted from the
    /// one that judged it, then judges again; an unjudged choice is never kept.
    @Test func aJudgedChoiceIsKeptForJudgeEveryVersions() {
        let judged = JointChoice(model: "cmf", validationRMSE: ["cmf": 0.9, "refit": 0.95], validationUsers: 100, ratings: 1_000, users: 90, judgedVersion: 7)
        var options = DistillOptions()
        options.jointRefitJudgeEvery = 3
        for (version, kept) in [(8, true), (9, true), (10, false), (11, false)] {
            options.keepJointChoice(judged, building: version)
            #expect((options.jointRefitReuse == judged) == kept, "version \(version)")
        }
        options.keepJointChoice(judged, building: 8)
        options.keepJointChoice(nil, building: 9)
        #expect(options.jointRefitReuse == nil, "no choice served: judge")
        var unjudged = judged
        unjudged.validationRMSE = [:]
        options.keepJointChoice(unjudged, building: 8)
        #expect(options.jointRefitReuse == nil, "nothing was judged: judge")
        options.jointRefitJudgeEvery = 1
        options.keepJointChoice(judged, building: 8)
        #expect(options.jointRefitReuse == nil, "1: every build judges")
    }

    /// One slice is judged when it holds enough users; every slice when asked for more.
    @Test func moreSlicesAreJudgedUntilEnoughUsersHaveBeen() throws {
        var one = DistillOptions(), all = DistillOptions()
        (one.jointRefitJudgedUsers, all.jointRefitJudgedUsers) = (1, 1_000_000)
        let few = try #require(Self.learner.distill(version: 1, options: one).jointRefit)
        let many = try #require(Self.learner.distill(version: 1, options: all).jointRefit)
        #expect(few.validationUsers > 0 && many.validationUsers >= 4 * few.validationUsers, "\(few) \(many)")
    }

    /// A CMF penalty so large that its vectors and biases vanish predicts the held-out users
    /// far worse: the other model is chosen. Off, it is never judged.
    @Test func aClearlyWorseCMFIsNotChosenAndZeroTurnsItOff() throws {
        var crushed = DistillOptions()
        crushed.jointRefitCMFRegularization = 1_000
        let judged = try #require(Self.learner.distill(version: 1, options: crushed).jointRefit)
        #expect(judged.model == "refit" && judged.validationRMSE["cmf"]! > judged.validationRMSE["refit"]! + 0.05, "\(judged)")
        var off = DistillOptions()
        off.jointRefitCMFRegularization = 0
        let model = Self.learner.distill(version: 2, options: off)
        let unjudged = try #require(model.jointRefit)
        #expect(unjudged.model == "refit" && unjudged.validationRMSE.isEmpty && unjudged.validationUsers == 0)
        #expect(model.domains[1].refit != nil)
    }
}
