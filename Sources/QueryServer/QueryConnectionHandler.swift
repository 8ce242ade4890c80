import NIOCore
import QueryProtocol

/// Serves one connection on its event loop. An answer that needs no other service's turn is
/// written from the read callback itself: the hop to a task and back cost more CPU than a
/// top-10 query. An answer that must wait (checkpoint, forget) runs in a task, and the lines
/// read meanwhile queue behind it, so answers keep the order of the requests.
///
/// Backpressure: reading pauses while `maxQueuedFrames` lines wait or while the peer does not
/// read its answers (the channel is not writable), and resumes when both clear.
///
/// Isolation: every member is used on the channel's event loop only.
final class QueryConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = QueryFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Lines read behind an answer that is still being computed, before reading pauses.
    static let maxQueuedFrames = 64

    private let server: QueryServer
    private let connection: QueryServer.Connection
    private var queued = CircularBuffer<QueryFrame>()
    /// An answer is being computed off the event loop.
    private var answering = false
    /// The peer shut its write side, or shutdown stopped reading: close once all is answered.
    private var inputClosed = false
    /// A read the channel asked for while reading was paused.
    private var readPending = false
    private var unflushed = false
    /// False once the channel is gone: a late answer is dropped, not written.
    private var live = true

    init(server: QueryServer, connection: QueryServer.Connection) {
        self.server = server
        self.connection = connection
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
        if !connection.admitted {
            write(server.refusal(connection), context: context)
            inputClosed = true
            closeWhenAnswered(context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        live = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Past the connection limit, or after the input closed, nothing more is answered.
        guard connection.admitted, !inputClosed else { return }
        let frame = unwrapInboundIn(data)
        if answering || !queued.isEmpty {
            queued.append(frame)
        } else {
            serve(frame, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAnswers(context: context)
    }

    private func serve(_ frame: QueryFrame, context: ChannelHandlerContext) {
        switch server.answerNow(frame, connection) {
        case .line(let line):
            write(line, context: context)
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
                    self.serveQueued(context: context)
                }
        }
    }

    private func serveQueued(context: ChannelHandlerContext) {
        while !answering, let frame = queued.popFirst() {
            serve(frame, context: context)
        }
        flushAnswers(context: context)
        resumeReading(context: context)
        closeWhenAnswered(context: context)
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
        if mayRead(context: context) {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReading(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func mayRead(context: ChannelHandlerContext) -> Bool {
        queued.count < Self.maxQueuedFrames && context.channel.isWritable
    }

    private func resumeReading(context: ChannelHandlerContext) {
        guard readPending, mayRead(context: context) else { return }
        readPending = false
        context.read()
    }

    // MARK: End of input

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is QueryServer.Quiesce {
            // Stop reading; what was read is answered, then the connection closes.
            if active { context.close(mode: .input, promise: nil) } else { quiesceWhenActive = true }
        } else if case .inputClosed? = event as? ChannelEvent {
            inputClosed = true
            closeWhenAnswered(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// After the input closed and the last answer was written (an empty write completes after
    /// every earlier one), the connection closes.
    private func closeWhenAnswered(context: ChannelHandlerContext) {
        guard inputClosed, !answering, queued.isEmpty, live else { return }
        live = false
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
