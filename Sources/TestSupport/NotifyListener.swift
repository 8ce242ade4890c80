#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The service manager's side of sd_notify for tests: a datagram socket at a path that
/// records every notification it receives, in order, on a thread of its own.
public final class NotifyListener: Sendable {
    public let path: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])
    private let stopped = Atomic<Bool>(false)

    public init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8CString)
        precondition(bytes.count <= MemoryLayout.size(ofValue: address.sun_path), "socket path too long")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in bytes.withUnsafeBytes { raw.copyMemory(from: $0) } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // A receive timeout lets the thread notice `stop`.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Thread { [self] in receiveLoop() }.start()
    }

    /// Ends the receiving thread (which holds the listener until then) and removes the socket.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Every notification so far (one string per datagram, assignments separated by newlines).
    public var messages: [String] { received.withLock { $0 } }

    /// Every assignment so far, in order (`READY=1`, `STATUS=…`, …).
    public var assignments: [String] { messages.flatMap { $0.split(separator: "\n").map(String.init) } }

    /// Waits until `condition` holds for the assignments received (a bound, not an assertion).
    @discardableResult
    public func wait(limitSeconds: Double = 60, until condition: ([String]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: limitSeconds)
        while Date() < deadline {
            if condition(assignments) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition(assignments)
    }

    private func receiveLoop() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopped.load(ordering: .relaxed) {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                received.withLock { $0.append(text) }
            }
        }
        close(descriptor)
        unlink(path)
    }
}
