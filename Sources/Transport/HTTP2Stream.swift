import NIOCore
import Synchronization

/// One HTTP/2 stream of an `HTTP2SessionHandler`, from its first HEADERS frame until nghttp2
/// reports it closed, and the `ResponseWriter` its request is answered through.
///
/// The handler keeps every open stream alive in its `streams` table and gives nghttp2 an unretained
/// pointer to it (stream user data, response body source), so callbacks reach it without a lookup.
/// A stream that closes while nothing else holds it is recycled for a later stream of the same
/// connection. Everything except the writer flags is touched only on the connection's event loop;
/// `respond` may be called from any thread and hops there.
final class HTTP2Stream: ResponseWriter, @unchecked Sendable {
    enum Phase {
        /// Headers and body are arriving.
        case receiving
        /// The request went to the handler; no response yet.
        case dispatched
        /// The response was submitted to nghttp2.
        case responding
        /// The request broke a limit and was answered by the transport; further input is discarded.
        case rejected
    }

    private static let respondedFlag: UInt8 = 1
    private static let cancelledFlag: UInt8 = 2

    private(set) var streamID: Int32 = 0
    private let connection: HTTP2SessionHandler
    private let eventLoop: any EventLoop
    private let flags = Atomic<UInt8>(0)

    // Loop-confined like the handler's state, and exempt from run-time exclusivity checks for
    // the same reason: no access spans a call that can re-enter the handler.
    @exclusivity(unchecked) var phase = Phase.receiving
    /// nghttp2 closed the stream (or the session is gone); nothing more is sent on it.
    @exclusivity(unchecked) var isClosed = false
    /// Index in the handler's table of open streams.
    @exclusivity(unchecked) var slot = 0
    @exclusivity(unchecked) var method = ""
    @exclusivity(unchecked) var path = ""
    /// The `host` entry made from `:authority`, dropped if the client sends its own `host`.
    @exclusivity(unchecked) var authorityEntry: Range<Int>?
    @exclusivity(unchecked) var hasHostField = false
    @exclusivity(unchecked) var fields = PackedHeaderFieldsBuilder()
    @exclusivity(unchecked) var headerListSize = 0
    @exclusivity(unchecked) var declaredContentLength: Int?
    /// The request's `content-type` is gRPC, so refusals are gRPC statuses.
    @exclusivity(unchecked) var isGRPC = false
    /// Bytes of the body taken from the in-flight budget; given back when the stream closes.
    @exclusivity(unchecked) var reservedBytes = 0
    @exclusivity(unchecked) var body = ByteBuffer()
    @exclusivity(unchecked) var responseBody = ByteBuffer()
    @exclusivity(unchecked) var responseTrailers: [HeaderField] = []

    init(connection: HTTP2SessionHandler, eventLoop: any EventLoop) {
        self.connection = connection
        self.eventLoop = eventLoop
    }

    /// Starts serving stream `streamID`, from a new or a recycled stream.
    func open(streamID: Int32, slot: Int) {
        self.streamID = streamID
        self.slot = slot
    }

    /// Makes a closed stream that nothing outside its connection references ready for `open`.
    func recycle() {
        flags.store(0, ordering: .relaxed)
        phase = .receiving
        isClosed = false
        method = ""
        path = ""
        authorityEntry = nil
        hasHostField = false
        fields.removeAll()
        headerListSize = 0
        declaredContentLength = nil
        isGRPC = false
        reservedBytes = 0
        body = ByteBuffer()
    }

    /// Hands over the received head and body.
    func takeRequest() -> ServerRequest {
        let request = ServerRequest(method: method, path: path, fields: .packed(fields.take()), body: body, version: .http2)
        body = ByteBuffer()
        return request
    }

    // MARK: ResponseWriter

    var isCancelled: Bool { flags.load(ordering: .relaxed) & Self.cancelledFlag != 0 }

    func markCancelled() {
        flags.bitwiseOr(Self.cancelledFlag, ordering: .relaxed)
    }

    func respond(_ response: ServerResponse) {
        let previous = flags.bitwiseOr(Self.respondedFlag, ordering: .relaxed).oldValue
        guard previous & (Self.respondedFlag | Self.cancelledFlag) == 0 else { return }
        if eventLoop.inEventLoop {
            connection.submitResponse(response, for: self)
        } else {
            eventLoop.execute {
                self.connection.submitResponse(response, for: self)
            }
        }
    }
}
