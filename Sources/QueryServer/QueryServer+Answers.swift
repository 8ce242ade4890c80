import Foundation
import QueryProtocol

/// Reading, checking and answering one request line, and counting the answer.
extension QueryServer {
    /// An answer line, or a request whose answer must wait for another service (with the
    /// monotonic time its line was decoded, for the duration metric).
    enum Answer {
        /// The UTF-8 bytes of the line, without its newline.
        case line([UInt8])
        case later(QueryRequest, sinceNanos: UInt64)
    }

    /// Decodes and checks one frame and answers it if that needs no waiting; called on the
    /// connection's event loop.
    func answerNow(_ frame: QueryFrame, _ connection: Connection) -> Answer {
        let start = DispatchTime.now().uptimeNanoseconds
        let peer = connection.peer
        let limits = currentLimits
        switch frame {
        case .tooLarge:
            let failure = QueryFailure(error: QueryError(.tooLarge, "request line longer than \(connection.limits.maxLineBytes) bytes"))
            return .line(line(.failure(failure.error), id: nil, op: nil, sinceNanos: start))
        case .line(let buffer):
            switch buffer.withUnsafeReadableBytes({ QueryRequest.decode($0, maxK: limits.maxK) }) {
            case .failure(let failure):
                return .line(line(.failure(failure.error), id: failure.id, op: nil, sinceNanos: start))
            case .success(let request):
                if request.op.isAdmin, peer?.mayRunAdminOperations(allowedUIDs: limits.adminUIDs) != true {
                    let who = peer.map { "uid \($0.uid)" } ?? "an unidentified peer"
                    let error = QueryError(.forbidden, "\(request.op.rawValue) is not allowed for \(who)")
                    return .line(line(.failure(error), id: request.id, op: request.op, sinceNanos: start))
                }
                guard let result = handler.answerNow(request) else { return .later(request, sinceNanos: start) }
                return .line(line(result, id: request.id, op: request.op, sinceNanos: start))
            }
        }
    }

    /// The one answer of a connection beyond the limit (counted like a request).
    func refusal(_ connection: Connection) -> [UInt8] {
        let error = QueryError(.overloaded, "too many connections (\(connection.limits.maxConnections))")
        return line(.failure(error), id: nil, op: nil, sinceNanos: 0)
    }

    /// The answer to a request that `answerNow` left for later.
    func answerLater(_ request: QueryRequest, sinceNanos start: UInt64) async -> [UInt8] {
        line(await handler.handle(request), id: request.id, op: request.op, sinceNanos: start)
    }

    /// The answer line, counted (`op` is nil when the line could not be read as a request).
    private func line(
        _ result: Result<[String: JSONValue], QueryError>, id: JSONValue?, op: QueryRequest.Operation?, sinceNanos start: UInt64
    ) -> [UInt8] {
        let line: [UInt8]
        switch result {
        case .success(let fields):
            line = QueryResponse.success(id: id, fields)
            metrics.record(op: op, error: nil, sinceNanos: start)
        case .failure(let error):
            line = QueryResponse.failure(QueryFailure(id: id, error: error))
            metrics.record(op: op, error: error.code, sinceNanos: start)
        }
        return line
    }
}
