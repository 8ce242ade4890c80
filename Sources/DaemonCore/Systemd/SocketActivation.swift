#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Sockets passed by the service manager (sd_listen_fds(3)): when `LISTEN_PID` is this
/// process, `LISTEN_FDS` descriptors start at 3.
public enum SocketActivation {
    /// The first passed descriptor, if any, marked close-on-exec. The variables are removed
    /// so that nothing started later believes the sockets are its own; call this before any
    /// other thread reads the environment (it is in `main`, before the daemon starts).
    public static func takeListeningSocket() -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        defer {
            for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
        }
        guard environment["LISTEN_PID"] == String(getpid()), let count = environment["LISTEN_FDS"].flatMap(Int32.init),
            count >= 1
        else { return nil }
        let descriptor: Int32 = 3
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return descriptor
    }
}
