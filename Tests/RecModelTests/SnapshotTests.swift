import RecModel
import Testing

@Suite("Copy-on-write snapshots")
struct SnapshotTests {
    /// Snapshots taken while learning never change afterwards, and taking them does not change
    /// what the learner computes.
    @Test func snapshotsAreImmutableAndDoNotDisturbTheLearner() throws {
        let events = SyntheticRatings(users: 500, itemsPerDomain: 300).events(perUser: 20)
        var plain = Learner(configuration: SyntheticRatings.configuration())
        var watched = Learner(configuration: SyntheticRatings.configuration())
        var snapshots: [(Learner, [ArchiveSection: [UInt8]])] = []
        for (index, event) in events.enumerated() {
            plain.apply(SyntheticRatings.rating(event, time: Int64(index)))
            watched.apply(SyntheticRatings.rating(event, time: Int64(index)))
            if index % 2_000 == 0 {
                let snapshot = watched
                snapshots.append((snapshot, try snapshot.archived().sections))
            }
        }
        #expect(try plain.archived().sections == watched.archived().sections)
        for (snapshot, archive) in snapshots { #expect(try snapshot.archived().sections == archive) }
        #expect(snapshots.count == (events.count - 1) / 2_000 + 1)
    }

    /// A snapshot pre-copied a slice per safe point while the writer goes on (new ids, a
    /// forget, evictions at the user cap) holds exactly the state at the moment it was taken,
    /// and preparing it does not change what the writer computes.
    @Test func precopiedSnapshotsEqualPlainCopies() throws {
        // 3,000 users: 12 chunks per user table, so the copy takes many steps.
        let events = SyntheticRatings(users: 3_000, itemsPerDomain: 600).events(perUser: 6)
        var configuration = SyntheticRatings.configuration()
        configuration.maxUsers = 2_800
        var plain = Learner(configuration: configuration)
        var watched = Learner(configuration: configuration)
        var snapshots: [(Learner, [ArchiveSection: [UInt8]])] = []
        var steps = 0, preparing = false
        for (index, event) in events.enumerated() {
            plain.apply(SyntheticRatings.rating(event, time: Int64(index)))
            watched.apply(SyntheticRatings.rating(event, time: Int64(index)))
            if index == 9_000 {
                #expect(plain.forget(user: "u\(event.user)") == watched.forget(user: "u\(event.user)"))
            }
            if index % 4_000 == 0 {
                watched.beginSnapshot()
                preparing = true
            }
            // A step every 50 events, each one chunk per table (no time budget).
            guard preparing, index % 50 == 0 else { continue }
            steps += 1
            if watched.advanceSnapshot(nanos: 0) {
                let expected = try watched.archived().sections
                let snapshot = watched.takeSnapshot()
                #expect(try snapshot.archived().sections == expected)
                snapshots.append((snapshot, expected))
                preparing = false
            }
        }
        #expect(try plain.archived().sections == watched.archived().sections)
        for (snapshot, archive) in snapshots { #expect(try snapshot.archived().sections == archive) }
        #expect(snapshots.count >= 5)
        #expect(steps >= snapshots.count * 8, "each snapshot should take many steps (12 chunks per user table)")
        #expect(watched.evictedUsers > 0)
    }

    /// Without `beginSnapshot`, `takeSnapshot` is an ordinary copy-on-write copy.
    @Test func takeSnapshotWithoutPrecopyIsACopy() throws {
        var learner = Learner(configuration: SyntheticRatings.configuration())
        for (index, event) in SyntheticRatings(users: 200, itemsPerDomain: 100).events(perUser: 5).enumerated() {
            learner.apply(SyntheticRatings.rating(event, time: Int64(index)))
        }
        let expected = try learner.archived().sections
        let snapshot = learner.takeSnapshot()
        learner.apply(SyntheticRatings.rating(.init(domain: 0, user: 1, item: 1, value: 5), time: 10_000))
        #expect(try snapshot.archived().sections == expected)
        #expect(try learner.archived().sections != expected)
    }
}
