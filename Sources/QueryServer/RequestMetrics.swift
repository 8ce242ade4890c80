import Dispatch
import Metrics
import QueryProtocol

/// Requests by operation, failures by code, and the time to compute each answer (from the
/// decoded line to the answer line, without the socket), through the process's metrics
/// factory. Every metric is created once: a request only indexes an array.
final class RequestMetrics: Sendable {
    private let requests: [QueryRequest.Operation: Counter]
    private let undecoded = Counter(label: "crossrec_query_requests_total", dimensions: [("op", "none")])
    private let failures: [QueryErrorCode: Counter]
    private let durations: [QueryRequest.Operation: Metrics.Timer]

    init() {
        let operations = QueryRequest.Operation.allCases
        requests = Dictionary(uniqueKeysWithValues: operations.map {
            ($0, Counter(label: "crossrec_query_requests_total", dimensions: [("op", $0.rawValue)]))
        })
        durations = Dictionary(uniqueKeysWithValues: operations.map {
            ($0, Metrics.Timer(label: "crossrec_query_duration_seconds", dimensions: [("op", $0.rawValue)]))
        })
        failures = Dictionary(uniqueKeysWithValues: QueryErrorCode.allCases.map {
            ($0, Counter(label: "crossrec_query_errors_total", dimensions: [("code", $0.rawValue)]))
        })
    }

    /// One answered line: its operation when it could be read, its error code when it failed.
    func record(op: QueryRequest.Operation?, error: QueryErrorCode?, sinceNanos start: UInt64) {
        if let op {
            requests[op]?.increment()
            durations[op]?.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- start))
        } else {
            undecoded.increment()
        }
        if let error { failures[error]?.increment() }
    }
}
