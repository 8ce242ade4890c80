#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The service manager's notification protocol (sd_notify(3)), spoken directly: newline-
/// separated `KEY=value` assignments in one datagram to the `AF_UNIX` socket named by
/// `NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`). Without that
/// variable (not started by systemd) every call does nothing.
///
/// Isolation: immutable; each call opens, sends and closes its own socket (a few per second).
public struct SystemdNotifier: Sendable {
    /// The socket address from `NOTIFY_SOCKET`, nil when not under a service manager.
    public let socketAddress: String?
    /// `WATCHDOG_USEC` when it is meant for this process (`WATCHDOG_PID` unset or ours).
    public let watchdogMicroseconds: UInt64?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let address = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketAddress = address.flatMap { $0.hasPrefix("/") || $0.hasPrefix("@") ? $0 : nil }
        let forUs = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        watchdogMicroseconds = forUs ? environment["WATCHDOG_USEC"].flatMap(UInt64.init).flatMap { $0 > 0 ? $0 : nil } : nil
    }

    public var isEnabled: Bool { socketAddress != nil }

    /// Sends one notification; returns false when it could not be delivered (never throws:
    /// a service manager that went away must not take the daemon with it).
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        guard let socketAddress else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketAddress.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in path.withUnsafeBytes { raw.copyMemory(from: $0) } }
        // Abstract names are not NUL-terminated: the length says where they end.
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (path[0] == 0 ? 0 : 1))
        let message = Array(assignments.joined(separator: "\n").utf8)
        let sent = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        return sent == message.count
    }

    /// `MONOTONIC_USEC=` of now (CLOCK_MONOTONIC), required next to `RELOADING=1`.
    public static func monotonicMicroseconds() -> String {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return "MONOTONIC_USEC=\(UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000)"
    }
}
