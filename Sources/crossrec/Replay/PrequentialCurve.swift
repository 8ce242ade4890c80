import Foundation

/// The prequential learning curve of a replay: per domain, per window of that domain's events,
/// the error of the predictions made before each event was learned, and the ranking figures of
/// the events sampled in that window (`--rank-every`). `replay --curve FILE` writes it as CSV
/// for bench/plots.py; the peers' scripts write the same columns.
struct PrequentialCurve {
    struct Point: Equatable {
        var domain: String
        /// The domain's events learned at the end of the window.
        var events: Int
        var windowRMSE, windowMAE: Double
        /// Since the start of the stream.
        var rmse, mae: Double
        /// Ranking samples in the window; HR@10 and NDCG@10 are nil without any.
        var ranked: Int
        var hr10, ndcg10: Double?
    }

    /// A ranked event: its stream index and the item's position in the user's list before.
    struct RankSample {
        var index: Int
        var position: Int
    }

    var points: [Point] = []

    /// - Parameters:
    ///   - errors: prediction minus rating for each event, in stream order.
    ///   - domains: each event's domain index, in stream order.
    ///   - window: events of one domain per point (the last window may be shorter).
    init(errors: [Double], domains: [Int], domainNames: [String], samples: [RankSample], window: Int) {
        precondition(window > 0 && errors.count == domains.count)
        struct Accumulator {
            var count = 0, windowCount = 0, ranked = 0, hits = 0
            var squared = 0.0, absolute = 0.0, windowSquared = 0.0, windowAbsolute = 0.0, ndcg = 0.0
        }
        var state = [Accumulator](repeating: Accumulator(), count: domainNames.count)
        var sampleCursor = 0
        func close(_ d: Int) {
            let s = state[d]
            guard s.windowCount > 0 else { return }
            points.append(Point(
                domain: domainNames[d], events: s.count,
                windowRMSE: (s.windowSquared / Double(s.windowCount)).squareRoot(), windowMAE: s.windowAbsolute / Double(s.windowCount),
                rmse: (s.squared / Double(s.count)).squareRoot(), mae: s.absolute / Double(s.count),
                ranked: s.ranked, hr10: s.ranked > 0 ? Double(s.hits) / Double(s.ranked) : nil,
                ndcg10: s.ranked > 0 ? s.ndcg / Double(s.ranked) : nil))
            state[d].windowCount = 0
            state[d].windowSquared = 0
            state[d].windowAbsolute = 0
            state[d].ranked = 0
            state[d].hits = 0
            state[d].ndcg = 0
        }
        for (index, error) in errors.enumerated() {
            let d = domains[index]
            while sampleCursor < samples.count, samples[sampleCursor].index == index {
                let position = samples[sampleCursor].position
                state[d].ranked += 1
                if position < 10 {
                    state[d].hits += 1
                    state[d].ndcg += 1 / log2(Double(position) + 2)
                }
                sampleCursor += 1
            }
            state[d].count += 1
            state[d].windowCount += 1
            state[d].squared += error * error
            state[d].absolute += abs(error)
            state[d].windowSquared += error * error
            state[d].windowAbsolute += abs(error)
            if state[d].windowCount == window { close(d) }
        }
        for d in domainNames.indices { close(d) }
    }

    static let header = "domain,events,window_rmse,window_mae,rmse,mae,ranked,hr10,ndcg10"

    var csv: String {
        func number(_ value: Double?) -> String { value.map { String(format: "%.6f", $0) } ?? "" }
        return ([Self.header] + points.map { p in
            [p.domain, "\(p.events)", number(p.windowRMSE), number(p.windowMAE), number(p.rmse), number(p.mae), "\(p.ranked)",
             number(p.hr10), number(p.ndcg10)].joined(separator: ",")
        }).joined(separator: "\n") + "\n"
    }
}
