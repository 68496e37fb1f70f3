import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The network front of the model server: listens on one or more TCP ports, serves HTTP/1.1 and
/// HTTP/2 with prior knowledge (h2c) on each, and hands every complete request to a
/// `ServerRequestHandler`.
///
/// HTTP/2 runs on nghttp2 inside a NIO handler; the protocol is chosen per connection from its
/// first bytes, or by ALPN (`h2`, `http/1.1`) when `configuration.tls` puts TLS on every port. `shutdown(drainTimeout:)` stops accepting, sends GOAWAY to HTTP/2 clients, lets
/// requests in flight finish and closes HTTP/1.1 keep-alive connections after their current response.
public final class HTTPServer: Sendable {
    public let configuration: Configuration
    private let requestHandler: any ServerRequestHandler
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let logger: Logger
    private let state = Mutex(State())
    /// The TLS settings new connections use; `replaceTLS` swaps them.
    private let currentTLS: Mutex<TLSSettings?>

    private struct State {
        var listeners: [any Channel] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        var started = false
        var shuttingDown = false
    }

    /// Errors from `start()`.
    public enum StartError: Error, Sendable {
        case alreadyStarted
        case noPorts
    }

    /// - Parameters:
    ///   - configuration: addresses, ports, limits and timeouts.
    ///   - handler: receives every request on every port.
    ///   - eventLoopGroup: the loops to run connections on; when `nil` the server creates a
    ///     group of `configuration.eventLoopThreads` threads and shuts it down in `shutdown`.
    ///   - logger: connection-level events (errors, resets, abuse) are logged here.
    public init(
        configuration: Configuration,
        handler: any ServerRequestHandler,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "model-server.transport")
    ) {
        self.configuration = configuration
        self.requestHandler = handler
        self.logger = logger
        self.currentTLS = Mutex(configuration.tls)
        if let eventLoopGroup {
            self.group = eventLoopGroup
            self.ownsGroup = false
        } else {
            let threads = configuration.eventLoopThreads ?? System.coreCount
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
            self.ownsGroup = true
        }
    }

    /// Binds every configured port and starts accepting connections.
    /// - Returns: the bound ports, in the order of `configuration.ports` (ephemeral ports resolved).
    public func start() async throws -> [Int] {
        try state.withLock { state in
            if state.started { throw StartError.alreadyStarted }
            state.started = true
        }
        guard !configuration.ports.isEmpty else { throw StartError.noPorts }
        var bound: [Int] = []
        do {
            for port in configuration.ports {
                let channel = try await makeBootstrap().bind(host: configuration.host, port: port).get()
                state.withLock { $0.listeners.append(channel) }
                bound.append(channel.localAddress?.port ?? port)
                logger.info("listening", metadata: [
                    "address": "\(configuration.host):\(channel.localAddress?.port ?? port)",
                    "tls": "\(configuration.tls != nil)",
                ])
            }
        } catch {
            let listeners = state.withLock { state in
                defer { state.listeners.removeAll() }
                return state.listeners
            }
            for listener in listeners {
                try? await listener.close()
            }
            throw error
        }
        return bound
    }

    /// Stops the server gracefully: no new connections, GOAWAY (last processed stream id) on
    /// HTTP/2, HTTP/1.1 connections closed once idle; whatever is still open after
    /// `drainTimeout` is closed. Shuts down the event loop group if the server created it.
    public func shutdown(drainTimeout: TimeAmount = .seconds(10)) async {
        let (listeners, connections) = state.withLock { state in
            state.shuttingDown = true
            defer { state.listeners.removeAll() }
            return (state.listeners, Array(state.connections.values))
        }
        for listener in listeners {
            try? await listener.close()
        }
        for connection in connections {
            connection.eventLoop.execute {
                connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }
        if !connections.isEmpty {
            let loop = group.next()
            let allClosed = EventLoopFuture.andAllComplete(connections.map(\.closeFuture), on: loop)
            let timeout = loop.scheduleTask(in: drainTimeout) {}
            let drained = try? await allClosed.or(timeout.futureResult).get()
            if drained == nil || !connections.allSatisfy({ !$0.isActive }) {
                let remaining = state.withLock { Array($0.connections.values) }
                for connection in remaining {
                    connection.close(promise: nil)
                }
                try? await EventLoopFuture.andAllComplete(remaining.map(\.closeFuture), on: loop).get()
            }
            timeout.cancel()
        }
        if ownsGroup {
            try? await group.shutdownGracefully()
        }
    }

    /// Serves connections accepted from now on with `settings` (a renewed certificate, say);
    /// connections already open keep the certificate they were made with. Ignored when the server
    /// was configured without TLS.
    public func replaceTLS(_ settings: TLSSettings) {
        currentTLS.withLock { current in
            guard current != nil else { return }
            current = settings
        }
    }

    private func makeBootstrap() -> ServerBootstrap {
        let limits = configuration.limits
        let idleTimeout = configuration.idleTimeout
        let requestHandler = self.requestHandler
        let logger = self.logger
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                guard track(channel) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let idleTimeout {
                        try pipeline.addHandler(ConnectionIdleHandler(timeout: idleTimeout))
                    }
                    if let tls = currentTLS.withLock({ $0 }) {
                        try pipeline.addHandler(NIOSSLServerHandler(context: tls.sslContext))
                        try pipeline.addHandler(TLSProtocolSelector(
                            handshakeTimeout: tls.handshakeTimeout, limits: limits,
                            requestHandler: requestHandler, logger: logger))
                    } else {
                        try pipeline.addHandler(ProtocolSniffer(limits: limits, requestHandler: requestHandler, logger: logger))
                    }
                }
            }
    }

    /// Registers an accepted connection so shutdown can drain it; refuses it when shutting down.
    private func track(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLock { state in
            if state.shuttingDown { return false }
            state.connections[id] = channel
            return true
        }
        if accepted {
            channel.closeFuture.whenComplete { [self] _ in
                state.withLock { _ = $0.connections.removeValue(forKey: id) }
            }
        }
        return accepted
    }
}

extension EventLoopFuture where Value == Void {
    fileprivate func or(_ other: EventLoopFuture<Void>) -> EventLoopFuture<Bool> {
        let promise = eventLoop.makePromise(of: Bool.self)
        whenComplete { _ in promise.succeed(true) }
        other.whenComplete { _ in promise.succeed(false) }
        return promise.futureResult
    }
}
