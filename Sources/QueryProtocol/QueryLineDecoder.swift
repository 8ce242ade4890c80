import NIOCore

/// One unit read from a connection: a request line, or the fact that a line was too long.
public enum QueryFrame: Equatable, Sendable {
    case line(ByteBuffer)
    /// A line longer than the limit was skipped (up to and including its newline); the
    /// connection stays usable and gets one `too_large` answer for it.
    case tooLarge
}

/// Splits the byte stream into newline-terminated request lines (a trailing `\r` is dropped).
/// Frames are pulled one at a time by whoever serves them, so a connection takes a line off
/// its input only when it is ready to answer it; a line beyond `maxLineBytes` is discarded as
/// it arrives, so the caller never holds more than `maxLineBytes` of one unfinished line.
public struct QueryLineDecoder: Sendable {
    public let maxLineBytes: Int
    /// Inside an oversized line: drop bytes until its newline.
    private var discarding = false

    public init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    /// The next frame at the front of `buffer`, consumed from it; nil when the buffer holds no
    /// complete line (a half line stays for the next read; at disconnect it is dropped, there
    /// is nobody left to answer).
    public mutating func nextFrame(_ buffer: inout ByteBuffer) -> QueryFrame? {
        while true {
            guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if buffer.readableBytes > maxLineBytes {
                    buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                    if !discarding {
                        discarding = true
                        return .tooLarge
                    }
                }
                return nil
            }
            let length = newline - buffer.readerIndex
            if discarding {
                // The tail of a line already answered `too_large`.
                discarding = false
                buffer.moveReaderIndex(forwardBy: length + 1)
                continue
            }
            if length > maxLineBytes {
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .tooLarge
            }
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") { line = line.getSlice(at: line.readerIndex, length: length - 1)! }
            return .line(line)
        }
    }
}
