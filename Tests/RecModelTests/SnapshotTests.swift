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
}
