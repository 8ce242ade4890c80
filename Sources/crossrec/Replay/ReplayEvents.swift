import ArgumentParser
import CLISupport
import KafkaIngest

/// Events loaded from rating files, in replay order.
struct ReplayEvents {
    struct Event {
        var domain: Int
        var user: String
        var item: String
        var rating: Double
        var timeMillis: Int64
    }

    private(set) var events: [Event] = []
    private(set) var domainNames: [String] = []
    /// One shared string per distinct id: a million ratings of a few thousand items then hold a
    /// few thousand strings, not a million copies scattered over the heap.
    private var interned: [String: String] = [:]

    private mutating func intern(_ id: String) -> String {
        if let existing = interned[id] { return existing }
        interned[id] = id
        return id
    }

    var isEmpty: Bool { events.isEmpty }
    var count: Int { events.count }

    mutating func append(_ lines: [RatingFileReader.Line], domain fixed: String?) {
        events.reserveCapacity(events.count + lines.count)
        for line in lines {
            let name = fixed ?? line.domain ?? "default"
            let domain = domainNames.firstIndex(of: name) ?? {
                domainNames.append(name)
                return domainNames.count - 1
            }()
            // Same rule as the Kafka event parser: at or above 1e11 it is milliseconds.
            let millis = line.time.map { $0 >= 1e11 ? Int64($0) : Int64(($0 * 1000).rounded()) } ?? 0
            events.append(
                Event(domain: domain, user: intern(line.user), item: intern(line.item), rating: line.rating, timeMillis: millis))
        }
    }

    /// Renumbers domains to their index in `names` (held-out files name domains in their own
    /// order); events of a domain not in `names` are dropped.
    mutating func resolveDomains(against names: [String]) {
        let mapping = domainNames.map { names.firstIndex(of: $0) }
        events = events.compactMap { event in
            guard let index = mapping[event.domain] else { return nil }
            var copy = event
            copy.domain = index
            return copy
        }
        domainNames = names
    }

    /// Time, then user, then item (stable: files without times keep their line order).
    mutating func sortByTime() {
        let indexed = events.enumerated().map { ($0.offset, $0.element) }
        events = indexed.sorted { a, b in
            if a.1.timeMillis != b.1.timeMillis { return a.1.timeMillis < b.1.timeMillis }
            if a.1.user != b.1.user { return a.1.user.utf8.lexicographicallyPrecedes(b.1.user.utf8) }
            if a.1.item != b.1.item { return a.1.item.utf8.lexicographicallyPrecedes(b.1.item.utf8) }
            return a.0 < b.0
        }.map(\.1)
    }

    static func parseColumns(_ text: String) throws -> RatingFileReader.Columns {
        var columns = RatingFileReader.Columns(time: nil)
        var named: Set<String> = []
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let index = Int(parts[1]), index >= 0 else {
                throw ValidationError("--columns wants name=index pairs, e.g. user=0,item=1,rating=2,time=3")
            }
            let name = String(parts[0])
            named.insert(name)
            switch name {
            case "user": columns.user = index
            case "item": columns.item = index
            case "rating": columns.rating = index
            case "time": columns.time = index
            case "domain": columns.domain = index
            default: throw ValidationError("unknown column \(name) (user, item, rating, time, domain)")
            }
        }
        guard named.isSuperset(of: ["user", "item", "rating"]) else {
            throw ValidationError("--columns must name user, item and rating")
        }
        return columns
    }

    static func parseDelimiter(_ text: String?) throws -> UInt8? {
        switch text {
        case nil: nil
        case "tab", "\t": 9
        case "comma", ",": UInt8(ascii: ",")
        default: throw ValidationError("--delimiter is tab or comma")
        }
    }
}
