import Foundation
import RecModel

/// Error of predictions for held-out ratings (`crossrec replay --predict`): the cold-start
/// protocol of the cross-domain benchmark, where the held-out users have no rating in the
/// target domain.
struct ColdStartEvaluation {
    struct Errors {
        var count = 0
        var squared = 0.0
        var absolute = 0.0

        mutating func add(_ error: Double) {
            count += 1
            squared += error * error
            absolute += abs(error)
        }

        var rmse: Double { count > 0 ? (squared / Double(count)).squareRoot() : .nan }
        var mae: Double { count > 0 ? absolute / Double(count) : .nan }
        var json: [String: Any] { ["count": count, "rmse": rmse, "mae": mae] }
    }

    var all = Errors()
    var byStrategy: [String: Errors] = [:]
    var unknownItems = 0
    /// Each event's prediction (clamped to the range) and strategy, in the events' order.
    private(set) var predictions: [(value: Double, strategy: String)] = []

    /// Predicts every event with `predict` (nil: the item is unknown to the model, predicted as
    /// the middle of the range and counted).
    init(_ events: [ReplayEvents.Event], range: ClosedRange<Double>, predict: (ReplayEvents.Event) -> (Double, String)?) {
        for event in events {
            let (value, strategy) = predict(event) ?? ((range.lowerBound + range.upperBound) / 2, "unknown_item")
            if strategy == "unknown_item" { unknownItems += 1 }
            let clamped = min(max(value, range.lowerBound), range.upperBound)
            predictions.append((clamped, strategy))
            let error = clamped - event.rating
            all.add(error)
            byStrategy[strategy, default: Errors()].add(error)
        }
    }

    var json: [String: Any] {
        all.json.merging(["by_strategy": byStrategy.mapValues(\.json), "unknown_items": unknownItems]) { $1 }
    }

    /// One line per event (the ones predicted, in the same order): user, item, rating,
    /// prediction, strategy, tab-separated; paired comparisons with other models start here.
    func predictionsTSV(_ events: [ReplayEvents.Event]) -> String {
        zip(events, predictions).map { event, prediction in
            "\(event.user)\t\(event.item)\t\(event.rating)\t\(prediction.value)\t\(prediction.strategy)\n"
        }.joined()
    }

    var text: String {
        var lines = [String(format: "held-out ratings: %d, RMSE %.4f, MAE %.4f", all.count, all.rmse, all.mae)]
        for (strategy, errors) in byStrategy.sorted(by: { $0.key < $1.key }) {
            lines.append(String(format: "  %@: %d, RMSE %.4f, MAE %.4f", strategy, errors.count, errors.rmse, errors.mae))
        }
        return lines.joined(separator: "\n")
    }
}
