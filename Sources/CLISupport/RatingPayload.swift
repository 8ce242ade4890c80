import Foundation
import KafkaIngest
import QueryProtocol

/// A rating as the message a domain topic carries, in the event format the daemon parses
/// (`EventParser`): what `crossrec produce` sends and the benchmarks generate.
public enum RatingPayload {
    public static func text(_ line: RatingFileReader.Line, format: EventFormat) -> String {
        format == .json ? json(line) : csv(line)
    }

    public static func json(_ line: RatingFileReader.Line) -> String {
        let time = line.time.map { ",\"ts\":\(formatNumber($0))" } ?? ""
        return "{\"user\":\(jsonString(line.user)),\"item\":\(jsonString(line.item)),\"rating\":\(formatNumber(line.rating))\(time)}"
    }

    public static func csv(_ line: RatingFileReader.Line) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        let time = line.time.map { ",\(formatNumber($0))" } ?? ""
        return "\(field(line.user)),\(field(line.item)),\(formatNumber(line.rating))\(time)"
    }
}

/// A JSON string literal (the protocol's own encoder).
public func jsonString(_ text: String) -> String { JSONValue.string(text).encoded }

/// Integers without a fraction, others in the shortest round-trip form.
public func formatNumber(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
}
