import Foundation
import QueryProtocol
import Testing

/// The request reader against Foundation's JSON parser as the oracle: on lines mutated at
/// random from valid requests, both must agree on whether the line is one JSON object, and on
/// the fields a request reads.
@Suite("Request reader agrees with Foundation's JSON parser")
struct RequestScannerTests {
    static let seeds = [
        #"{"op":"recommend","user":"u1","domain":"movies","k":10,"exclude_seen":false,"id":"a"}"#,
        #"{ "op" : "predict" , "user":"é\u00e9\ud83d\ude00","domain":"d","item":"i\n\"x\"", "id": -12.5e1 }"#,
        #"{"op":"health","extra":[1,-0.5,2E+3,true,false,null,{"a":[{}]},"s\\t"],"id":7}"#,
        #"{"op":"popular","domain":"d","k":2.0,"nested":{"deep":[[[[1]]]]}}"#,
        "\t{\"op\":\"stats\"}\r\n ",
    ]
    /// Bytes that change JSON's structure, plus invalid and multi-byte UTF-8.
    static let alphabet: [UInt8] = Array(#"{}[]:,"\/0123456789.eE+-tfnulrsbx "#.utf8) + [0x00, 0x1F, 0xC3, 0xA9, 0xFF, 0xF0, 0x9F]

    private func oracle(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    private func isSyntaxError(_ result: Result<QueryRequest, QueryFailure>) -> Bool {
        if case .failure(let failure) = result, failure.error.message == "expected one JSON object per line" { return true }
        return false
    }

    @Test func agreesOnValidityAndFieldsOfMutatedLines() {
        var random = Xorshift(seed: 0x5EED)
        var disagreements: [String] = []
        for round in 0..<20_000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<(1 + Int(random.next() % 3)) where !bytes.isEmpty {
                let at = Int(random.next() % UInt64(bytes.count))
                let byte = Self.alphabet[Int(random.next() % UInt64(Self.alphabet.count))]
                switch random.next() % 3 {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: bytes.remove(at: at)
                }
            }
            let ours = QueryRequest.decode(bytes, maxK: 1_000)
            let theirs = oracle(bytes)
            if isSyntaxError(ours) != (theirs == nil) {
                disagreements.append("\(theirs == nil ? "only we accept" : "only we refuse"): \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes)")
            } else if let theirs, case .success(let request) = ours {
                if request.op.rawValue != theirs["op"] as? String || request.user != theirs["user"] as? String
                    || request.domain != theirs["domain"] as? String || request.item != theirs["item"] as? String {
                    disagreements.append("fields differ: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(5))")
    }

    @Test(arguments: [
        #"{"op":"health"} x"#, #"{"op":"health" "k":1}"#, #"{"op":01}"#, #"{"op":"health","k":1.}"#,
        #"{"op":"health","k":-}"#, #"{"op":"he\qlth"}"#, #"{"op":"\ud800"}"#, #"{"op":"\udc00x"}"#, "{\"op\":\"a\u{1}\"}",
        #"{"op":"health","x":tru}"#, #"{'op':'health'}"#, "{}{}", "",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        #"{"x":"# + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}",
    ])
    func refusesWhatIsNotOneJSONObject(line: String) {
        #expect(isSyntaxError(QueryRequest.decode(Array(line.utf8), maxK: 10)), "\(line.prefix(40))")
    }

    @Test func readsEscapesNumbersAndIds() throws {
        let request = try QueryRequest.decode(Array(#"{"op":"predict","user":"a\"b\\c\u00e9\ud83d\ude00","domain":"d","item":"\/","id":7.0}"#.utf8), maxK: 10).get()
        #expect(request.user == "a\"b\\cé😀")
        #expect(request.item == "/")
        #expect(request.id == .integer(7))
        #expect(try QueryRequest.decode(Array(#"{"op":"health","id":9007199254740993}"#.utf8), maxK: 10).get().id == .integer(9_007_199_254_740_993))
        #expect(try QueryRequest.decode(Array(#"{"op":"health","id":2.5}"#.utf8), maxK: 10).get().id == .number(2.5))
        #expect(try QueryRequest.decode(Array(#"{"op":"health","id":true}"#.utf8), maxK: 10).get().id == nil)
        #expect(try QueryRequest.decode(Array(#"{"op":"popular","domain":"d","k":1e1}"#.utf8), maxK: 10).get().k == 10)
        // Member names are compared after unescaping, and the last of a repeated name wins;
        // a name that only starts like a field's is another member.
        let escapedNames = try QueryRequest.decode(
            Array(#"{"\u006fp":"recommend","user":"a","user":"b","dom":"x","domain":"d","exclude_seen":false}"#.utf8), maxK: 10
        ).get()
        #expect(escapedNames == QueryRequest(op: .recommend, user: "b", domain: "d", excludeSeen: false))
        // Foundation's parser took trailing commas; clients that send them keep working.
        #expect(try QueryRequest.decode(Array(#"{"op":"health","x":[1,],}"#.utf8), maxK: 10).get().op == .health)
    }
}

/// A small deterministic generator, so a disagreement reproduces.
struct Xorshift {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
