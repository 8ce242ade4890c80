import Foundation
import QueryProtocol
import QueryServer
import Synchronization
import Testing
import TestSupport

@Suite("Shutdown while clients connect", .serialized)
struct ShutdownStressTests {
    /// Clients keep connecting while the server stops. A connection accepted while the
    /// listener closed could stay half set up (never active) and the server waited for it to
    /// close for ever, so the daemon never reached its final checkpoint. Now the server closes
    /// what is left after the quiesce time and returns; 60 s is a liveness guard, not a speed
    /// bound (a round takes a few seconds at most).
    @Test func stopReturnsWhileClientsAreConnecting() async throws {
        for round in 0..<20 {
            let directory = try makeShortTemporaryDirectory("qs")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let running = try await RunningServer.start(QueryServerSettings(socketPath: "\(directory)/q.sock"))
            let path = running.settings.socketPath
            let clients = Task {
                try await blocking { () -> Int in
                    var answered = 0
                    for _ in 0..<300 {
                        guard let client = try? QuerySocketClient(path: path, readTimeoutSeconds: 2) else { continue }
                        if let line = try? client.request(["op": "health"]), object(line)["ok"] as? Bool == true { answered += 1 }
                    }
                    return answered
                }
            }
            try await Task.sleep(for: .milliseconds(5))
            // Polled, not awaited: a shutdown that never returns must fail the test, not hang it.
            let finished = Mutex(false)
            let stopping = Task {
                try await running.stop()
                finished.withLock { $0 = true }
            }
            let deadline = Date(timeIntervalSinceNow: 60)
            while Date() < deadline, !finished.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            let stopped = finished.withLock { $0 }
            guard stopped else {
                Issue.record("round \(round): the server did not return from shutdown")
                return
            }
            try await stopping.value
            #expect(stopped, "round \(round): the server did not return from shutdown")
            #expect(running.server.activeConnections == 0, "round \(round)")
            #expect(!FileManager.default.fileExists(atPath: path))
            _ = try await clients.value
        }
    }
}
