import KafkaIngest
import Testing

@Suite("Event parsing")
struct EventParserTests {
    let json = EventParser(format: .json, ratingRange: 0.5...5)
    let csv = EventParser(format: .csv, ratingRange: 1...5)

    private func parse(_ parser: EventParser, _ text: String) -> ParseOutcome {
        parser.parse(Array(text.utf8))
    }

    @Test func parsesTheDocumentedJSONEvent() {
        #expect(parse(json, #"{"user":"u1","item":"i9","rating":4.5,"ts":1700000000}"#)
            == .event(RatingEvent(user: "u1", item: "i9", rating: 4.5, timestampMillis: 1_700_000_000_000)))
    }

    @Test func readsTimestampsInSecondsOrMilliseconds() {
        #expect(parse(json, #"{"user":"u","item":"i","rating":1,"ts":1700000000123}"#)
            == .event(RatingEvent(user: "u", item: "i", rating: 1, timestampMillis: 1_700_000_000_123)))
        #expect(parse(json, #"{"user":"u","item":"i","rating":1,"ts":1700000000.5}"#)
            == .event(RatingEvent(user: "u", item: "i", rating: 1, timestampMillis: 1_700_000_000_500)))
        #expect(parse(json, #"{"user":"u","item":"i","rating":1,"ts":null}"#)
            == .event(RatingEvent(user: "u", item: "i", rating: 1)))
    }

    @Test func ignoresExtraFieldsWhitespaceAndOrder() {
        let text = #" { "extra" : {"a":[1,2,{"b":null}],"c":"x\"y"}, "rating" : 3e0 , "item":"i", "user":"u" , "z":true } "#
        #expect(parse(json, text) == .event(RatingEvent(user: "u", item: "i", rating: 3)))
    }

    @Test func decodesEscapesAndAcceptsIntegerIDs() {
        #expect(parse(json, #"{"user":"caf\u00e9 \ud83d\ude00","item":42,"rating":2}"#)
            == .event(RatingEvent(user: "café 😀", item: "42", rating: 2)))
        #expect(parse(json, #"{"us\u0065r":"u","item":"i","rating":2}"#)
            == .event(RatingEvent(user: "u", item: "i", rating: 2)))
    }

    @Test(arguments: [
        ("", RejectReason.malformed), ("not json", .malformed), (#"{"user":"u","item":"i","rating":4"#, .malformed),
        (#"{"user":"u","item":"i","rating":4}x"#, .malformed), (#"{"user":"u","user":"v","item":"i","rating":4}"#, .malformed),
        (#"{"user":"u","item":"i","rating":01}"#, .malformed), (#"[1,2]"#, .malformed),
        (#"{"user":"u","item":"i"}"#, .missingField), (#"{"item":"i","rating":3}"#, .missingField),
        (#"{"user":"u","item":"i","rating":"4"}"#, .wrongType), (#"{"user":true,"item":"i","rating":4}"#, .wrongType),
        (#"{"user":"u","item":1.5,"rating":4}"#, .wrongType), (#"{"user":"u","item":"i","rating":4,"ts":"now"}"#, .wrongType),
        (#"{"user":"u","item":"i","rating":1e999}"#, .nonFiniteRating),
        (#"{"user":"u","item":"i","rating":5.01}"#, .ratingOutOfRange), (#"{"user":"u","item":"i","rating":0}"#, .ratingOutOfRange),
        (#"{"user":"","item":"i","rating":4}"#, .emptyID),
        ("{\"user\":\"\(String(repeating: "x", count: 257))\",\"item\":\"i\",\"rating\":4}", .oversizedID),
    ])
    func rejectsJSONWithItsReason(text: String, reason: RejectReason) {
        #expect(parse(json, text) == .rejected(reason))
    }

    @Test func acceptsIDsOfExactlyTheMaximumLength() {
        let id = String(repeating: "é", count: 128)  // 256 UTF-8 bytes
        #expect(parse(json, "{\"user\":\"\(id)\",\"item\":\"i\",\"rating\":4}") == .event(RatingEvent(user: id, item: "i", rating: 4)))
    }

    /// ASCII ids take the fast paths' own string construction: inline up to 15 bytes, on the
    /// heap from 16. Both sides of that boundary and the maximum come back byte for byte.
    @Test(arguments: [1, 7, 8, 15, 16, 17, 64, 256])
    func keepsASCIIIDsOfEveryLengthByteForByte(length: Int) {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@")
        let user = String((0..<length).map { alphabet[($0 * 7) % alphabet.count] })
        let item = String(user.reversed())
        let expected = ParseOutcome.event(RatingEvent(user: user, item: item, rating: 4, timestampMillis: 1_700_000_000_000))
        #expect(parse(json, "{\"user\":\"\(user)\",\"item\":\"\(item)\",\"rating\":4,\"ts\":1700000000}") == expected)
        #expect(parse(csv, "\(user),\(item),4,1700000000") == expected)
        if case .event(let event) = parse(json, "{\"user\":\"\(user)\",\"item\":\"\(item)\",\"rating\":4}") {
            #expect(Array(event.user.utf8) == Array(user.utf8) && event.user.utf8.count == length)
        } else {
            Issue.record("not parsed")
        }
    }

    @Test func rejectsInvalidUTF8InIDs() {
        var bytes = Array(#"{"user":"u","item":"i","rating":4}"#.utf8)
        bytes[9] = 0xFF
        #expect(json.parse(bytes) == .rejected(.malformed))
    }

    @Test func parsesCSV() {
        #expect(parse(csv, "u1,i9,4.5,1700000000\n") == .event(RatingEvent(user: "u1", item: "i9", rating: 4.5, timestampMillis: 1_700_000_000_000)))
        #expect(parse(csv, " u1 , \"i,\"\"9\"\" \" , 4 ") == .event(RatingEvent(user: "u1", item: "i,\"9\" ", rating: 4)))
        #expect(parse(csv, "u1,i9,3,,extra") == .event(RatingEvent(user: "u1", item: "i9", rating: 3)))
    }

    @Test(arguments: [
        ("u1,i9", RejectReason.missingField), ("u1,i9,abc", .wrongType), ("u1,i9,NaN", .nonFiniteRating),
        ("u1,i9,-inf", .nonFiniteRating), ("u1,i9,6", .ratingOutOfRange), (",i9,4", .emptyID),
        ("u1,\"i9,4", .malformed), ("u1,i9,4,yesterday", .wrongType),
    ])
    func rejectsCSVWithItsReason(text: String, reason: RejectReason) {
        #expect(parse(csv, text) == .rejected(reason))
    }

    @Test func parsesNumbersExactly() {
        for text in ["4.5", "0.1", "3.333333333333333333333", "1e-5", "123456789012345678901234", "2.5E+0"] {
            guard case .event(let event) = parse(EventParser(format: .json, ratingRange: -1e30...1e30),
                #"{"user":"u","item":"i","rating":\#(text)}"#)
            else {
                Issue.record("\(text) not parsed")
                continue
            }
            #expect(event.rating == Double(text)!, "\(text)")
        }
    }

    /// Every integer length from 1 to 19 digits (the fast path's exact range), alone, negative,
    /// with a fraction or an exponent, or cut by a decimal point, parses as Double's own parser
    /// reads it, in JSON and in CSV (whose fast path has its own reader for plain numbers, up
    /// to 15 digits); leading zeros and trailing garbage stay refused in JSON.
    @Test func parsesLongDigitRunsExactly() {
        let parser = EventParser(format: .json, ratingRange: -1e30...1e30)
        let csvParser = EventParser(format: .csv, ratingRange: -1e30...1e30)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 1...19 {
            for _ in 0..<40 {
                var digits = ""
                for position in 0..<length {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    digits.append(String(position == 0 ? 1 + (state >> 33) % 9 : (state >> 33) % 10))
                }
                let cut = "\(digits.prefix(length / 2 + 1)).\(digits.dropFirst(length / 2 + 1))"
                for text in [digits, "-\(digits)", "\(digits).25", "\(digits)e-3", cut, "0.\(digits)"] {
                    guard Double(text) != nil, !text.hasSuffix(".") else { continue }
                    guard case .event(let event) = parse(parser, #"{"user":"u","item":"i","rating":\#(text)}"#),
                        case .event(let csvEvent) = parse(csvParser, "u,i,\(text),1700000000")
                    else {
                        Issue.record("\(text) not parsed")
                        continue
                    }
                    #expect(event.rating == Double(text)!, "\(text)")
                    #expect(csvEvent.rating == Double(text)!, "csv \(text)")
                }
            }
        }
        for text in ["012345678", "12345678x", "1234567890123456x"] {
            if case .event = parse(parser, #"{"user":"u","item":"i","rating":\#(text)}"#) { Issue.record("\(text) accepted") }
        }
    }
}

@Suite("Canonical JSON fast path")
struct CanonicalFastPathTests {
    /// The same payload with a space after `{` cannot take the fast path: both must agree.
    @Test func agreesWithTheGeneralScannerOnGeneratedPayloads() {
        let parser = EventParser(format: .json, ratingRange: 1...5)
        let ids = ["u", "user-1234567", "exactly8", "sixteen-bytes-id", "with\\\"quote", "tab\\there", "é-ünïcode",
            "with\\u0041escape", "", String(repeating: "z", count: 300), "ctl\u{01}char"]
        let ratings = ["1", "4.5", "5", "0.5", "5.5", "3e0", "\"4\"", "01", "4.", "2.25"]
        let times = ["", ",\"ts\":1700000000", ",\"ts\":1.7e12", ",\"ts\":\"x\"", ",\"ts\":9876543210",
            ",\"ts\":0123456789", ",\"ts\":12345678x0", ",\"ts\":1234567890.5"]
        var checked = 0
        for user in ids {
            for item in ids.prefix(4) {
                for rating in ratings {
                    for time in times {
                        let canonical = "{\"user\":\"\(user)\",\"item\":\"\(item)\",\"rating\":\(rating)\(time)}"
                        let spaced = "{ " + canonical.dropFirst()
                        #expect(parser.parse(Array(canonical.utf8)) == parser.parse(Array(spaced.utf8)), "\(canonical)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == 11 * 4 * 10 * 8)
    }
}

@Suite("Canonical CSV fast path")
struct CanonicalCSVFastPathTests {
    /// Quoting the user field (same value) forces the general scanner: both must agree.
    /// Spaces or tabs around a field (which the fast path leaves to the general scanner) are
    /// trimmed, whichever field they pad; spaces inside an id stay.
    @Test(arguments: [
        " u,i,4,1700000000", "u ,i,4,1700000000", "u, i,4,1700000000", "u,i ,4,1700000000", "u,i, 4,1700000000",
        "u,i,4 ,1700000000", "u,i,4, 1700000000", "u,i,4,1700000000 ", "\tu,i,4,1700000000", "u,i,4,\t1700000000",
    ])
    func trimsBlanksAroundFields(record: String) {
        let parser = EventParser(format: .csv, ratingRange: 1...5)
        #expect(parser.parse(Array(record.utf8)) == .event(RatingEvent(user: "u", item: "i", rating: 4, timestampMillis: 1_700_000_000_000)))
        let inner = record.replacingFirst("u", with: "a b")
        #expect(parser.parse(Array(inner.utf8)) == .event(RatingEvent(user: "a b", item: "i", rating: 4, timestampMillis: 1_700_000_000_000)))
    }

    @Test func agreesWithTheGeneralScannerOnGeneratedRecords() {
        let parser = EventParser(format: .csv, ratingRange: 1...5)
        let users = ["u", "user-1234567", "", "é", String(repeating: "z", count: 257)]
        let ratings = ["1", "4.5", "+3", "5.5", "nan", "x", ""]
        let tails = ["", ",", ",1700000000", ",1.7e12", ",now", ",1700000000,extra", "\r\n"]
        var checked = 0
        for user in users {
            for rating in ratings {
                for tail in tails {
                    let plain = "\(user),item-9,\(rating)\(tail)"
                    let quoted = "\"\(user)\",item-9,\(rating)\(tail)"
                    #expect(parser.parse(Array(plain.utf8)) == parser.parse(Array(quoted.utf8)), "\(plain)")
                    checked += 1
                }
            }
        }
        #expect(checked == 5 * 7 * 7)
    }
}

extension String {
    fileprivate func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let index = firstIndex(of: target) else { return self }
        return String(self[..<index]) + replacement + String(self[self.index(after: index)...])
    }
}
