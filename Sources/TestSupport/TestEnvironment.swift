import Foundation

/// A fresh directory under /tmp with a short path (Unix socket paths must stay under ~107 bytes).
public func makeShortTemporaryDirectory(_ prefix: String = "cr") throws -> String {
    let path = "/tmp/\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs blocking work (socket reads, process waits) on a thread of its own, so that it never
/// occupies one of the few cooperative threads the code under test needs to answer it.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
