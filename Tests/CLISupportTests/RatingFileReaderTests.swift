import CLISupport
import Foundation
import KafkaIngest
import Testing

@Suite("Rating files")
struct RatingFileReaderTests {
    private func read(_ text: String, _ reader: RatingFileReader = RatingFileReader()) -> RatingFileReader.Result {
        Array(text.utf8).withUnsafeBytes { reader.read(bytes: $0) }
    }

    @Test func skipsAHeaderDetectsTabsAndReadsTimes() {
        let result = read("user_id\titem_id\trating\ttimestamp\r\nu1\ti1\t4\t978300760\n\nu2\ti2\t3.5\t978300761\n")
        #expect(result.lines == [
            RatingFileReader.Line(user: "u1", item: "i1", rating: 4, time: 978_300_760),
            RatingFileReader.Line(user: "u2", item: "i2", rating: 3.5, time: 978_300_761),
        ])
        #expect(result.rejected.isEmpty)
    }

    @Test func readsCommasColumnsInAnyOrderAndADomainColumn() {
        let columns = RatingFileReader.Columns(user: 2, item: 0, rating: 1, time: nil, domain: 3)
        let result = read("i7,5,u3,books\ni8,+2,u4,movies\n", RatingFileReader(columns: columns))
        #expect(result.lines == [
            RatingFileReader.Line(user: "u3", item: "i7", rating: 5, domain: "books"),
            RatingFileReader.Line(user: "u4", item: "i8", rating: 2, domain: "movies"),
        ])
    }

    /// A bad line is set aside with its 1-based number and why; the lines around it are read.
    /// A first line that is not a header when `hasHeader` is false is a rating like any other.
    @Test func setsAsideBadLinesWithTheirNumbers() {
        let result = read("u1,i1,4,100\nu2,i2,five,101\nu3,,3,102\nu4,i4,2,later\nu5,i5,1\n", RatingFileReader(hasHeader: false))
        #expect(result.lines.map(\.user) == ["u1", "u5"])
        #expect(result.lines.last?.time == nil)
        #expect(result.rejected.map(\.line) == [2, 3, 4])
        #expect(result.rejected.first?.reason == "line 2: expected user, item and a numeric rating")
        let headerRefused = read("user,item,rating\nu1,i1,4\n", RatingFileReader(hasHeader: false))
        #expect(headerRefused.rejected.map(\.line) == [1])
        #expect(headerRefused.lines.count == 1)
    }

    @Test func aFileThatCannotBeReadIsNamedInWords() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rating-reader-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for path in [directory.path + "/missing.csv", directory.path] {
            #expect {
                _ = try RatingFileReader().read(path: path)
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("cannot read \(path): ") && !text.contains("NSCocoaErrorDomain")
            }
        }
    }

    /// What `crossrec produce` sends is what the daemon's parser reads back, in both formats,
    /// with ids that need quoting or escaping.
    @Test func payloadsParseBackToTheSameRating() {
        let lines = [
            RatingFileReader.Line(user: "plain", item: "i1", rating: 4.5, time: 1_700_000_000),
            RatingFileReader.Line(user: "with,comma \"quoted\"", item: "ü\\slash", rating: 3),
        ]
        for format in EventFormat.allCases {
            let parser = EventParser(format: format, ratingRange: 0.5...5)
            for line in lines {
                let outcome = parser.parse(Array(RatingPayload.text(line, format: format).utf8))
                #expect(outcome == .event(RatingEvent(
                    user: line.user, item: line.item, rating: line.rating,
                    timestampMillis: line.time.map { Int64($0) * 1000 })), "\(format) \(line)")
            }
        }
    }
}
