import Replication
import Testing

@Suite("Publishing pace")
struct PublishPaceTests {
    @Test func waitsUntilTheBytesSentAreDueAtTheRate() {
        let pace = PublishPace(megabytesPerSecond: 2)  // 2 bytes per µs
        #expect(pace.isPaced)
        #expect(pace.delayNanos(sent: 0, elapsedNanos: 0) == 0, "the first chunk goes at once")
        #expect(pace.delayNanos(sent: 1_000_000, elapsedNanos: 100_000_000) == 400_000_000, "1 MB is due at 0.5 s")
        #expect(pace.delayNanos(sent: 1_000_000, elapsedNanos: 600_000_000) == 0, "behind the rate: no wait")
    }

    @Test func zeroOrLessIsUnpaced() {
        for rate in [0.0, -3] {
            let pace = PublishPace(megabytesPerSecond: rate)
            #expect(!pace.isPaced && pace.delayNanos(sent: 1 << 30, elapsedNanos: 0) == 0)
        }
    }
}
