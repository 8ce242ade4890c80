import Glibc
import QueryServer
import Testing

@Suite("Peer credentials")
struct PeerCredentialsTests {
    @Test func readsTheKernelsViewOfTheConnectedPeer() throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { pair.forEach { close($0) } }
        let credentials = try #require(PeerCredentials.of(socket: pair[0]))
        #expect(credentials.pid == getpid())
        #expect(credentials.uid == getuid())
        #expect(credentials.gid == getgid())
    }

    @Test func refusesADescriptorThatIsNotASocket() {
        #expect(PeerCredentials.of(socket: -1) == nil)
    }

    @Test func authorizesRootOwnUIDAndListedUIDsOnly() {
        let stranger = PeerCredentials(pid: 1, uid: 54_321, gid: 54_321)
        #expect(!stranger.mayRunAdminOperations(allowedUIDs: []) || getuid() == 54_321)
        #expect(stranger.mayRunAdminOperations(allowedUIDs: [54_321]))
        #expect(PeerCredentials(pid: 1, uid: 0, gid: 0).mayRunAdminOperations(allowedUIDs: []))
        #expect(PeerCredentials(pid: 1, uid: getuid(), gid: 0).mayRunAdminOperations(allowedUIDs: []))
    }
}
