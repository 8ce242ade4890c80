import Dispatch
import Histogram
import NIOCore
import QueryProtocol
import RecModel

/// One closed-loop client connection of `crossrec-bench query`: keeps `depth` `recommend`
/// requests in flight (pipelined; 1: send, wait for the answer line, send the next), records
/// each round trip from its send to its answer, and sends a new request for each answer,
/// until `stopAt`.
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
    private let depth: Int
    /// Send times of the requests in flight, oldest first (answers come in request order).
    private var sentAt = CircularBuffer<UInt64>()
    /// Bytes of the answer read so far (an answer may arrive in several reads).
    private var pending = ByteBuffer()
    private var finished = false

    init(domain: String, users: Int, k: Int, depth: Int, seed: UInt64, stopAt: UInt64, done: EventLoopPromise<Result>) {
        self.depth = max(1, depth)
        self.domain = domain
        self.users = users
        self.k = k
        self.stopAt = stopAt
        self.done = done
        generator = SplitMix64(seed: seed)
    }

    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<depth { send(context: context) }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        var sent = false
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")), let started = sentAt.popFirst() {
            let now = DispatchTime.now().uptimeNanoseconds
            _ = histogram.record(now - started)
            if !QueryBench.isSuccess(pending.readableBytesView[pending.readerIndex..<newline]) { errors += 1 }
            pending.moveReaderIndex(to: newline + 1)
            if now < stopAt {
                send(context: context)
                sent = true
            }
        }
        pending.discardReadBytes()
        if sent { context.flush() }
        if sentAt.isEmpty { finish(context: context) }
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

    /// Writes one request (the caller flushes).
    private func send(context: ChannelHandlerContext) {
        let request = JSONValue.object([
            "op": .string("recommend"), "user": .string("u\(generator.next() % UInt64(users))"),
            "domain": .string(domain), "k": .integer(Int64(k)),
        ]).encoded
        var buffer = context.channel.allocator.buffer(capacity: request.utf8.count + 1)
        buffer.writeString(request)
        buffer.writeInteger(UInt8(ascii: "\n"))
        sentAt.append(DispatchTime.now().uptimeNanoseconds)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(Result(histogram: histogram, errors: errors))
        context.close(promise: nil)
    }
}
