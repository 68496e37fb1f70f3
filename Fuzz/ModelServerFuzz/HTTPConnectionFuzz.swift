import Logging
import NIOCore
import NIOEmbedded
import Tensors
@testable import Transport

/// One client connection to the server's transport on an `EmbeddedChannel`: the protocol sniffer
/// the server puts first on every plain-text connection, tight limits (so refusals, the in-flight
/// budget and rapid-reset protection are reached with small inputs) and a handler that answers
/// every request with 200 and a small body.
///
/// The first input byte is a selector: when even, the HTTP/2 client preface is sent before the
/// rest of the input (which then drives the nghttp2 session); when odd, the rest is sent as is, so
/// the sniffer takes it for HTTP/1.1 unless it starts with the preface itself. The selector's upper
/// seven bits give the size of the reads the bytes arrive in (0: one read). Once the connection is
/// closed, every byte the transport took from the budget must have been given back.
enum HTTPConnectionFuzz {
    /// Answers 200 `ok` at once, on the event loop, as a fast route would.
    struct AnswerOK: ServerRequestHandler {
        func handle(_ request: ServerRequest, writer: any ResponseWriter) {
            writer.respond(ServerResponse(
                status: 200, headers: [HeaderField("content-type", "text/plain")], body: ByteBuffer(string: "ok")))
        }
    }

    /// The in-flight budget request bodies are charged to.
    struct BodyBudget: InflightByteBudget {
        let budget: MemoryBudget
        func reserve(_ bytes: Int) -> Bool { budget.reserve(bytes) }
        func release(_ bytes: Int) { budget.release(bytes) }
        var bytesInUse: Int { budget.bytesInUse }
        var limitBytes: Int { budget.limitBytes }
    }

    static let budget = BodyBudget(budget: MemoryBudget(limitBytes: 24 << 10))

    static let limits = HTTPServer.Limits(
        maxBodyBytes: 16 << 10, inflightBudget: budget, maxConcurrentStreams: 8, maxHeaderListSize: 4 << 10,
        initialStreamWindowSize: 32 << 10, connectionWindowSize: 64 << 10, maxClientResetsPerWindow: 16,
        resetWindow: .seconds(10))

    static let logger = Logger(label: "model-server.fuzz") { _ in SwiftLogNoOpLogHandler() }

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let selector = bytes.first else { return }
        let channel = EmbeddedChannel()
        let sniffer = ProtocolSniffer(limits: limits, requestHandler: AnswerOK(), logger: logger)
        guard (try? channel.pipeline.syncOperations.addHandler(sniffer)) != nil,
              let address = try? SocketAddress(ipAddress: "127.0.0.1", port: 8500),
              (try? channel.connect(to: address).wait()) != nil
        else { return }

        var input = channel.allocator.buffer(capacity: bytes.count + ProtocolSniffer.http2Preface.count)
        if selector & 1 == 0 {
            input.writeBytes(ProtocolSniffer.http2Preface)
        }
        input.writeBytes(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()))
        let readSize = selector >> 1 == 0 ? max(1, input.readableBytes) : Int(selector >> 1)
        while channel.isActive, input.readableBytes > 0,
              let read = input.readSlice(length: min(readSize, input.readableBytes)) {
            _ = try? channel.writeInbound(read)
            channel.embeddedEventLoop.run()
            while (try? channel.readOutbound(as: IOData.self)) != nil {}
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
        precondition(budget.bytesInUse == 0, "the connection closed holding \(budget.bytesInUse) bytes of the in-flight budget")
    }
}
