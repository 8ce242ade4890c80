import ArgumentParser
import Dispatch
import RecModel

/// Scoring every item of a domain for one query: float rows (what the learner scans today)
/// against int8 rows of a smaller dimension (the serving model's layout).
struct TopKBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topk", abstract: "Per-query scoring time: float rows vs int8 rows, one core.")

    @Option(help: "Items scored per query.") var items = 100_000
    @Option(help: "Dimension of the float rows.") var floatDimension = 32
    @Option(help: "Dimension of the int8 rows.") var int8Dimension = 16
    @Option(help: "Queries per measurement.") var queries = 200
    @Option(help: "Repetitions; the median is reported.") var repeats = 5

    func run() throws {
        var generator = SplitMix64(seed: 9)
        let floats = (0..<(items * floatDimension)).map { _ in generator.nextSignedUnitFloat() }
        let small = (0..<(items * int8Dimension)).map { _ in generator.nextSignedUnitFloat() }
        let int8 = small.withUnsafeBufferPointer { buffer in
            Int8Rows(dimension: int8Dimension, count: items) { buffer.baseAddress! + $0 * int8Dimension }
        }
        let query = (0..<max(floatDimension, int8Dimension)).map { _ in generator.nextSignedUnitFloat() }
        var scores = [Float](repeating: 0, count: items)
        var floatTimes: [Double] = [], int8Times: [Double] = []
        var checksum: Float = 0
        for _ in 0..<repeats {
            var start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<queries {
                floats.withUnsafeBufferPointer { rows in
                    query.withUnsafeBufferPointer { q in
                        for index in 0..<items {
                            scores[index] = VectorMath.dot(rows.baseAddress! + index * floatDimension, q.baseAddress!, floatDimension)
                        }
                    }
                }
                checksum += scores[0]
            }
            floatTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(queries) / 1e3)
            start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<queries {
                query.withUnsafeBufferPointer { q in scores.withUnsafeMutableBufferPointer { int8.scores(q.baseAddress!, into: $0) } }
                checksum += scores[0]
            }
            int8Times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(queries) / 1e3)
        }
        print(String(format: "score %d items: float d=%d median %.0f µs/query (%.1f MB), int8 d=%d median %.0f µs/query (%.1f MB); ratio %.1f× [%g]",
            items, floatDimension, median(floatTimes), Double(items * floatDimension * 4) / 1e6, int8Dimension, median(int8Times),
            Double(int8.byteCount) / 1e6, median(floatTimes) / median(int8Times), checksum.isFinite ? 0 : 1))
    }
}
