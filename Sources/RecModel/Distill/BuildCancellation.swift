import Synchronization

/// Asks a build in progress to stop. The daemon's graceful shutdown sets it: SIGTERM should
/// write the final checkpoint at once, not wait for a model nobody will serve (a debug build
/// of a few thousand users takes seconds; a release build at 1 M users, 11–20 s).
///
/// The build checks it between its phases (the joint models' trials, the refits, each domain,
/// the fidelity and index measurements) and in its iterative loops (sweeps, power iterations,
/// conjugate-gradient rounds), which end early once it is set. Whatever an early end leaves is
/// thrown away: `distill` checks once more before it returns and throws `BuildCancelled`, so a
/// cancelled build never yields a model. Set once, never cleared.
public final class BuildCancellation: Sendable, Equatable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .relaxed) }

    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    func check() throws(BuildCancelled) {
        if isCancelled { throw BuildCancelled() }
    }

    /// The same token (options compare equal only when they would stop together).
    public static func == (a: BuildCancellation, b: BuildCancellation) -> Bool { a === b }
}

/// A build stopped by its `BuildCancellation`.
public struct BuildCancelled: Error, Sendable, CustomStringConvertible {
    public var description: String { "the build was cancelled" }
}

extension DistillOptions {
    /// True once the build's cancellation is set: iterative loops end early (their result is
    /// thrown away by the next check).
    var isCancelled: Bool { cancellation?.isCancelled ?? false }

    func checkCancelled() throws(BuildCancelled) { try cancellation?.check() }
}
