import NIOCore

/// Fires `IdleStateHandler.IdleStateEvent.all` down the pipeline when a connection has seen no read
/// and no write for `timeout`, then again after every further `timeout` of silence; the protocol
/// handlers decide what idle means for them.
///
/// Unlike NIO's `IdleStateHandler`, which attaches a promise and a callback to every write, this
/// only notes the time once per read burst and once per flush.
final class ConnectionIdleHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let timeout: TimeAmount
    private var lastActivity = NIODeadline.now()
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            start(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        lastActivity = .now()
        context.fireChannelReadComplete()
    }

    func flush(context: ChannelHandlerContext) {
        lastActivity = .now()
        context.flush()
    }

    private func start(context: ChannelHandlerContext) {
        guard check == nil else { return }
        lastActivity = .now()
        schedule(at: lastActivity + timeout, context: context)
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            let now = NIODeadline.now()
            let due = lastActivity + timeout
            if now >= due {
                schedule(at: now + timeout, context: context)
                context.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
            } else {
                schedule(at: due, context: context)
            }
        }
    }
}
