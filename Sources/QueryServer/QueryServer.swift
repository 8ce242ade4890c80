import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import QueryProtocol
import ServiceLifecycle
import Synchronization

/// Newline-delimited JSON over a Unix stream socket: each connection served on its event loop
/// (`QueryConnectionHandler`), requests answered in order (pipelining allowed), limits on line
/// size, connections and idle time.
///
/// Isolation: the limits a reload may change are under a `Mutex` (read at each accept and
/// request); everything else is immutable.
public final class QueryServer: Service, Sendable {
    let settings: QueryServerSettings
    private let limits: Mutex<QueryServerSettings>
    private let listening = Atomic<Bool>(false)
    /// Shutdown began: connections stop reading, answer what they have and close.
    private let quiescing = Atomic<Bool>(false)
    let handler: any QueryHandler
    let logger: Logger
    private let connections = ConnectionCounter()
    let metrics = RequestMetrics()
    /// Open connections, for quiescing at shutdown.
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])
    /// How long in-flight requests get at shutdown before the connections are closed hard.
    static let quiesceSeconds: Int64 = 5

    public init(settings: QueryServerSettings, handler: any QueryHandler, logger: Logger) {
        self.settings = settings
        limits = Mutex(settings)
        self.handler = handler
        self.logger = logger
    }

    /// True once the socket accepts connections (bound, or inherited and registered).
    public var isListening: Bool { listening.load(ordering: .acquiring) }

    /// The limits as they are now.
    public var currentLimits: QueryServerSettings { limits.withLock { $0 } }

    /// Applies new limits (line size, k, connections, idle time, admin uids) to connections
    /// accepted and requests read from now on; the socket's path and mode are not changed.
    public func updateLimits(_ new: QueryServerSettings) {
        limits.withLock { current in
            current.maxLineBytes = new.maxLineBytes
            current.maxK = new.maxK
            current.maxConnections = new.maxConnections
            current.idleTimeoutSeconds = new.idleTimeoutSeconds
            current.adminUIDs = new.adminUIDs
        }
    }

    /// Connections currently open (for stats and tests).
    public var activeConnections: Int { connections.count.load(ordering: .relaxed) }

    public func run() async throws {
        let connections = self.connections
        let server: NIOAsyncChannel<Void, Never>
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // A client that shuts its write side after the last request (socat, `nc -N`) still
            // gets every answer: the connection closes once they are written.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        if let inherited = settings.inheritedSocket {
            server = try await bootstrap.bind(inherited) { [self] channel in accept(channel, connections) }
            logger.info("query socket inherited from the service manager", metadata: ["crossrec.fd": "\(inherited)"])
        } else {
            try removeStaleSocket()
            server = try await bootstrap.bind(unixDomainSocketPath: settings.socketPath) { [self] channel in
                accept(channel, connections)
            }
            guard chmod(settings.socketPath, mode_t(settings.socketMode)) == 0 else {
                throw QueryServerError("cannot chmod \(settings.socketPath): \(String(cString: strerror(errno)))")
            }
            logger.info("query socket listening", metadata: ["crossrec.socket": "\(settings.socketPath)"])
        }
        listening.store(true, ordering: .releasing)
        defer {
            listening.store(false, ordering: .releasing)
            if settings.inheritedSocket == nil { unlink(settings.socketPath) }
        }
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                // Connections are served by their handlers on the event loops; this only
                // accepts, then waits for the last of them to close.
                try await server.executeThenClose { inbound in
                    for try await _ in inbound {}
                }
                try await closeRemainingConnections()
            } onCancel: {
                server.channel.close(promise: nil)
                for channel in self.open.withLock({ Array($0.values) }) { channel.close(promise: nil) }
            }
        } onGracefulShutdown: {
            // Stop accepting, then stop reading: every connection answers what it has already
            // received and closes (a hard close follows after the quiesce time).
            // The input is closed by each connection's handler, on its loop, once the channel is
            // active: closing it from here on a channel still being set up trips NIO's
            // registration assertion. A connection that becomes active later sees the flag.
            server.channel.close(promise: nil)
            self.quiescing.store(true, ordering: .releasing)
            let channels = self.open.withLock { Array($0.values) }
            for channel in channels {
                channel.pipeline.fireUserInboundEventTriggered(QueryServer.Quiesce())
                channel.eventLoop.scheduleTask(in: .seconds(Self.quiesceSeconds)) { channel.close(promise: nil) }
            }
        }
    }

    /// Waits for the open connections to close: they were asked to finish what they read, and
    /// are closed hard after the quiesce time. What is still open a second later is closed
    /// here. A connection accepted while the listener closed may never become active (the
    /// bootstrap drops it half set up), and waiting for it held shutdown for ever.
    private func closeRemainingConnections() async throws {
        let deadline = ContinuousClock.now + .seconds(Self.quiesceSeconds + 1)
        // The count includes a connection between its accept and its entry in `open`.
        while ContinuousClock.now < deadline, !open.withLock({ $0.isEmpty }) || connections.count.load(ordering: .relaxed) > 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let stragglers = open.withLock { Array($0.values) }
        for channel in stragglers { channel.close(promise: nil) }
        // Their close callbacks (registered at accept, so run first) uncount them: once these
        // futures complete, the server holds no connection when it returns.
        for channel in stragglers { _ = try? await channel.closeFuture.get() }
        if !stragglers.isEmpty {
            logger.warning("closed connections that had not finished at shutdown", metadata: ["crossrec.count": "\(stragglers.count)"])
        }
    }

    /// Sets up an accepted connection, on its event loop, under the limits of this moment.
    private func accept(_ channel: any Channel, _ connections: ConnectionCounter) -> EventLoopFuture<Void> {
        // Shutdown began: the bootstrap closes a connection whose setup fails.
        guard !isQuiescing else { return channel.eventLoop.makeFailedFuture(QueryServerError("shutting down")) }
        let limits = currentLimits
        // Counted at accept and uncounted at close, on the event loop: exact and ordered.
        let count = connections.count.add(1, ordering: .relaxed).newValue
        connections.gauge.record(count)
        let admitted = count <= limits.maxConnections
        let key = ObjectIdentifier(channel)
        open.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            connections.gauge.record(connections.count.subtract(1, ordering: .relaxed).newValue)
            open.withLock { $0[key] = nil }
        }
        // Who connected, from the kernel (SO_PEERCRED), read once at accept.
        return PeerCredentials.of(channel: channel).flatMapThrowing { [self] peer in
            let connection = Connection(admitted: admitted, peer: peer, limits: limits)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(QueryConnectionHandler(server: self, connection: connection))
        }
    }

    /// Sent through each open connection's pipeline when shutdown begins.
    struct Quiesce: Sendable {}

    /// True once shutdown began (read by connections as they become active).
    var isQuiescing: Bool { quiescing.load(ordering: .acquiring) }

    /// What is fixed for a connection at accept: whether it is within the connection limit,
    /// its peer, and the limits of that moment (its line limit and idle time are fixed for it).
    struct Connection: Sendable {
        var admitted: Bool
        var peer: PeerCredentials?
        var limits: QueryServerSettings
    }
}

/// Open connections, shared with the accept callback (an `Atomic` cannot be captured itself).
final class ConnectionCounter: Sendable {
    let count = Atomic<Int>(0)
    let gauge = Gauge(label: "crossrec_query_connections")
}

/// Why the server could not start.
public struct QueryServerError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
