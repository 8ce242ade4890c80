import Foundation

extension QueryServer {
    /// A socket file left by a crashed daemon is removed; one that a live daemon answers on is
    /// not (starting twice on one path is refused).
    func removeStaleSocket() throws {
        var status = stat()
        guard lstat(settings.socketPath, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw QueryServerError("\(settings.socketPath) exists and is not a socket")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(settings.socketPath.utf8CString)
        guard path.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            throw QueryServerError("socket path too long: \(settings.socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            path.withUnsafeBytes { raw.copyMemory(from: $0) }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected != 0 else { throw QueryServerError("another process is serving \(settings.socketPath)") }
        unlink(settings.socketPath)
        logger.notice("removed stale socket file", metadata: ["crossrec.socket": "\(settings.socketPath)"])
    }
}
