#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a Unix socket, from the kernel (SO_PEERCRED): what admin
/// operations are authorized on. It cannot be forged by the peer.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// The credentials of the peer of a connected Unix stream socket; nil if the kernel refuses.
    public static func of(socket descriptor: Int32) -> PeerCredentials? {
        var credentials = KernelUcred()
        var length = socklen_t(MemoryLayout<KernelUcred>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }

    /// Admin operations are for root, the daemon's own user, and the configured uids.
    public func mayRunAdminOperations(allowedUIDs: Set<UInt32>) -> Bool {
        uid == 0 || uid == getuid() || allowedUIDs.contains(uid)
    }
}

/// Linux's `struct ucred` (pid_t, uid_t, gid_t). Glibc only declares it under _GNU_SOURCE,
/// which the Swift overlay does not define, so its fixed kernel ABI layout is spelled here.
private struct KernelUcred {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
