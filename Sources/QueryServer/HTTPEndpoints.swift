import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import QueryProtocol
import ServiceLifecycle

/// The optional HTTP listener (`http.listen`): what Prometheus and probes read over TCP, since
/// neither can read a Unix socket. `GET /metrics` is the `metrics` operation's text,
/// `/healthz` answers 200 while the process serves (liveness), `/readyz` 200 when `health`
/// says `ready` and 503 otherwise (readiness); both carry the `health` answer as JSON. Read
/// operations only: nothing here changes the daemon. HTTP parsing is SwiftNIO's NIOHTTP1.
public final class HTTPEndpoints: Service, Sendable {
    public let host: String
    public let port: Int
    let handler: any QueryHandler
    let logger: Logger

    public init(host: String, port: Int, handler: any QueryHandler, logger: Logger) {
        self.host = host
        self.port = port
        self.handler = handler
        self.logger = logger
    }

    public func run() async throws {
        let handler = self.handler
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPEndpointHandler(handler: handler))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("HTTP endpoints listening", metadata: ["crossrec.http": "\(host):\(port)"])
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// One HTTP connection: each request is answered from the query handler's `answerNow`, on the
/// connection's event loop, like a socket request.
final class HTTPEndpointHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: any QueryHandler
    private var head: HTTPRequestHead?

    init(handler: any QueryHandler) {
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break  // no endpoint takes a body
        case .end:
            guard let request = head else { return }
            head = nil
            let (status, contentType, body) = answer(request)
            var headers = HTTPHeaders([("content-type", contentType), ("content-length", "\(body.count)")])
            if status == .methodNotAllowed { headers.add(name: "allow", value: "GET, HEAD") }
            if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
            if request.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            let keepAlive = request.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }

    /// Status, content type and body of the response to `request`.
    private func answer(_ request: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let plain = "text/plain; charset=utf-8"
        guard ["/metrics", "/healthz", "/readyz"].contains(path) else {
            return (.notFound, plain, Array("not found: /metrics, /healthz and /readyz are served\n".utf8))
        }
        guard request.method == .GET || request.method == .HEAD else {
            return (.methodNotAllowed, plain, Array("only GET and HEAD\n".utf8))
        }
        if path == "/metrics" {
            switch handler.answerNow(QueryRequest(op: .metrics)) {
            case .success(let fields)?:
                guard case .string(let text)? = fields["text"] else { break }
                return (.ok, "text/plain; version=0.0.4; charset=utf-8", Array(text.utf8))
            case .failure(let error)?:
                return (.internalServerError, plain, Array("\(error.code.rawValue): \(error.message)\n".utf8))
            case nil:
                break
            }
            return (.internalServerError, plain, Array("no metrics\n".utf8))
        }
        switch handler.answerNow(QueryRequest(op: .health)) {
        case .success(let fields)?:
            let ready = fields["status"] == .string("ready")
            let status: HTTPResponseStatus = path == "/healthz" || ready ? .ok : .serviceUnavailable
            return (status, "application/json", QueryResponse.success(id: nil, fields) + [UInt8(ascii: "\n")])
        case .failure(let error)?:
            return (.serviceUnavailable, plain, Array("\(error.code.rawValue): \(error.message)\n".utf8))
        case nil:
            return (.serviceUnavailable, plain, Array("no health answer\n".utf8))
        }
    }
}
