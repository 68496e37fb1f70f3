import Foundation
import NIOCore
import Transport

/// Serves fixed bodies through the transport alone, for h2load comparisons with nghttpd:
/// `GET /small` (5 bytes), `GET /4k` (4 KiB); anything else echoes the request body.
/// Usage: transport-bench <port> [event loop threads] [<tls port> <certificate.pem> <key.pem>]
/// With the TLS arguments a second server, with event loops of its own, serves the same bodies
/// over TLS (ALPN h2, http/1.1).
final class FixedBodies: ServerRequestHandler {
    let small = ByteBuffer(string: "hello")
    let large = ByteBuffer(repeating: UInt8(ascii: "x"), count: 4096)
    let headers = [HeaderField("content-type", "text/plain")]

    func handle(_ request: ServerRequest, writer: any ResponseWriter) {
        let body: ByteBuffer
        switch request.path {
        case "/small": body = small
        case "/4k": body = large
        default: body = request.body
        }
        writer.respond(ServerResponse(status: 200, headers: headers, body: body))
    }
}

let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
let threads = arguments.count > 2 ? Int(arguments[2]) : nil
let plain = HTTPServer(
    configuration: HTTPServer.Configuration(host: "127.0.0.1", ports: [port], eventLoopThreads: threads),
    handler: FixedBodies())
let bound = try await plain.start()
print("transport-bench listening on 127.0.0.1:\(bound.first ?? 0)")

if arguments.count > 5 {
    let tls = try HTTPServer.TLSSettings(
        certificateChainPEM: try String(contentsOfFile: arguments[4], encoding: .utf8),
        privateKeyPEM: try String(contentsOfFile: arguments[5], encoding: .utf8))
    let secure = HTTPServer(
        configuration: HTTPServer.Configuration(
            host: "127.0.0.1", ports: [Int(arguments[3]) ?? 0], eventLoopThreads: threads, tls: tls),
        handler: FixedBodies())
    let tlsBound = try await secure.start()
    print("transport-bench tls listening on 127.0.0.1:\(tlsBound.first ?? 0)")
}
fflush(nil)
while true { try await Task.sleep(for: .seconds(3600)) }
