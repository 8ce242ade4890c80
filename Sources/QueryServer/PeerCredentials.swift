#if canImport(Glibc)
import Glibc
#endif
import NIOCore

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

    /// The credentials of a connected NIO socket channel's peer; nil if they cannot be read.
    public static func of(channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let future: EventLoopFuture<KernelUcred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { Optional(PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid)) }.recover { _ in nil }
    }

    /// Admin operations are for root, the daemon's own user, and the configured uids.
    public func mayRunAdminOperations(allowedUIDs: Set<UInt32>) -> Bool {
        uid == 0 || uid == getuid() || allowedUIDs.contains(uid)
    }
}

/// Linux's `struct ucred` (pid_t, uid_t, gid_t). Glibc only declares it under _GNU_SOURCE,
/// which the Swift overlay does not define, so its fixed kernel ABI layout is spelled here.
private struct KernelUcred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
