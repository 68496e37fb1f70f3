import Dispatch
import NIOCore
import Transport

/// Serves a metrics exposition (Prometheus text format 0.0.4) at exactly one path, `GET` only.
/// The text is rendered on a background queue, never on the event loop.
public struct MetricsRoute: APIRouteHandler {
    public static let contentType = HeaderField("content-type", "text/plain; version=0.0.4; charset=utf-8")

    public let path: String
    private let render: @Sendable () -> [UInt8]

    /// `render` produces the whole exposition; it is called once per scrape.
    public init(path: String, render: @escaping @Sendable () -> [UInt8]) {
        self.path = path
        self.render = render
    }

    /// The router entry for this route.
    public var route: APIRoute { APIRoute(prefix: path, handler: self) }

    public func handle(_ request: ServerRequest, path: Substring, writer: any ResponseWriter) {
        guard path == self.path else {
            writer.respond(JSONResponse.error(.notFound("Malformed request: \(request.method) \(path)")))
            return
        }
        guard request.method == "GET" else {
            writer.respond(JSONResponse.error(
                status: 405, message: "Method \(request.method) is not allowed on \(path); use GET",
                extraHeaders: [HeaderField("allow", "GET")]))
            return
        }
        let render = render
        DispatchQueue.global().async {
            guard !writer.isCancelled else { return }
            writer.respond(ServerResponse(status: 200, headers: [Self.contentType], body: ByteBuffer(bytes: render())))
        }
    }
}
