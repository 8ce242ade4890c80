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
        /// Squared and absolute errors over a run of events.
        struct Errors {
            var count = 0, squared = 0.0, absolute = 0.0
            mutating func add(_ error: Double) {
                count += 1
                squared += error * error
                absolute += abs(error)
            }
            var rmse: Double { (squared / Double(count)).squareRoot() }
            var mae: Double { absolute / Double(count) }
        }
        // Per domain: since the start, and the open window (errors and ranked events).
        var total = [Errors](repeating: Errors(), count: domainNames.count)
        var windowErrors = total
        var windowPositions = [ListPositions](repeating: ListPositions(), count: domainNames.count)
        var sampleCursor = 0
        func close(_ d: Int) {
            let (errors, positions) = (windowErrors[d], windowPositions[d])
            guard errors.count > 0 else { return }
            points.append(Point(
                domain: domainNames[d], events: total[d].count, windowRMSE: errors.rmse, windowMAE: errors.mae,
                rmse: total[d].rmse, mae: total[d].mae, ranked: positions.sampled, hr10: positions.hr10, ndcg10: positions.meanNDCG10))
            windowErrors[d] = Errors()
            windowPositions[d] = ListPositions()
        }
        for (index, error) in errors.enumerated() {
            let d = domains[index]
            while sampleCursor < samples.count, samples[sampleCursor].index == index {
                windowPositions[d].add(position: samples[sampleCursor].position)
                sampleCursor += 1
            }
            total[d].add(error)
            windowErrors[d].add(error)
            if windowErrors[d].count == window { close(d) }
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
