import Foundation
import JSONScanning
import KafkaIngest

/// Reads rating files (CSV/TSV, one rating a line) for `crossrec replay` and `crossrec produce`.
public struct RatingFileReader: Sendable {
    /// Zero-based column of each field.
    public struct Columns: Sendable, Equatable {
        public var user = 0
        public var item = 1
        public var rating = 2
        public var time: Int? = 3
        public var domain: Int?

        public init(user: Int = 0, item: Int = 1, rating: Int = 2, time: Int? = 3, domain: Int? = nil) {
            self.user = user
            self.item = item
            self.rating = rating
            self.time = time
            self.domain = domain
        }
    }

    /// One line of a rating file.
    public struct Line: Sendable, Equatable {
        public var user: String
        public var item: String
        public var rating: Double
        /// As written in the file (seconds or milliseconds, see `EventParser`); nil when absent.
        public var time: Double?
        public var domain: String?

        public init(user: String, item: String, rating: Double, time: Double? = nil, domain: String? = nil) {
            self.user = user
            self.item = item
            self.rating = rating
            self.time = time
            self.domain = domain
        }
    }

    /// What was read, and what was not (line numbers are 1-based).
    public struct Result: Sendable {
        public var lines: [Line]
        public var rejected: [(line: Int, reason: String)]
    }

    public var columns: Columns
    /// Nil: tab if the first line has one, else comma.
    public var delimiter: UInt8?
    /// Nil: skip the first line when its rating column is not a number.
    public var hasHeader: Bool?

    public init(columns: Columns = Columns(), delimiter: UInt8? = nil, hasHeader: Bool? = nil) {
        self.columns = columns
        self.delimiter = delimiter
        self.hasHeader = hasHeader
    }

    /// Throws `ReadError` (the path and why, in words) when the file cannot be read.
    ///
    /// - Parameter progress: called with the bytes read so far and the file's size, every few
    ///   MiB and at the end (for a progress bar).
    public func read(path: String, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> Result {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ReadError(path: path, reason: FileProblem.describe(path: path, error: error))
        }
        return data.withUnsafeBytes { read(bytes: $0, progress: progress) }
    }

    public func read(bytes: UnsafeRawBufferPointer, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) -> Result {
        var result = Result(lines: [], rejected: [])
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return result }
        let end = bytes.count
        var start = 0
        var lineNumber = 0
        var separator = delimiter
        let progressStep = 4 << 20
        var nextProgress = progressStep
        defer { progress?(end, end) }
        while start < end {
            if start >= nextProgress {
                progress?(start, end)
                nextProgress = start + progressStep
            }
            var stop = start
            while stop < end, base[stop] != 10 { stop += 1 }
            var trimmed = stop
            if trimmed > start, base[trimmed - 1] == 13 { trimmed -= 1 }
            lineNumber += 1
            defer { start = stop + 1 }
            if trimmed == start { continue }
            if separator == nil {
                separator = (start..<trimmed).contains { base[$0] == 9 } ? 9 : UInt8(ascii: ",")
            }
            let fields = split(base, start, trimmed, separator!)
            let parsed = parse(fields, base)
            if lineNumber == 1, hasHeader ?? (parsed == nil) { continue }
            if let parsed { result.lines.append(parsed) } else {
                result.rejected.append((lineNumber, "line \(lineNumber): expected user, item and a numeric rating"))
            }
        }
        return result
    }

    private func split(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ separator: UInt8) -> [Range<Int>] {
        var fields: [Range<Int>] = []
        var fieldStart = start
        for index in start..<end where base[index] == separator {
            fields.append(fieldStart..<index)
            fieldStart = index + 1
        }
        fields.append(fieldStart..<end)
        return fields
    }

    private func parse(_ fields: [Range<Int>], _ base: UnsafePointer<UInt8>) -> Line? {
        func text(_ column: Int) -> String? {
            guard column < fields.count else { return nil }
            let range = fields[column]
            let value = String(decoding: UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), as: UTF8.self)
            return value.isEmpty ? nil : value
        }
        func number(_ column: Int) -> Double? {
            guard column < fields.count, !fields[column].isEmpty,
                let (value, next) = parseNumber(base, fields[column].lowerBound, fields[column].upperBound, allowPlus: true),
                next == fields[column].upperBound, value.isFinite
            else { return nil }
            return value
        }
        guard let user = text(columns.user), let item = text(columns.item), let rating = number(columns.rating) else {
            return nil
        }
        let time = columns.time.flatMap { number($0) }
        if let column = columns.time, column < fields.count, !fields[column].isEmpty, time == nil { return nil }
        return Line(user: user, item: item, rating: rating, time: time, domain: columns.domain.flatMap { text($0) })
    }
}

extension RatingFileReader {
    public struct ReadError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot read \(path): \(reason)" }

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }
}
