import Dispatch
import Logging
import NIOCore
import ServingMetrics
import Tensors
import Transport

/// Handles every request whose path falls under one prefix of the router's table.
public protocol APIRouteHandler: Sendable {
    /// `path` is the request target without its query string. Runs on an event loop; must not block.
    func handle(_ request: ServerRequest, path: Substring, writer: any ResponseWriter)
}

/// One entry of the router's dispatch table: requests whose path is `prefix` or starts with
/// `prefix + "/"` go to `handler`.
public struct APIRoute: Sendable {
    public var prefix: String
    public var handler: any APIRouteHandler

    public init(prefix: String, handler: any APIRouteHandler) {
        self.prefix = prefix
        self.handler = handler
    }

    func matches(_ path: Substring) -> Bool {
        let bytes = path.utf8
        guard bytes.starts(with: prefix.utf8) else { return false }
        let after = bytes.dropFirst(prefix.utf8.count)
        return after.first.map { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") } ?? true
    }
}

/// The protocol layer's entry point: dispatches each request by content type (gRPC) or path
/// prefix (`/v1` TF Serving REST, and whatever routes are added, e.g. `/v2` KServe).
public final class APIRouter: ServerRequestHandler {
    /// Limits applied before a body is decoded.
    public struct Options: Sendable {
        /// Largest JSON request body accepted, after any `content-encoding` is decoded; larger ones are
        /// answered 413.
        public var maxJSONBodyBytes: Int
        /// Deepest nesting of arrays and objects a JSON body may have.
        public var maxJSONDepth: Int
        /// What `GET /v2` reports.
        public var kserveServer: KServeServerInfo
        /// How long a REST inference request may wait for its computation to start (TF Serving's
        /// `--rest_api_timeout_in_ms`); nil waits as long as it takes.
        public var restTimeout: Duration?
        /// Answer browsers' CORS preflight requests and allow any origin (`--rest_api_enable_cors_support`).
        public var allowsCrossOrigin: Bool
        /// Where one line per answered request goes (`--access_log`); nil keeps no access log.
        public var accessLog: Logger?

        public init(
            maxJSONBodyBytes: Int = 256 << 20, maxJSONDepth: Int = 64, kserveServer: KServeServerInfo = KServeServerInfo(),
            restTimeout: Duration? = nil, allowsCrossOrigin: Bool = false, accessLog: Logger? = nil
        ) {
            self.maxJSONBodyBytes = maxJSONBodyBytes
            self.maxJSONDepth = maxJSONDepth
            self.kserveServer = kserveServer
            self.restTimeout = restTimeout
            self.allowsCrossOrigin = allowsCrossOrigin
            self.accessLog = accessLog
        }

        /// The deadline of a REST inference request that starts now, on the batch queues' clock.
        func restDeadline() -> UInt64? {
            guard let restTimeout else { return nil }
            let (seconds, attoseconds) = restTimeout.components
            let nanoseconds = max(0, seconds) &* 1_000_000_000 &+ max(0, attoseconds) / 1_000_000_000
            return DispatchTime.now().uptimeNanoseconds &+ UInt64(nanoseconds)
        }
    }

    private let routes: [APIRoute]
    private let grpcHandler: (any APIRouteHandler)?
    private let maxDecodedBodyBytes: Int
    private let allowsCrossOrigin: Bool
    private let accessLog: Logger?
    private static let crossOriginHeaders = [HeaderField("access-control-allow-origin", "*")]

    /// - Parameters:
    ///   - routes: further path routes, tried after the built-in `/v1` ones and before the built-in `/v2` KServe ones.
    ///   - grpc: receives every request whose content type is `application/grpc[+proto]`; `GRPCService` by default.
    public init(
        backend: any ServingBackend,
        options: Options = Options(),
        routes: [APIRoute] = [],
        grpc: (any APIRouteHandler)? = nil
    ) {
        let status = StatusRoutes.routes(backend: backend)
        self.routes = status.beforeV1 + [APIRoute(prefix: "/v1", handler: TFServingRoutes(backend: backend, options: options))]
            + routes + [APIRoute(prefix: "/v2", handler: KServeRoutes(backend: backend, options: options))] + status.last
        self.grpcHandler = grpc ?? GRPCService(backend: backend, options: GRPCService.Options(serverInfo: options.kserveServer))
        self.maxDecodedBodyBytes = options.maxJSONBodyBytes
        self.allowsCrossOrigin = options.allowsCrossOrigin
        self.accessLog = options.accessLog
    }

    public func handle(_ request: ServerRequest, writer: any ResponseWriter) {
        let startedAt = MonotonicClock.nanoseconds()
        let path = Self.pathWithoutQuery(request.path)
        let requestID = RequestID.accepting(request.header("x-request-id"))
        let isGRPC = grpcHandler != nil && request.header("content-type")?.utf8.starts(with: "application/grpc".utf8) == true
        var extraHeaders = [HeaderField("x-request-id", requestID)]
        if allowsCrossOrigin, !isGRPC { extraHeaders += Self.crossOriginHeaders }
        let access = accessLog.map { logger in
            AnswerWriter.AccessRecord(
                logger: logger, method: request.method, path: String(path),
                protocolName: isGRPC ? "gRPC" : request.version == .http2 ? "HTTP/2" : "HTTP/1.1",
                requestID: requestID, startedAt: startedAt)
        }
        let compression = isGRPC || path.utf8.starts(with: "/v1".utf8) ? nil : HTTPContentCoding.responseFormat(accepting: request.header("accept-encoding"))
        let writer = AnswerWriter(inner: writer, compression: compression, extraHeaders: extraHeaders, access: access)
        if isGRPC, let grpcHandler {
            grpcHandler.handle(request, path: path, writer: writer)
            return
        }
        if allowsCrossOrigin, request.method == "OPTIONS" {
            return writer.respond(ServerResponse(status: 204, headers: [
                HeaderField("access-control-allow-methods", "GET, POST, OPTIONS"),
                HeaderField("access-control-allow-headers", request.header("access-control-request-headers") ?? "content-type"),
                HeaderField("access-control-max-age", "600"),
            ]))
        }
        let decoded: ServerRequest
        switch HTTPContentCoding.decoded(request, limit: maxDecodedBodyBytes) {
        case .request(let request): decoded = request
        case .answer(let answer): return writer.respond(answer)
        }
        for route in routes where route.matches(path) {
            route.handler.handle(decoded, path: path, writer: writer)
            return
        }
        writer.respond(JSONResponse.error(.notFound("Malformed request: \(request.method) \(path)")))
    }

    static func pathWithoutQuery(_ target: String) -> Substring {
        if let query = target.utf8.firstIndex(of: UInt8(ascii: "?")) { return target[..<query] }
        return target[...]
    }
}
