import Logging
import NIOCore
import NIOHTTP1

/// Serves HTTP/1.1 requests on a connection that did not start with the HTTP/2 preface.
/// Sits behind NIO's server pipeline (with pipelining assistance, so one request at a time
/// reaches it), collects the body up to the limit and hands whole requests to the handler.
final class HTTP1RequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead)
        /// The request broke a limit and was answered at once; the connection's output is closed and
        /// whatever the client still sends is dropped until it closes (or `refusalGrace` passes).
        case refused
        case waitingForResponse(HTTP1ResponseWriter, keepAlive: Bool)
    }

    /// How long a refused client may go on sending before the connection is closed under it.
    private static let refusalGrace = TimeAmount.seconds(2)

    private let limits: HTTPServer.Limits
    private let requestHandler: any ServerRequestHandler
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var boundSelf: NIOLoopBound<HTTP1RequestHandler>?
    private var state = State.idle
    private var body = ByteBuffer()
    /// Bytes of the current request's body taken from `limits.inflightBudget`.
    private var reservedBytes = 0
    private var requestNumber: UInt64 = 0
    private var quiescing = false

    init(limits: HTTPServer.Limits, requestHandler: any ServerRequestHandler, logger: Logger) {
        self.limits = limits
        self.requestHandler = requestHandler
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelInFlight()
        releaseReservation()
        self.context = nil
        self.boundSelf = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelInFlight()
        releaseReservation()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            quiescing = true
            if case .idle = state {
                context.close(promise: nil)
            }
        case let idle as IdleStateHandler.IdleStateEvent where idle == .all:
            if case .idle = state {
                context.close(promise: nil)
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("HTTP/1.1 connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            receiveHead(head, context: context)
        case .body(let chunk):
            receiveBody(chunk)
        case .end:
            receiveEnd(context: context)
        }
    }

    private func receiveHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        body = ByteBuffer()
        releaseReservation()
        let expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
        if let lengthText = head.headers.first(name: "content-length"), let length = Int(lengthText) {
            if length > limits.maxBodyBytes {
                refuse(RequestRefusal.bodyTooLarge(declared: length, limits: limits, grpc: false))
                return
            }
            if length > 0 {
                guard reserve(length) else { return }
                body.reserveCapacity(length)
            }
        }
        state = .receiving(head)
        if expectsContinue {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
    }

    private func receiveBody(_ chunk: ByteBuffer) {
        guard case .receiving = state else { return }
        let total = body.readableBytes + chunk.readableBytes
        if total > limits.maxBodyBytes {
            refuse(RequestRefusal.bodyTooLarge(declared: nil, limits: limits, grpc: false))
            return
        }
        if total > reservedBytes {
            guard reserve(total - reservedBytes) else { return }
        }
        if body.readableBytes == 0 && body.capacity == 0 {
            body = chunk
        } else {
            var chunk = chunk
            body.writeBuffer(&chunk)
        }
    }

    private func receiveEnd(context: ChannelHandlerContext) {
        switch state {
        case .receiving(let head):
            guard let boundSelf else { return }
            requestNumber &+= 1
            let writer = HTTP1ResponseWriter(handler: boundSelf, token: requestNumber)
            state = .waitingForResponse(writer, keepAlive: head.isKeepAlive)
            let request = ServerRequest(
                method: head.method.rawValue,
                path: head.uri,
                fields: .http1(head.headers),
                body: body,
                version: .http1_1
            )
            body = ByteBuffer()
            requestHandler.handle(request, writer: writer)
        case .refused:
            context.close(promise: nil)
        case .idle, .waitingForResponse:
            break
        }
    }

    /// Takes `bytes` more for the current body from the in-flight budget, or refuses the request.
    private func reserve(_ bytes: Int) -> Bool {
        guard let budget = limits.inflightBudget else { return true }
        guard budget.reserve(bytes) else {
            refuse(RequestRefusal.inflightBudgetExhausted(adding: bytes, budget: budget, limits: limits, grpc: false))
            return false
        }
        reservedBytes += bytes
        return true
    }

    private func releaseReservation() {
        guard reservedBytes > 0 else { return }
        limits.inflightBudget?.release(reservedBytes)
        reservedBytes = 0
    }

    /// Answers a request that broke a limit without reading the rest of it: the answer goes out at
    /// once, then the connection's output is closed (so the client sees the answer rather than a
    /// reset) and the connection is closed when the client is done or after `refusalGrace`.
    private func refuse(_ response: ServerResponse) {
        state = .refused
        body = ByteBuffer()
        releaseReservation()
        guard let context else { return }
        write(response, keepAlive: false, closing: .output)
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.refusalGrace) {
            context.close(promise: nil)
        }
    }

    private func cancelInFlight() {
        if case .waitingForResponse(let writer, _) = state {
            writer.markCancelled()
        }
    }

    // MARK: Output

    func writeResponse(_ response: ServerResponse, requestNumber: UInt64) {
        guard requestNumber == self.requestNumber, case .waitingForResponse(_, let keepAlive) = state else { return }
        state = .idle
        releaseReservation()
        write(response, keepAlive: keepAlive && !quiescing)
    }

    /// Writes `response`; without keep-alive the connection (or, for `closing: .output`, its
    /// output side) is closed once it is out.
    private func write(_ response: ServerResponse, keepAlive: Bool, closing mode: CloseMode = .all) {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 2)
        for field in response.headers where !NGHTTP2HeaderBlock.isExcluded(field.name) {
            headers.add(name: field.name, value: field.value)
        }
        headers.add(name: "content-length", value: String(response.body.readableBytes))
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                guard mode == .output else { return context.close(promise: nil) }
                let closed = context.eventLoop.makePromise(of: Void.self)
                context.close(mode: .output, promise: closed)
                closed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
            }
        }
    }
}
