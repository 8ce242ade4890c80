/// Stable error codes of the query protocol (docs/PROTOCOL.md). Scripts switch on these
/// strings: never rename one, only add.
public enum QueryErrorCode: String, CaseIterable, Sendable, Codable {
    /// Not JSON, not an object, a missing or mistyped field, invalid UTF-8.
    case badRequest = "bad_request"
    case unknownOp = "unknown_op"
    case unknownDomain = "unknown_domain"
    case unknownItem = "unknown_item"
    /// A request line or a `k` above the configured maximum.
    case tooLarge = "too_large"
    /// Too many connections or requests in flight.
    case overloaded
    /// No model published yet (the daemon is starting).
    case notReady = "not_ready"
    /// An admin operation from a peer that is not allowed to run it.
    case forbidden
    /// An admin operation sent to a read replica: it has no learner; send it to the learner.
    case readOnly = "read_only"
    case `internal`
}

/// An error answer: a stable code and a message for people.
public struct QueryError: Error, Sendable, Equatable {
    public var code: QueryErrorCode
    public var message: String

    public init(_ code: QueryErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}
