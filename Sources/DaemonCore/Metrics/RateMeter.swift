/// Events per second between two readings.
struct RateMeter {
    private var events: Int
    private var time = ContinuousClock.now

    init(events: Int) {
        self.events = events
    }

    mutating func update(events now: Int) -> Double {
        let elapsed = time.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        defer { (events, time) = (now, .now) }
        return Double(now - events) / max(seconds, 0.001)
    }
}
