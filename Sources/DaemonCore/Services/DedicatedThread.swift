import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Blocking work on a thread of its own, off Swift's cooperative pool.
enum DedicatedThread {
    /// The nice value of background work (model builds, checkpoint writes): when the cores
    /// are contended, the query and ingest threads (nice 0) get about nine tenths of a core
    /// against it, and a build only takes longer. (In the 10-connection query bench a build
    /// every 10 s costs ~0.1–0.2 ms of p99; at nice 10 the difference stayed within the
    /// noise of 2 runs each: docs/BENCHMARKS.md.)
    static let backgroundNice: Int32 = 10

    /// Runs `body` on a new thread and resumes when it is done; `nice` > 0 lowers that
    /// thread's priority (Linux keeps the nice value per thread).
    static func run<T: Sendable>(nice: Int32 = 0, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            Thread {
                #if os(Linux)
                // who = 0: the calling thread. A failure leaves the default priority.
                if nice > 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) }
                #endif
                continuation.resume(returning: body())
            }.start()
        }
    }
}
