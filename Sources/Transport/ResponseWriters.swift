import NIOCore
import Synchronization

/// A connection handler that takes the response to one of its requests, on its event loop.
/// (HTTP/2 streams are their own writers: `HTTP2Stream`.)
protocol ResponseDelivering: AnyObject, SendableMetatype {
    /// What identifies the request on the connection (the HTTP/1.1 request sequence number).
    associatedtype RequestToken: Sendable
    func deliver(_ response: ServerResponse, for token: RequestToken)
}

/// Answers one request. Any thread may respond; the response reaches the connection handler on
/// its event loop, once.
final class LoopBoundResponseWriter<Handler: ResponseDelivering>: ResponseWriter {
    private let handler: NIOLoopBound<Handler>
    private let token: Handler.RequestToken
    private let responded = Atomic<Bool>(false)
    private let cancelled = Atomic<Bool>(false)

    init(handler: NIOLoopBound<Handler>, token: Handler.RequestToken) {
        self.handler = handler
        self.token = token
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    func markCancelled() {
        cancelled.store(true, ordering: .relaxed)
    }

    func respond(_ response: ServerResponse) {
        guard responded.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged, !isCancelled else { return }
        let eventLoop = handler.eventLoop
        if eventLoop.inEventLoop {
            handler.value.deliver(response, for: token)
        } else {
            eventLoop.execute {
                self.handler.value.deliver(response, for: self.token)
            }
        }
    }
}

/// Answers one HTTP/1.1 request, in request order.
typealias HTTP1ResponseWriter = LoopBoundResponseWriter<HTTP1RequestHandler>

extension HTTP1RequestHandler: ResponseDelivering {
    func deliver(_ response: ServerResponse, for requestNumber: UInt64) {
        writeResponse(response, requestNumber: requestNumber)
    }
}
