import Dispatch
import Histogram
import NIOCore
import QueryProtocol
import RecModel

/// One closed-loop client connection of `crossrec bench query`: sends a `recommend`, waits
/// for its answer line, records the round trip, sends the next, until `stopAt`.
///
/// Why an event loop and not a thread per connection: with 100 blocking client threads on
/// the 2 cores the daemon also needs, the scheduler's wait for a runnable thread (tens to
/// hundreds of ms) showed up as the daemon's latency, and the clients' context switches took
/// CPU the daemon needed.
///
/// Isolation: lives on its channel's event loop only; the result leaves through `done`.
final class QueryLoadConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Result: Sendable {
        var histogram: Histogram<UInt64>
        var errors: Int
    }

    /// Round trips in ns up to 60 s, three significant digits (every histogram of a run is
    /// merged into one of the same shape).
    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    private let domain: String
    private let users: Int
    private let k: Int
    private let stopAt: UInt64
    private let done: EventLoopPromise<Result>
    private var generator: SplitMix64
    private var histogram = QueryLoadConnection.emptyHistogram()
    private var errors = 0
    private var sentAt: UInt64 = 0
    /// Bytes of the answer read so far (an answer may arrive in several reads).
    private var pending = ByteBuffer()
    private var finished = false

    init(domain: String, users: Int, k: Int, seed: UInt64, stopAt: UInt64, done: EventLoopPromise<Result>) {
        self.domain = domain
        self.users = users
        self.k = k
        self.stopAt = stopAt
        self.done = done
        generator = SplitMix64(seed: seed)
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        guard let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        _ = histogram.record(now - sentAt)
        let line = pending.readableBytesView[pending.readerIndex..<newline]
        if !QueryBench.isSuccess(line) { errors += 1 }
        pending.moveReaderIndex(to: newline + 1)
        pending.discardReadBytes()
        if now < stopAt {
            sendNext(context: context)
        } else {
            finish(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed by the daemon before the run ended: the request in flight is lost.
        if !finished { errors += 1 }
        finish(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        errors += 1
        finish(context: context)
    }

    private func sendNext(context: ChannelHandlerContext) {
        let request = JSONValue.object([
            "op": .string("recommend"), "user": .string("u\(generator.next() % UInt64(users))"),
            "domain": .string(domain), "k": .integer(Int64(k)),
        ]).encoded
        var buffer = context.channel.allocator.buffer(capacity: request.utf8.count + 1)
        buffer.writeString(request)
        buffer.writeInteger(UInt8(ascii: "\n"))
        sentAt = DispatchTime.now().uptimeNanoseconds
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(Result(histogram: histogram, errors: errors))
        context.close(promise: nil)
    }
}
