import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking client for the daemon's socket (the CLI's, and the tests'): request lines out,
/// response lines back, in order.
public final class QuerySocketClient {
    public let path: String
    /// Closed exactly once, in `deinit` (also when `init` throws after opening it): a second
    /// close could hit a descriptor number the process has reused meanwhile.
    private let descriptor: Int32
    private var pending: [UInt8] = []
    /// Reused by every read (a fresh 64 KiB buffer per response cost a memset each time).
    private var chunk = [UInt8](repeating: 0, count: 65_536)

    public enum Failure: Error, CustomStringConvertible {
        case notRunning(String, String)
        case io(String)
        /// No answer within the read timeout.
        case timedOut(Double)

        public var description: String {
            switch self {
            case .notRunning(let path, let reason):
                "crossrecd is not answering on \(path) (\(reason)); start it with `make run`, or pass --socket"
            case .io(let reason): "socket error: \(reason)"
            case .timedOut(let seconds): "crossrecd did not answer within \(seconds) s"
            }
        }
    }

    private let readTimeoutSeconds: Double?

    /// Connects to `path`; with `readTimeoutSeconds`, a read that waits longer fails with
    /// `Failure.timedOut` instead of waiting for ever.
    public init(path: String, readTimeoutSeconds: Double? = nil) throws {
        self.path = path
        self.readTimeoutSeconds = readTimeoutSeconds
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure.io(String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8CString)
        guard bytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure.io("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in bytes.withUnsafeBytes { raw.copyMemory(from: $0) } }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            throw Failure.notRunning(path, String(cString: strerror(errno)))
        }
        if let readTimeoutSeconds {
            var timeout = timeval(
                tv_sec: Int(readTimeoutSeconds), tv_usec: Int((readTimeoutSeconds - readTimeoutSeconds.rounded(.down)) * 1e6))
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    /// Sends one JSON request and returns the response line.
    public func request(_ object: [String: Any]) throws -> String {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        data.append(10)
        try send(Array(data))
        return try readLine()
    }

    /// Sends one request already encoded (`JSONValue.encoded`, no newline) and returns the
    /// response line: what a load generator uses, so that its own encoding costs little.
    public func request(line: String) throws -> String {
        try send(Array((line + "\n").utf8))
        return try readLine()
    }

    /// Writes raw bytes (tests send malformed input this way).
    public func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let count = write(descriptor, raw.baseAddress! + sent, raw.count - sent)
                guard count > 0 else { throw Failure.io(String(cString: strerror(errno))) }
                sent += count
            }
        }
    }

    /// The next response line (without its newline); fails when the daemon closes first.
    public func readLine() throws -> String {
        while !pending.contains(10) {
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK, let readTimeoutSeconds { throw Failure.timedOut(readTimeoutSeconds) }
            guard count > 0 else { throw Failure.io(count == 0 ? "connection closed by crossrecd" : String(cString: strerror(errno))) }
            pending += chunk[0..<count]
        }
        let newline = pending.firstIndex(of: 10)!
        defer { pending.removeFirst(newline + 1) }
        return String(decoding: pending[..<newline], as: UTF8.self)
    }

    /// True when the daemon has closed the connection (reads end of stream).
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return read(descriptor, &byte, 1) == 0
    }

    /// Shuts the write side: the daemon answers what it has and then closes.
    public func finishWriting() {
        shutdown(descriptor, Int32(SHUT_WR))
    }
}
