import Foundation
import Testing
import TestSupport

extension WholeDaemonTests.ReplicaTests {
    /// A broker that goes away must not hold the reading loop: librdkafka's watermark query
    /// can wait on a broker that is down far past its own timeout, and a replica blocked there
    /// ignored SIGTERM (and would starve systemd's watchdog). It keeps serving and stops at once.
    @Test func aReplicaWhoseBrokerWentDownServesOnAndStops() throws {
        let cluster = try Cluster(name: "replica-down")
        let (learner, replica, served) = try Self.learnerAndReplica(cluster, users: 20, seed: 0, events: 150)
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        cluster.broker.setDown()
        // Long enough for the reading loop's probe of the topic to meet the broker down.
        Thread.sleep(forTimeInterval: 5)
        #expect(Self.version(cluster.socket("r1")) == served, "a replica serves on while the broker is down")
        replica.signal(SIGTERM)
        #expect(replica.waitForExit() == 0, "\(replica.log.suffix(2_000))")
        cluster.broker.setUp()
    }
}
