import QueryProtocol

/// What the server asks of the model side: one answer per decoded request.
public protocol QueryHandler: Sendable {
    /// The fields of a successful answer (`ok`/`id` are added by the server), or a failure.
    /// Admin operations reach it only from authorized peers.
    func handle(_ request: QueryRequest) async -> Result<[String: JSONValue], QueryError>

    /// The answer, when it can be given at once without waiting for another service; nil sends
    /// the request to `handle`. Called on the connection's event loop: it must not block.
    func answerNow(_ request: QueryRequest) -> Result<[String: JSONValue], QueryError>?
}

extension QueryHandler {
    public func answerNow(_ request: QueryRequest) -> Result<[String: JSONValue], QueryError>? { nil }
}

/// Limits of the query socket; every one bounds something a peer controls.
public struct QueryServerSettings: Sendable {
    public var socketPath: String
    /// File mode of the socket (`chmod`), e.g. 0o660.
    public var socketMode: UInt32 = 0o660
    public var maxLineBytes = 65_536
    public var maxK = 1_000
    public var maxConnections = 1_024
    /// Connections with no request for this long are closed.
    public var idleTimeoutSeconds: Int64 = 300
    /// Besides root and the daemon's own user, who may run admin operations.
    public var adminUIDs: Set<UInt32> = []
    /// A listening socket passed by the service manager (socket activation): served instead of
    /// binding `socketPath`, whose file then belongs to the manager (no chmod, no unlink).
    public var inheritedSocket: Int32?

    public init(socketPath: String) {
        self.socketPath = socketPath
    }
}
