import NIOCore

/// One unit read from a connection: a request line, or the fact that a line was too long.
public enum QueryFrame: Equatable, Sendable {
    case line(ByteBuffer)
    /// A line longer than the limit was skipped (up to and including its newline); the
    /// connection stays usable and gets one `too_large` answer for it.
    case tooLarge
}

/// Splits the byte stream into newline-terminated request lines (a trailing `\r` is dropped)
/// and bounds what a peer can make us buffer: never more than `maxLineBytes` + one read.
public struct QueryLineDecoder: ByteToMessageDecoder {
    public typealias InboundOut = QueryFrame

    public let maxLineBytes: Int
    /// Inside an oversized line: drop bytes until its newline.
    private var discarding = false

    public init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxLineBytes {
                if !discarding { context.fireChannelRead(wrapInboundOut(.tooLarge)) }
                discarding = true
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        if discarding || length > maxLineBytes {
            if !discarding { context.fireChannelRead(wrapInboundOut(.tooLarge)) }
            discarding = false
            buffer.moveReaderIndex(forwardBy: length + 1)
            return .continue
        }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line = line.getSlice(at: line.readerIndex, length: length - 1)! }
        context.fireChannelRead(wrapInboundOut(.line(line)))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A half line at disconnect is dropped: there is nobody left to answer.
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
