import Foundation
import RecModel

/// What `crossrec replay` prints.
struct ReplayReport {
    struct Domain {
        var statistics: Learner.DomainStatistics
        var tailRMSE: Double
        var tailMAE: Double
        var ranking: PrequentialRanking?
        var items: Int
    }

    var domains: [Domain]
    var events: Int
    /// Learning time; the median of `runSeconds` when the stream was learned several times.
    var seconds: Double
    var runSeconds: [Double] = []
    var peakResidentBytes: Int
    var dimension: Int
    /// With `--curve`: the prequential curve.
    var curve: PrequentialCurve?

    var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }

    func table() -> String {
        var rows = [["domain", "events", "users", "items", "RMSE", "MAE", "RMSE last10%", "MAE last10%", "baseline RMSE", "baseline MAE"]]
        for domain in domains {
            let s = domain.statistics
            rows.append([
                s.name, "\(s.events)", "\(s.users)", "\(s.items)", format(s.metrics.rmse), format(s.metrics.mae),
                format(domain.tailRMSE), format(domain.tailMAE), format(s.metrics.baselineRMSE), format(s.metrics.baselineMAE),
            ])
        }
        let rankingRows = domains.compactMap { domain in
            domain.ranking.map { ranking in
                let j = ranking.json(items: domain.items)
                return String(
                    format: "%@: prequential ranking on %d sampled events: HR@10 %.4f, NDCG@10 %.4f, MRR %.4f, coverage@10 %.3f",
                    domain.statistics.name, ranking.sampled, j["hr10"] as! Double, j["ndcg10"] as! Double, j["mrr"] as! Double,
                    j["coverage10"] as! Double)
            }
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = rows.map { row in
            row.enumerated().map { index, cell in
                index == 0 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
        text += String(
            format: "\n%d events in %.3f s: %.0f events/s (learner only), d=%d, peak RSS %.1f MiB",
            events, seconds, eventsPerSecond, dimension, Double(peakResidentBytes) / 1_048_576)
        if !rankingRows.isEmpty { text += "\n" + rankingRows.joined(separator: "\n") }
        if runSeconds.count > 1 {
            text += "\nmedian of \(runSeconds.count) runs: "
                + runSeconds.map { String(format: "%.2f M", Double(events) / $0 / 1e6) }.joined(separator: ", ") + " events/s"
        }
        return text
    }

    func json(extra: [String: Any] = [:]) -> String {
        let object: [String: Any] = extra.merging([
            "events": events, "seconds": seconds, "events_per_second": eventsPerSecond, "dimension": dimension,
            "peak_rss_bytes": peakResidentBytes, "run_events_per_second": runSeconds.map { Double(events) / $0 },
            "domains": domains.map { domain -> [String: Any] in
                let s = domain.statistics
                var fields: [String: Any] = [
                    "domain": s.name, "events": s.events, "users": s.users, "items": s.items,
                    "rmse": s.metrics.rmse, "mae": s.metrics.mae, "rmse_last10": domain.tailRMSE, "mae_last10": domain.tailMAE,
                    "baseline_rmse": s.metrics.baselineRMSE, "baseline_mae": s.metrics.baselineMAE,
                ]
                if let ranking = domain.ranking { fields["ranking"] = ranking.json(items: domain.items) }
                return fields
            },
        ]) { $1 }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func format(_ value: Double) -> String { value.isNaN ? "-" : String(format: "%.4f", value) }
}
