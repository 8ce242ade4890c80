import Foundation
import QueryProtocol
import QueryServer
import Testing
import TestSupport

/// Peers that pipeline many requests: the work and bytes the server spends on one are
/// bounded, a peer that left gets no more work, and waiting on the server is never idleness.
/// Python's socket module is the client: it pipelines as an application would.
@Suite("Pipelining peers", .serialized)
struct PipeliningPeerTests {
    /// 7 000 requests (~420 KB) written before a single answer is read, the idle timeout 1 s:
    /// the server reads requests ahead while the peer is not reading, so the peer's write
    /// completes and every answer arrives, in order. (Reading only what it could answer at
    /// once, the server stopped reading, the peer stayed blocked in its write, and the idle
    /// timer closed the connection.)
    @Test func answersAPeerThatWritesAllItsRequestsBeforeReading() async throws {
        try await withServer(configure: { $0.idleTimeoutSeconds = 1 }) { settings in try await blocking {
            let script = """
                import json, socket, sys
                n = 7000
                s = socket.socket(socket.AF_UNIX)
                s.connect(sys.argv[1])
                s.settimeout(30)
                s.sendall(b"".join(b'{"op":"recommend","domain":"d","user":"user-%05d","id":%d}\\n' % (i, i) for i in range(n)))
                answers = s.makefile("rb")
                got = 0
                for i in range(n):
                    line = answers.readline()
                    if not line or json.loads(line).get("id") != i:
                        break
                    got += 1
                print(got)
                """
            let result = try ExternalTool.run(["python3", "-c", script, settings.socketPath])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "7000")
        } }
    }

    /// 5 000 pipelined requests for ~10 KB answers, then the peer closes without reading. The
    /// server answers only until the peer's unread answers fill the write buffer and the
    /// socket (64 KiB and ~208 KiB, Linux's default: a few tens of answers; 7 here), and
    /// nothing once the peer is gone. Answering whatever one read had brought in, it computed
    /// 749.
    @Test func computesNoAnswersForAPeerThatLeft() async throws {
        try await withServer { settings in
            let before = ReflectingHandler.bigAnswers.load(ordering: .relaxed)
            let script = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX)
                s.connect(sys.argv[1])
                s.settimeout(5)
                payload = b'{"op":"popular","domain":"big","k":1000}\\n' * 5000
                s.sendall(payload)
                s.close()
                print(len(payload))
                """
            let result = try await blocking { try ExternalTool.run(["python3", "-c", script, settings.socketPath]) }
            #expect(result.status == 0, "\(result.stderr)")
            // Settled: a health answer on a new connection comes after the closed peer's turn.
            let path = settings.socketPath
            let probe = try await blocking { try QuerySocketClient(path: path, readTimeoutSeconds: 20).request(["op": "health"]) }
            #expect(object(probe)["ok"] as? Bool == true)
            try await Task.sleep(for: .milliseconds(500))
            let computed = ReflectingHandler.bigAnswers.load(ordering: .relaxed) - before
            #expect(computed > 0)
            #expect(computed < 100, "\(computed) answers computed for a peer that read none and left")
        }
    }

    /// An answer that takes longer than the idle timeout (the checkpoint op can): the server
    /// is working for the peer, so the connection is not idle and the answer arrives. A
    /// connection with nothing to do is still closed at the timeout.
    @Test func waitingForTheServerIsNotIdle() async throws {
        try await withServer(configure: { $0.idleTimeoutSeconds = 1 }) { settings in try await blocking {
            let client = try QuerySocketClient(path: settings.socketPath, readTimeoutSeconds: 10)
            let answer = object(try client.request(["op": "recommend", "domain": "slower", "user": "u"]))
            #expect(answer["ok"] as? Bool == true)
            #expect(answer["domain"] as? String == "slower")
            #expect(client.isClosedByPeer())
        } }
    }
}
