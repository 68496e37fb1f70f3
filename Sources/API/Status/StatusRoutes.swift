import Foundation
import NIOCore
import Transport

/// `GET /` and `GET /status` (the HTML status page) and `GET /v1/status` (its JSON). Works whether or
/// not a metrics backend is configured: the figures come from the server's own counters.
struct StatusRoutes: APIRouteHandler {
    static let htmlContentType = HeaderField("content-type", "text/html; charset=utf-8")
    let backend: any ServingBackend

    /// The router entries: `/v1/status` must come before the `/v1` table.
    static func routes(backend: any ServingBackend) -> (beforeV1: [APIRoute], last: [APIRoute]) {
        let handler = StatusRoutes(backend: backend)
        return ([APIRoute(prefix: "/v1/status", handler: handler)],
                [APIRoute(prefix: "/status", handler: handler), APIRoute(prefix: "/", handler: handler)])
    }

    func handle(_ request: ServerRequest, path: Substring, writer: any ResponseWriter) {
        let isPage = path == "/" || path == "/status"
        guard isPage || path == "/v1/status" else {
            return writer.respond(JSONResponse.error(.notFound("Malformed request: \(request.method) \(path)")))
        }
        guard request.method == "GET" else {
            return writer.respond(JSONResponse.error(
                status: 405, message: "Method \(request.method) is not allowed on \(path); use GET",
                extraHeaders: [HeaderField("allow", "GET")]))
        }
        let json = StatusJSON.encode(backend.statusReport(), nowUnixMillis: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        let noStore = HeaderField("cache-control", "no-store")
        guard isPage else {
            return writer.respond(JSONResponse.make(status: 200, body: json, extraHeaders: [noStore]))
        }
        let page = StatusPage.render(statusJSON: Array(json.readableBytesView))
        writer.respond(ServerResponse(status: 200, headers: [Self.htmlContentType, noStore], body: ByteBuffer(bytes: page)))
    }
}
