import NIOCore
import QueryProtocol
import Testing

@Suite("Request line framing")
struct QueryLineDecoderTests {
    /// The frames of `chunks` arriving one read at a time, each read's lines pulled before
    /// the next arrives (as the server does when it keeps up).
    private func frames(_ chunks: [String], max: Int = 16) -> [QueryFrame] {
        var decoder = QueryLineDecoder(maxLineBytes: max)
        var input = ByteBuffer()
        var frames: [QueryFrame] = []
        for chunk in chunks {
            input.writeString(chunk)
            while let frame = decoder.nextFrame(&input) { frames.append(frame) }
        }
        return frames
    }

    @Test func splitsLinesAcrossAndWithinReads() {
        #expect(frames(["{\"op\":", "\"a\"}\n{\"op\"", ":\"b\"}\r\n\n"])
            == [.line(ByteBuffer(string: "{\"op\":\"a\"}")), .line(ByteBuffer(string: "{\"op\":\"b\"}")), .line(ByteBuffer())])
    }

    @Test func reportsAnOversizedLineOnceAndKeepsGoing() {
        let long = String(repeating: "x", count: 40)
        #expect(frames(["\(long.prefix(20))", "\(long.dropFirst(20))\nok\n"]) == [.tooLarge, .line(ByteBuffer(string: "ok"))])
        #expect(frames(["\(long)\nok\n"]) == [.tooLarge, .line(ByteBuffer(string: "ok"))])
        #expect(frames(["\(long)", "\(long)", "\(long)\nok\n"]) == [.tooLarge, .line(ByteBuffer(string: "ok"))])
    }

    @Test func keepsAHalfLineForTheNextRead() {
        var decoder = QueryLineDecoder(maxLineBytes: 16)
        var input = ByteBuffer(string: "done\nhalf")
        #expect(decoder.nextFrame(&input) == .line(ByteBuffer(string: "done")))
        #expect(decoder.nextFrame(&input) == nil)
        #expect(input.readableBytes == 4)
    }

    @Test func errorCodesAreTheDocumentedStrings() {
        #expect(QueryErrorCode.allCases.map(\.rawValue) == [
            "bad_request", "unknown_op", "unknown_domain", "unknown_item", "too_large", "overloaded", "not_ready",
            "forbidden", "read_only", "internal",
        ])
    }
}
