import QueryProtocol
import Testing

@Suite("Request decoding and response encoding")
struct QueryRequestTests {
    private func decode(_ text: String, maxK: Int = 100) -> Result<QueryRequest, QueryFailure> {
        QueryRequest.decode(Array(text.utf8), maxK: maxK)
    }

    @Test func decodesARecommendRequestIgnoringUnknownFields() throws {
        let request = try decode(#"{"op":"recommend","user":"u","domain":"movies","k":5,"exclude_seen":false,"id":"a","x":[1]}"#).get()
        #expect(request == QueryRequest(op: .recommend, id: .string("a"), user: "u", domain: "movies", k: 5, excludeSeen: false))
        #expect(try decode(#"{"op":"health","id":7}"#).get().id == .integer(7))
        // 0 and 1 are numbers, not booleans (Foundation bridges both through NSNumber).
        #expect(try decode(#"{"op":"health","id":0}"#).get().id == .integer(0))
        #expect(try decode(#"{"op":"popular","domain":"d","k":1}"#).get().k == 1)
    }

    @Test(arguments: [
        ("not json", QueryErrorCode.badRequest), ("[1]", .badRequest), (#"{"id":1}"#, .badRequest),
        (#"{"op":"teleport"}"#, .unknownOp), (#"{"op":"recommend","domain":"d"}"#, .badRequest),
        (#"{"op":"recommend","user":5,"domain":"d"}"#, .badRequest), (#"{"op":"popular","domain":"d","k":0}"#, .badRequest),
        (#"{"op":"popular","domain":"d","k":2.5}"#, .badRequest), (#"{"op":"popular","domain":"d","k":true}"#, .badRequest),
        (#"{"op":"popular","domain":"d","k":101}"#, .tooLarge), (#"{"op":"predict","user":"u","domain":"d"}"#, .badRequest),
        (#"{"op":"recommend","user":"u","domain":"d","exclude_seen":"yes"}"#, .badRequest),
        (#"{"op":"recommend","user":"u","domain":"d","exclude_seen":1}"#, .badRequest),
    ])
    func refusesBadRequestsWithTheirCode(text: String, code: QueryErrorCode) {
        guard case .failure(let failure) = decode(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(failure.error.code == code, "\(text): \(failure.error.message)")
    }

    @Test func echoesTheIdOfARefusedRequest() {
        guard case .failure(let failure) = decode(#"{"op":"teleport","id":"x-1"}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(String(decoding: QueryResponse.failure(failure), as: UTF8.self)
            == #"{"error":{"code":"unknown_op","message":"unknown op teleport (recommend, predict, similar, popular, stats, health, metrics, forget, checkpoint)"},"id":"x-1","ok":false}"#)
    }

    @Test func encodesResponsesOnOneLineWithSortedKeys() {
        let line = String(decoding: QueryResponse.success(id: .integer(3), [
            "items": .array([.object(["score": .number(4.25), "item": .string("a\"b\n")])]), "strategy": .string("personal"),
        ]), as: UTF8.self)
        #expect(line == #"{"id":3,"items":[{"item":"a\"b\n","score":4.25}],"ok":true,"strategy":"personal"}"#)
        #expect(!line.contains("\n"))
    }
}
