import NIOCore
import NIOEmbedded
import QueryProtocol
import Testing

@Suite("Request line framing")
struct QueryLineDecoderTests {
    private func frames(_ chunks: [String], max: Int = 16) throws -> [QueryFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(QueryLineDecoder(maxLineBytes: max)))
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        var frames: [QueryFrame] = []
        while let frame = try channel.readInbound(as: QueryFrame.self) { frames.append(frame) }
        _ = try channel.finish(acceptAlreadyClosed: true)
        return frames
    }

    @Test func splitsLinesAcrossAndWithinReads() throws {
        #expect(try frames(["{\"op\":", "\"a\"}\n{\"op\"", ":\"b\"}\r\n\n"])
            == [.line(ByteBuffer(string: "{\"op\":\"a\"}")), .line(ByteBuffer(string: "{\"op\":\"b\"}")), .line(ByteBuffer())])
    }

    @Test func reportsAnOversizedLineOnceAndKeepsGoing() throws {
        let long = String(repeating: "x", count: 40)
        #expect(try frames(["\(long.prefix(20))", "\(long.dropFirst(20))\nok\n"]) == [.tooLarge, .line(ByteBuffer(string: "ok"))])
        #expect(try frames(["\(long)\nok\n"]) == [.tooLarge, .line(ByteBuffer(string: "ok"))])
    }

    @Test func dropsAHalfLineAtDisconnect() throws {
        #expect(try frames(["done\nhalf"]) == [.line(ByteBuffer(string: "done"))])
    }

    @Test func errorCodesAreTheDocumentedStrings() {
        #expect(QueryErrorCode.allCases.map(\.rawValue) == [
            "bad_request", "unknown_op", "unknown_domain", "unknown_item", "too_large", "overloaded", "not_ready",
            "forbidden", "internal",
        ])
    }
}
