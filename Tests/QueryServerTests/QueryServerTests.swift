import Foundation
import Logging
import QueryProtocol
import QueryServer
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

/// Answers from the request alone, so that tests can check what the server did with it.
/// Answers on the event loop, except for the domains `slow` (500 ms), `slower` (2 s) and
/// `later` (at once, but from a task): the server must keep answers in request order across
/// both paths. The domain `big` answers k × 10 bytes, like a long list, and counts its answers.
struct ReflectingHandler: QueryHandler {
    /// Answers computed for the domain `big`, since the process started.
    static let bigAnswers = Atomic<Int>(0)

    func handle(_ request: QueryRequest) async -> Result<[String: JSONValue], QueryError> {
        if request.domain == "slow" { try? await Task.sleep(for: .milliseconds(500)) }
        if request.domain == "slower" { try? await Task.sleep(for: .seconds(2)) }
        return reflect(request)
    }

    func answerNow(_ request: QueryRequest) -> Result<[String: JSONValue], QueryError>? {
        ["slow", "slower", "later"].contains(request.domain) ? nil : reflect(request)
    }

    private func reflect(_ request: QueryRequest) -> Result<[String: JSONValue], QueryError> {
        if request.domain == "missing" { return .failure(QueryError(.unknownDomain, "no domain missing")) }
        var answer: [String: JSONValue] = [
            "op": .string(request.op.rawValue), "k": .integer(Int64(request.k)), "user": request.user.map(JSONValue.string) ?? .null,
            "domain": request.domain.map(JSONValue.string) ?? .null,
        ]
        if request.domain == "big" {
            Self.bigAnswers.add(1, ordering: .relaxed)
            answer["items"] = .string(String(repeating: "item-name,", count: request.k))
        }
        return .success(answer)
    }
}

/// A query server in its own service group, listening once `start` returns.
struct RunningServer {
    let settings: QueryServerSettings
    let server: QueryServer
    let group: ServiceGroup
    let running: Task<Void, any Error>

    static func start(_ settings: QueryServerSettings) async throws -> RunningServer {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = QueryServer(settings: settings, handler: ReflectingHandler(), logger: logger)
        let group = ServiceGroup(services: [server], logger: logger)
        let running = Task { try await group.run() }
        // Listening means a request is answered (a stale file from before does not accept).
        let path = settings.socketPath
        let deadline = Date(timeIntervalSinceNow: 10)
        while Date() < deadline, (try? await blocking { _ = try QuerySocketClient(path: path).request(["op": "health"]) }) == nil {
            try await Task.sleep(for: .milliseconds(10))
        }
        // The probe's connection must be gone before a test counts connections.
        while Date() < deadline, server.activeConnections > 0 { try await Task.sleep(for: .milliseconds(5)) }
        return RunningServer(settings: settings, server: server, group: group, running: running)
    }

    /// Graceful shutdown; waits until the service group has returned.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

/// A server on a short temporary path, run in a service group for the body's duration.
func withServer(
    configure: (inout QueryServerSettings) -> Void = { _ in }, _ body: @escaping (QueryServerSettings) async throws -> Void
) async throws {
    let directory = try makeShortTemporaryDirectory("qs")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var settings = QueryServerSettings(socketPath: "\(directory)/q.sock")
    configure(&settings)
    let running = try await RunningServer.start(settings)
    do {
        try await body(settings)
    } catch {
        try? await running.stop()
        throw error
    }
    try await running.stop()
    #expect(!FileManager.default.fileExists(atPath: settings.socketPath), "the socket file is removed at shutdown")
}

func object(_ line: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
}

func errorCode(_ line: String) -> String? {
    (object(line)["error"] as? [String: Any])?["code"] as? String
}

@Suite("Query server over a real Unix socket", .serialized)
struct QueryServerTests {
    @Test func answersPipelinedRequestsInOrderEchoingIds() async throws {
        try await withServer { settings in try await blocking {
            let client = try QuerySocketClient(path: settings.socketPath)
            let lines = (0..<20).map { #"{"op":"recommend","user":"u\#($0)","domain":"d","k":\#($0 + 1),"id":\#($0)}"# }
            try client.send(Array((lines.joined(separator: "\n") + "\n").utf8))
            for index in 0..<20 {
                let answer = object(try client.readLine())
                #expect(answer["id"] as? Int == index)
                #expect(answer["user"] as? String == "u\(index)")
                #expect(answer["k"] as? Int == index + 1)
                #expect(answer["ok"] as? Bool == true)
            }
        } }
    }

    @Test func keepsRequestOrderWhenSomeAnswersWaitAndManyArePipelinedBehindThem() async throws {
        try await withServer { settings in try await blocking {
            // 1 000 lines behind a slow answer: more than the server queues before it stops
            // reading, so reading must pause and resume; answers computed at once and in a
            // task are interleaved.
            let domains = (0..<1_000).map { $0 == 0 ? "slow" : ($0 % 7 == 0 ? "later" : "d") }
            let lines = domains.enumerated().map { #"{"op":"recommend","user":"u","domain":"\#($1)","id":\#($0)}"# }
            let client = try QuerySocketClient(path: settings.socketPath)
            try client.send(Array((lines.joined(separator: "\n") + "\n").utf8))
            for (index, domain) in domains.enumerated() {
                let answer = object(try client.readLine())
                #expect(answer["id"] as? Int == index)
                #expect(answer["domain"] as? String == domain)
            }
        } }
    }

    /// The codes the server and the request reader raise themselves. `unknown_item` and
    /// `not_ready` come from the daemon's handler (a model is needed): `unknown_item` is
    /// asserted in `crossrecd process`.
    @Test func everyErrorCodeTheServerRaisesIsProducedByItsInput() async throws {
        try await withServer(configure: { $0.maxLineBytes = 256 }) { settings in try await blocking {
            let client = try QuerySocketClient(path: settings.socketPath)
            func ask(_ text: String) throws -> String {
                try client.send(Array((text + "\n").utf8))
                return try client.readLine()
            }
            #expect(errorCode(try ask("nonsense")) == "bad_request")
            #expect(errorCode(try ask(#"{"op":"fly"}"#)) == "unknown_op")
            #expect(errorCode(try ask(#"{"op":"popular","domain":"missing"}"#)) == "unknown_domain")
            #expect(errorCode(try ask(#"{"op":"popular","domain":"d","k":5000}"#)) == "too_large")
            #expect(errorCode(try ask("{\"op\":\"health\",\"pad\":\"\(String(repeating: "x", count: 400))\"}")) == "too_large")
            try client.send([0x7B, 0x22, 0x6F, 0x70, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])  // {"op":"<invalid UTF-8>"}
            #expect(errorCode(try client.readLine()) == "bad_request")
            // The connection still serves after every error.
            #expect(object(try ask(#"{"op":"health","unknown_field":[1,2]}"#))["ok"] as? Bool == true)
        } }
    }

    @Test func survivesHalfLinesAndAbruptDisconnects() async throws {
        try await withServer { settings in try await blocking {
            for _ in 0..<5 {
                let client = try QuerySocketClient(path: settings.socketPath)
                try client.send(Array(#"{"op":"heal"#.utf8))
            }
            let client = try QuerySocketClient(path: settings.socketPath)
            #expect(object(try client.request(["op": "health"]))["ok"] as? Bool == true)
            // A client that shuts its write side still gets its answer.
            let halfClosing = try QuerySocketClient(path: settings.socketPath)
            try halfClosing.send(Array("{\"op\":\"stats\"}\n".utf8))
            halfClosing.finishWriting()
            #expect(object(try halfClosing.readLine())["op"] as? String == "stats")
        } }
    }

    @Test func keepsAnsweringWithAThousandIdleConnectionsOpen() async throws {
        try await withServer { settings in try await blocking {
            let idle = try (0..<1_000).map { _ in try QuerySocketClient(path: settings.socketPath) }
            let active = try QuerySocketClient(path: settings.socketPath)
            for index in 0..<50 {
                #expect(object(try active.request(["op": "health", "id": index]))["id"] as? Int == index)
            }
            #expect(idle.count == 1_000)
        } }
    }

    @Test func refusesConnectionsBeyondTheLimitAndClosesIdleOnes() async throws {
        try await withServer(configure: { $0.maxConnections = 2; $0.idleTimeoutSeconds = 1 }) { settings in try await blocking {
            let first = try QuerySocketClient(path: settings.socketPath)
            let second = try QuerySocketClient(path: settings.socketPath)
            #expect(object(try first.request(["op": "health"]))["ok"] as? Bool == true)
            #expect(object(try second.request(["op": "health"]))["ok"] as? Bool == true)
            let third = try QuerySocketClient(path: settings.socketPath)
            #expect(errorCode(try third.readLine()) == "overloaded")
            // After the idle timeout the server closes the quiet connections.
            #expect(first.isClosedByPeer())
        } }
    }

    @Test func createsTheSocketWithTheConfiguredModeAndReplacesAStaleFile() async throws {
        let directory = try makeShortTemporaryDirectory("qs")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A stale socket file: bound once, nobody listening any more.
        let stale = "\(directory)/stale.sock"
        let result = try ExternalTool.run(["python3", "-c", "import socket; s=socket.socket(socket.AF_UNIX); s.bind('\(stale)')"])
        #expect(result.status == 0, "\(result.stderr)")
        try await withServer(configure: { $0.socketPath = stale; $0.socketMode = 0o640 }) { settings in try await blocking {
            let attributes = try FileManager.default.attributesOfItem(atPath: settings.socketPath)
            #expect((attributes[.posixPermissions] as? Int) == 0o640)
            #expect(object(try QuerySocketClient(path: settings.socketPath).request(["op": "health"]))["ok"] as? Bool == true)
        } }
    }
}

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test func answersTheRequestInFlightThenClosesAndRemovesTheSocket() async throws {
        let directory = try makeShortTemporaryDirectory("qs")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let running = try await RunningServer.start(QueryServerSettings(socketPath: "\(directory)/q.sock"))
        let path = running.settings.socketPath
        let clientBox = try await blocking { UncheckedBox(try QuerySocketClient(path: path)) }
        // A slow request is in flight when shutdown starts.
        let answer = Task {
            try await blocking { try clientBox.value.request(["op": "popular", "domain": "slow", "id": "in-flight"]) }
        }
        try await Task.sleep(for: .milliseconds(100))
        let stopping = Task { try await running.stop() }
        let line = try await answer.value
        #expect(object(line)["id"] as? String == "in-flight")
        #expect(object(line)["ok"] as? Bool == true)
        try await stopping.value
        #expect(try await blocking { clientBox.value.isClosedByPeer() })
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect((try? await blocking { _ = try QuerySocketClient(path: path) }) == nil, "no longer accepting")
    }
}

/// Hands a non-Sendable client to one other thread at a time (tests only).
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

@Suite("Admin operations and peer identity", .serialized)
struct AdminAuthorizationTests {
    @Test func refusesAdminOperationsFromAnotherUID() async throws {
        try #require(ExternalTool.isInstalled("setpriv") && ExternalTool.isInstalled("socat"), "util-linux and socat")
        try #require(getuid() == 0, "switching to another uid needs root (CI and dev machines run as root)")
        try await withServer(configure: { $0.socketMode = 0o666 }) { settings in
            // The same requests from uid 65534 (nobody) through setpriv: forget is refused.
            // (socat ends as soon as the server has answered and closed; -t only bounds it.)
            let input = #"{"op":"forget","user":"u","id":1}"# + "\n" + #"{"op":"health","id":2}"# + "\n"
            let result = try await blocking {
                try ExternalTool.run(
                    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "socat", "-t", "30", "-",
                        "UNIX-CONNECT:\(settings.socketPath)"], input: input)
            }
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 2, "\(result.stdout) \(result.stderr)")
            #expect(errorCode(lines.first ?? "") == "forbidden")
            #expect(lines.first?.contains("uid 65534") == true)
            #expect(object(lines.last ?? "")["ok"] as? Bool == true, "ordinary operations stay open to everyone")
            // Root (the daemon's own user here) may.
            let own = try await blocking { try QuerySocketClient(path: settings.socketPath).request(["op": "forget", "user": "u"]) }
            #expect(object(own)["op"] as? String == "forget")
        }
    }
}
