@testable import RecModel
import Testing

@Suite("Prequential metrics")
struct PrequentialMetricsTests {
    /// Errors that change sign and size, so squared and absolute sums differ.
    static func error(_ index: Int) -> (model: Double, baseline: Double) {
        (Double(index % 7) * 0.25 - 0.7, Double(index % 5) * 0.5 - 1.1)
    }

    @Test func theWindowCoversExactlyTheLastEventsAfterManyWraps() throws {
        var metrics = PrequentialMetrics(window: 100)
        let events = 1_037
        for index in 0..<events { metrics.record(error: Self.error(index).model, baselineError: Self.error(index).baseline) }
        let all = (0..<events).map(Self.error)
        let last = all.suffix(100)
        func rmse(_ values: some Collection<Double>) -> Double {
            (values.reduce(0) { $0 + $1 * $1 } / Double(values.count)).squareRoot()
        }
        func mae(_ values: some Collection<Double>) -> Double { values.reduce(0) { $0 + abs($1) } / Double(values.count) }
        #expect(metrics.count == events)
        #expect(metrics.windowCount == 100)
        #expect(abs(metrics.rmse - rmse(all.map(\.model))) < 1e-12)
        #expect(abs(metrics.baselineMAE - mae(all.map(\.baseline))) < 1e-12)
        // The ring stores errors as floats: the window agrees to float precision.
        #expect(abs(metrics.windowRMSE - rmse(last.map(\.model))) < 1e-6)
        #expect(abs(metrics.windowMAE - mae(last.map(\.model))) < 1e-6)
        #expect(abs(metrics.windowBaselineRMSE - rmse(last.map(\.baseline))) < 1e-6)
        #expect(abs(metrics.windowBaselineMAE - mae(last.map(\.baseline))) < 1e-6)
        #expect(abs(metrics.windowRMSE - metrics.rmse) > 1e-3, "the window must differ from the whole stream here")
    }

    @Test func anEmptyWindowHasNoFigures() {
        let metrics = PrequentialMetrics(window: 10)
        #expect(metrics.windowRMSE.isNaN)
        #expect(metrics.rmse.isNaN)
    }

    @Test func archiveRoundTripKeepsTheWindow() throws {
        var metrics = PrequentialMetrics(window: 50)
        for index in 0..<173 { metrics.record(error: Self.error(index).model, baselineError: Self.error(index).baseline) }
        let section = ArchiveSection(kind: ArchiveSection.metrics)
        var buffer = ArchiveBuffer()
        buffer.beginSection(section)
        try metrics.archive(into: &buffer)
        let bytes = try #require(buffer.sections.values.first)
        try bytes.withUnsafeBytes { raw in
            var same = ArchiveReader(raw, section: section)
            let restored = try PrequentialMetrics.restore(window: 50, from: &same)
            #expect(restored == metrics)
            #expect(restored.windowRMSE == metrics.windowRMSE)
            var other = ArchiveReader(raw, section: section)
            let restarted = try PrequentialMetrics.restore(window: 60, from: &other)
            #expect(restarted.windowCount == 0, "another window restarts the sliding window")
            #expect(restarted.count == metrics.count)
        }
    }
}
