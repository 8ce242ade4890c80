import Dispatch
import RecModel
import Synchronization
import Testing

/// A cancelled build never yields a model, and stops inside its long loops: the daemon's
/// graceful shutdown waits for nothing else before the final checkpoint.
@Suite("Build cancellation")
struct BuildCancellationTests {
    @Test func aBuildCancelledBeforeItStartsThrowsAndAnUncancelledOneServes() throws {
        let learner = DistillTests.learner()
        var options = DistillTests.options
        options.jointRefitSweeps = 0
        let cancelled = BuildCancellation()
        cancelled.cancel()
        #expect(throws: BuildCancelled.self) { try learner.distill(version: 1, options: options, cancellation: cancelled) }
        let served = try learner.distill(version: 1, options: options, cancellation: BuildCancellation())
        #expect(served.version == 1)
        #expect(served.predict(user: "u0", item: "i0", domain: 1) != nil)
    }

    /// A billion sweeps of each refit: the build ends only if the sweeps watch the
    /// cancellation. It is set while they run (or before, on a slow start: the build throws
    /// either way). Without the check the build spins on: the wait below fails the test.
    @Test func aCancelledBuildLeavesItsSweepsAndThrows() {
        let learner = DistillTests.learner()
        var options = DistillTests.options
        options.jointRefitSweeps = 1_000_000_000
        options.refitSweeps = 1_000_000_000
        let cancellation = BuildCancellation()
        let outcome = Mutex<Result<ServingModel, BuildCancelled>?>(nil)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { [options] in
            let result = Result { () throws(BuildCancelled) in try learner.distill(version: 1, options: options, cancellation: cancellation) }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        // Not a speed limit: a generous bound on a build that would otherwise never end.
        #expect(finished.wait(timeout: .now() + 0.5) == .timedOut, "a billion sweeps do not end by themselves")
        cancellation.cancel()
        #expect(finished.wait(timeout: .now() + 120) == .success, "the cancelled build returned")
        let result = outcome.withLock { $0 }
        guard case .failure = result else {
            Issue.record("a cancelled build must throw, not serve: \(String(describing: result))")
            return
        }
    }
}
