import NIOCore
import QueryProtocol

/// Serves one connection on its event loop, in turns. A turn takes request lines off the
/// connection's input and answers them until the peer's unread answers reach the channel's
/// high-water mark, or the turn's share is spent; then the loop moves on to other
/// connections and the next turn is queued behind them. An answer that needs no other
/// service's turn is written from the turn itself (a hop to a task and back cost more CPU
/// than a top-10 query); one that must wait (checkpoint, forget) runs in a task, and the
/// lines behind it wait, so answers keep the order of the requests.
///
/// Bounds per connection: requests read ahead of their answers, at most `inputLimit` bytes
/// (reading pauses beyond it); answers written and not yet taken by the peer, the channel's
/// write-buffer high-water mark (no answer is computed beyond it). A peer that writes many
/// requests before reading answers still gets them all: its requests are read ahead, as
/// raw bytes, while it is not reading.
///
/// Idle: the connection closes when, for the idle timeout, the peer sent nothing, took none
/// of its answers, and no answer was being computed. Waiting on the daemon is never idle.
///
/// Isolation: every member is used on the channel's event loop only.
final class QueryConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A turn ends after this many answers or `turnBytes` of answers, whichever comes first:
    /// a connection with thousands of pipelined requests delays another connection's answer
    /// on the same loop by one turn, not by its whole backlog.
    static let turnAnswers = 16
    static let turnBytes = 64 * 1024

    /// Request bytes read ahead of their answers: at least 256 KiB, and room for 4 lines of
    /// the longest allowed size (the decoder discards an oversized line as it arrives, so a
    /// full input always holds a whole line to answer).
    static func inputLimit(maxLineBytes: Int) -> Int { max(256 * 1024, 4 * (maxLineBytes + 1)) }

    private let server: QueryServer
    private let connection: QueryServer.Connection
    private var decoder: QueryLineDecoder
    private let inputLimit: Int
    /// Bytes read and not yet taken off as request lines.
    private var input = ByteBuffer()
    /// An answer is being computed off the event loop.
    private var answering = false
    /// A turn is queued on the event loop.
    private var turnQueued = false
    /// The peer shut its write side, or shutdown stopped reading: close once all is answered.
    private var inputClosed = false
    /// A read the channel asked for while reading was paused.
    private var readPending = false
    private var unflushed = false
    /// False once the channel is gone: no more work, a late answer is dropped.
    private var live = true
    /// The last time the peer sent bytes, took answers, or an answer was written.
    private var lastProgress = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?

    init(server: QueryServer, connection: QueryServer.Connection) {
        self.server = server
        self.connection = connection
        decoder = QueryLineDecoder(maxLineBytes: connection.limits.maxLineBytes)
        inputLimit = Self.inputLimit(maxLineBytes: connection.limits.maxLineBytes)
    }

    /// The channel is registered and active: closing its input is allowed from now on.
    private var active = false
    /// Shutdown began before the channel was active.
    private var quiesceWhenActive = false

    func channelActive(context: ChannelHandlerContext) {
        active = true
        if quiesceWhenActive || server.isQuiescing {
            context.close(mode: .input, promise: nil)
        }
        if connection.admitted {
            scheduleIdleCheck(at: lastProgress + .seconds(connection.limits.idleTimeoutSeconds), context: context)
        } else {
            write(server.refusal(connection), context: context)
            inputClosed = true
            closeWhenAnswered(context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        live = false
        input = ByteBuffer()
        idleCheck?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Past the connection limit, after the input closed, or once the peer is gone,
        // nothing more is answered.
        guard connection.admitted, !inputClosed, live else { return }
        var bytes = unwrapInboundIn(data)
        lastProgress = .now()
        if input.readableBytes == 0 {
            input = bytes
        } else {
            if input.readerIndex > input.capacity / 2 { input.discardReadBytes() }
            input.writeBuffer(&bytes)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        takeTurn(context: context)
    }

    // MARK: Turns

    /// Answers request lines until the turn's share is spent, the peer's unread answers
    /// reach the high-water mark, an answer must wait, or no whole line is left.
    private func takeTurn(context: ChannelHandlerContext) {
        guard live else { return }
        var answers = 0
        var bytes = 0
        while !answering, context.channel.isWritable, answers < Self.turnAnswers, bytes < Self.turnBytes,
              let frame = decoder.nextFrame(&input) {
            bytes += serve(frame, context: context)
            answers += 1
        }
        if answers > 0 { lastProgress = .now() }
        flushAnswers(context: context)
        if answers == Self.turnAnswers || bytes >= Self.turnBytes, !answering, context.channel.isWritable {
            queueTurn(context: context)
        }
        resumeReading(context: context)
        closeWhenAnswered(context: context)
    }

    /// The next turn runs after the other connections' events and turns already queued.
    private func queueTurn(context: ChannelHandlerContext) {
        guard !turnQueued else { return }
        turnQueued = true
        context.eventLoop.assumeIsolated().execute {
            self.turnQueued = false
            self.takeTurn(context: context)
        }
    }

    /// Answers one frame; returns the bytes written now (0 when the answer comes later).
    private func serve(_ frame: QueryFrame, context: ChannelHandlerContext) -> Int {
        switch server.answerNow(frame, connection) {
        case .line(let line):
            write(line, context: context)
            return line.count + 1
        case .later(let request, let start):
            answering = true
            let server = self.server
            context.eventLoop.makeFutureWithTask { await server.answerLater(request, sinceNanos: start) }
                .assumeIsolated().whenComplete { result in
                    self.answering = false
                    guard self.live else { return }
                    switch result {
                    case .success(let line): self.write(line, context: context)
                    case .failure(let error):
                        let failure = QueryFailure(id: request.id, error: QueryError(.internal, "\(error)"))
                        self.write(QueryResponse.failure(failure), context: context)
                    }
                    self.lastProgress = .now()
                    self.takeTurn(context: context)
                }
            return 0
        }
    }

    private func write(_ line: [UInt8], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: line.count + 1)
        buffer.writeBytes(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        context.write(wrapOutboundOut(buffer), promise: nil)
        unflushed = true
    }

    private func flushAnswers(context: ChannelHandlerContext) {
        guard unflushed else { return }
        unflushed = false
        context.flush()
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if mayRead {
            context.read()
        } else {
            readPending = true
        }
    }

    /// The peer took answers down to the low-water mark (or stopped taking them).
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            lastProgress = .now()
            takeTurn(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// Requests are read ahead, without being answered, up to the input limit: a peer that
    /// writes all its requests before reading is not deadlocked against its own answers.
    private var mayRead: Bool { input.readableBytes < inputLimit }

    private func resumeReading(context: ChannelHandlerContext) {
        guard readPending, mayRead else { return }
        readPending = false
        context.read()
    }

    // MARK: Idle

    private func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.checkIdle(context: context)
        }
    }

    private func checkIdle(context: ChannelHandlerContext) {
        guard live else { return }
        let timeout = TimeAmount.seconds(connection.limits.idleTimeoutSeconds)
        let due = lastProgress + timeout
        if answering || due > .now() {
            scheduleIdleCheck(at: answering ? .now() + timeout : due, context: context)
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: End of input

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is QueryServer.Quiesce {
            // Stop reading; what was read is answered, then the connection closes.
            if active { context.close(mode: .input, promise: nil) } else { quiesceWhenActive = true }
        } else if case .inputClosed? = event as? ChannelEvent {
            inputClosed = true
            takeTurn(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// After the input closed and the last whole line was answered and written (an empty
    /// write completes after every earlier one), the connection closes; a half line left at
    /// the end is dropped.
    private func closeWhenAnswered(context: ChannelHandlerContext) {
        guard inputClosed, !answering, live, !input.readableBytesView.contains(UInt8(ascii: "\n")) else { return }
        live = false
        input = ByteBuffer()
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
