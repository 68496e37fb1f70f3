import NIOCore
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
        guard path.hasPrefix(prefix) else { return false }
        let after = path.dropFirst(prefix.count)
        return after.isEmpty || after.first == "/" || after.first == ":"
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

        public init(maxJSONBodyBytes: Int = 256 << 20, maxJSONDepth: Int = 64, kserveServer: KServeServerInfo = KServeServerInfo()) {
            self.maxJSONBodyBytes = maxJSONBodyBytes
            self.maxJSONDepth = maxJSONDepth
            self.kserveServer = kserveServer
        }
    }

    private let routes: [APIRoute]
    private let grpcHandler: (any APIRouteHandler)?
    private let maxDecodedBodyBytes: Int

    /// - Parameters:
    ///   - routes: further path routes, tried after the built-in `/v1` ones and before the built-in `/v2` KServe ones.
    ///   - grpc: receives every request whose content type is `application/grpc[+proto]`; `GRPCService` by default.
    public init(
        backend: any ServingBackend,
        options: Options = Options(),
        routes: [APIRoute] = [],
        grpc: (any APIRouteHandler)? = nil
    ) {
        self.routes = [APIRoute(prefix: "/v1", handler: TFServingRoutes(backend: backend, options: options))] + routes
            + [APIRoute(prefix: "/v2", handler: KServeRoutes(backend: backend, options: options))]
        self.grpcHandler = grpc ?? GRPCService(backend: backend, options: GRPCService.Options(serverInfo: options.kserveServer))
        self.maxDecodedBodyBytes = options.maxJSONBodyBytes
    }

    public func handle(_ request: ServerRequest, writer: any ResponseWriter) {
        let path = Self.pathWithoutQuery(request.path)
        if let grpcHandler, request.header("content-type")?.hasPrefix("application/grpc") == true {
            grpcHandler.handle(request, path: path, writer: writer)
            return
        }
        var writer = writer
        if let chosen = HTTPContentCoding.responseFormat(accepting: request.header("accept-encoding")) {
            writer = CompressingResponseWriter(inner: writer, format: chosen.format, name: chosen.name)
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
        if let query = target.firstIndex(of: "?") { return target[..<query] }
        return target[...]
    }
}
