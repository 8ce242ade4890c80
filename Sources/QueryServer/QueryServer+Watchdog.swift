import NIOCore
import NIOPosix
import Synchronization

extension QueryServer {
    /// True when every event loop of the server runs a task within `seconds`: a wedged loop
    /// (a blocking call on it) makes this false, and the watchdog stops its pings.
    public func eventLoopsRespond(withinSeconds seconds: Double) async -> Bool {
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            let ran = RanFlag()
            loop.execute { ran.value.store(true, ordering: .releasing) }
            // Polled from outside: waiting on a future of a wedged loop would wedge this check too.
            let deadline = ContinuousClock.now + .seconds(seconds)
            while !ran.value.load(ordering: .acquiring) {
                if ContinuousClock.now > deadline { return false }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        return true
    }
}

/// Set by a task once an event loop ran it.
final class RanFlag: Sendable {
    let value = Atomic<Bool>(false)
}
