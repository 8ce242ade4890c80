import Foundation
import QueryProtocol
import RecModel
import Testing

/// The response encoder against Foundation's JSON parser: whatever the strings hold (quotes,
/// backslashes, control characters, multi-byte UTF-8), the line parses back to the same value.
@Suite("Response encoding")
struct JSONValueTests {
    static let pieces = ["a", "é", "😀", "\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{1F}", "\u{7F}", " ", "/", "日本"]

    @Test func encodedLinesParseBackToTheSameValue() throws {
        var generator = SplitMix64(seed: 3)
        for _ in 0..<2_000 {
            let text = (0..<Int(generator.next() % 12)).map { _ in Self.pieces[Int(generator.next() % UInt64(Self.pieces.count))] }.joined()
            let number = Double(Int64(truncatingIfNeeded: generator.next() % 2_000_001) - 1_000_000) / 64
            let value = JSONValue.object([
                text: .array([.string(text), .number(number), .integer(-42), .bool(true), .null]),
                "z": .object(["k": .string(text)]),
            ])
            let line = value.encoded
            #expect(!line.contains("\n"))
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let array = try #require(parsed[text] as? [Any])
            #expect(array[0] as? String == text)
            #expect((array[1] as? NSNumber)?.doubleValue == number)
            #expect((array[2] as? NSNumber)?.int64Value == -42)
            #expect(((parsed["z"] as? [String: Any])?["k"] as? String) == text)
        }
    }

    @Test func keysAreSortedAndNumbersCanonical() {
        let line = JSONValue.object([
            "b": .number(2), "a": .number(0.5), "c": .number(.nan), "d": .array([]), "e": .object([:]),
        ]).encoded
        #expect(line == #"{"a":0.5,"b":2,"c":null,"d":[],"e":{}}"#)
        #expect(JSONValue.string("\u{01}\"\\").encoded == #""\u0001\"\\""#)
    }
}
