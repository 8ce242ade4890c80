/// One decoded request line. Unknown fields are ignored; `id` (string or number) is echoed.
public struct QueryRequest: Sendable, Equatable {
    /// The operations this version serves (docs/PROTOCOL.md).
    public enum Operation: String, CaseIterable, Sendable {
        case recommend, predict, similar, popular, stats, health, metrics, forget, checkpoint

        /// Operations only root, the daemon's own user and `socket.admin_uids` may run.
        public var isAdmin: Bool { self == .forget || self == .checkpoint }
    }

    public var op: Operation
    public var id: JSONValue?
    public var user: String?
    public var domain: String?
    public var item: String?
    public var k: Int
    public var excludeSeen: Bool

    public init(
        op: Operation, id: JSONValue? = nil, user: String? = nil, domain: String? = nil, item: String? = nil, k: Int = 10,
        excludeSeen: Bool = true
    ) {
        self.op = op
        self.id = id
        self.user = user
        self.domain = domain
        self.item = item
        self.k = k
        self.excludeSeen = excludeSeen
    }

    /// Decodes and checks one line; a failure carries the error answer and the request's id
    /// when one could be read.
    public static func decode(_ bytes: [UInt8], maxK: Int) -> Result<QueryRequest, QueryFailure> {
        bytes.withUnsafeBytes { decode($0, maxK: maxK) }
    }

    /// The members a request reads; every other one is skipped.
    private enum Field: Int, CaseIterable {
        case op, id, user, domain, item, k, excludeSeen

        var name: String {
            switch self {
            case .excludeSeen: "exclude_seen"
            default: "\(self)"
            }
        }
        static let names = allCases.map { Array($0.name.utf8) }
    }

    /// The same, straight from the bytes of a line (the server's read buffer).
    public static func decode(_ bytes: UnsafeRawBufferPointer, maxK: Int) -> Result<QueryRequest, QueryFailure> {
        guard let members = RequestScanner.members(of: bytes, names: Field.names) else {
            return .failure(QueryFailure(error: QueryError(.badRequest, "expected one JSON object per line")))
        }
        func member(_ field: Field) -> RequestScanner.Value? { members[field.rawValue] }
        let id = member(.id).flatMap(Self.scalar)
        func fail(_ code: QueryErrorCode, _ message: String) -> Result<QueryRequest, QueryFailure> {
            .failure(QueryFailure(id: id, error: QueryError(code, message)))
        }
        guard case .string(let opName)? = member(.op) else { return fail(.badRequest, "missing string field op") }
        guard let op = Operation(rawValue: opName) else {
            return fail(.unknownOp, "unknown op \(opName) (\(Operation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var request = QueryRequest(op: op, id: id)
        for field in [Field.user, .domain, .item] {
            guard let value = member(field) else { continue }
            guard case .string(let text) = value, !text.isEmpty else {
                return fail(.badRequest, "\(field.name) must be a non-empty string")
            }
            switch field {
            case .user: request.user = text
            case .domain: request.domain = text
            default: request.item = text
            }
        }
        if let value = member(.k) {
            guard case .number(let number, _) = value, number == number.rounded(), number >= 1 else {
                return fail(.badRequest, "k must be a positive integer")
            }
            guard number <= Double(maxK) else { return fail(.tooLarge, "k must be at most \(maxK)") }
            request.k = Int(number)
        }
        if let value = member(.excludeSeen) {
            guard case .bool(let flag) = value else { return fail(.badRequest, "exclude_seen must be true or false") }
            request.excludeSeen = flag
        }
        let required: [Field] = switch op {
        case .recommend: [.user, .domain]
        case .predict: [.user, .domain, .item]
        case .similar: [.domain, .item]
        case .popular: [.domain]
        case .forget: [.user]
        case .stats, .health, .metrics, .checkpoint: []
        }
        for field in required where member(field) == nil { return fail(.badRequest, "\(op.rawValue) needs \(field.name)") }
        return .success(request)
    }

    /// A string or number id, echoed as given (integers stay integers, as do numbers with an
    /// integral value, like 7.0); anything else is not echoed.
    private static func scalar(_ value: RequestScanner.Value) -> JSONValue? {
        switch value {
        case .string(let text): return .string(text)
        case .number(_, let integer?): return .integer(integer)
        case .number(let number, nil):
            guard number.isFinite else { return nil }
            if number == number.rounded(), abs(number) < 9.2e18 { return .integer(Int64(number)) }
            return .number(number)
        case .bool, .other: return nil
        }
    }
}

/// A request that could not be served, with the id to echo when there was one.
public struct QueryFailure: Error, Sendable, Equatable {
    public var id: JSONValue?
    public var error: QueryError

    public init(id: JSONValue? = nil, error: QueryError) {
        self.id = id
        self.error = error
    }
}

/// One response line: `{"id":…,"ok":true,…}` or `{"id":…,"ok":false,"error":{"code":…,"message":…}}`.
/// UTF-8 bytes, written to the socket as they are encoded: making a `String` of them first
/// validated and copied every answer once more.
public enum QueryResponse {
    public static func success(id: JSONValue?, _ fields: [String: JSONValue]) -> [UInt8] {
        var object = fields
        object["ok"] = .bool(true)
        if let id { object["id"] = id }
        return bytes(of: .object(object))
    }

    public static func failure(_ failure: QueryFailure) -> [UInt8] {
        var object: [String: JSONValue] = [
            "ok": .bool(false),
            "error": .object(["code": .string(failure.error.code.rawValue), "message": .string(failure.error.message)]),
        ]
        if let id = failure.id { object["id"] = id }
        return bytes(of: .object(object))
    }

    private static func bytes(of value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        value.encode(into: &out)
        return out
    }
}
