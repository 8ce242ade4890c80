import Foundation
import Testing
import TestSupport

extension WholeDaemonTests.ReplicaTests {
    /// `replication.max_megabytes_per_second`: chunks spread over time, versions still whole
    /// on the replicas. The bound checked is the pace's own arithmetic (a version cannot go out
    /// faster than its bytes at the rate), never a speed of this machine.
    @Test func aPacedLearnerStillReachesItsReplicas() throws {
        let rate = 20_000.0  // bytes per second: a whole version (~0.1 MB here) takes seconds
        let cluster = try Cluster(name: "paced", chunkBytes: 1_024, megabytesPerSecond: rate / 1e6)
        let (learner, replica, _) = try Self.learnerAndReplica(cluster, users: 20, seed: 0, events: 150)
        let learnerSocket = cluster.socket("learner")
        #expect(Self.differences(learner: learnerSocket, replica: cluster.socket("r1")) == [])
        let published = try #require(Self.object(learnerSocket, ["op": "stats"])?["replication"] as? [String: Any])
        let bytes = try #require(published["last_bytes"] as? Int)
        let milliseconds = try #require(published["last_publish_ms"] as? Double)
        // Every chunk but the last waited for the pace before the next went out.
        #expect(bytes > 4 * 1_024 && milliseconds >= Double(bytes - 1_024) / rate * 1_000, "\(published)")
        #expect(published["failures"] as? Int == 0, "\(published)")
        replica.signal(SIGTERM)
        #expect(replica.waitForExit() == 0)
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0, "\(learner.log.suffix(2_000))")
    }

    /// A stop does not wait out the pace: the version being sent is left without its manifest
    /// (replicas never serve it) and the daemon exits at once.
    @Test func aStopInterruptsAPacedVersion() throws {
        // 100 bytes per second: the first whole version would take minutes.
        let cluster = try Cluster(name: "paced-stop", chunkBytes: 1_024, megabytesPerSecond: 0.000_1)
        let learner = try cluster.startLearner(run: 0)
        try cluster.produceRatings(users: 20, seed: 0)
        let learnerSocket = cluster.socket("learner")
        #expect(Self.waitUntil { Self.version(learnerSocket) != nil }, "\(learner.log.suffix(2_000))")
        let replication = Self.object(learnerSocket, ["op": "stats"])?["replication"] as? [String: Any]
        #expect(replication?["published_version"] is NSNull, "still sending the first version: \(replication ?? [:])")
        learner.signal(SIGTERM)
        // waitForExit's bound (60 s) is far below the version's time at this pace.
        #expect(learner.waitForExit() == 0, "\(learner.log.suffix(2_000))")
    }
}
