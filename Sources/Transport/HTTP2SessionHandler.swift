import CNGHTTP2
import Logging
import NIOCore
import Synchronization

/// Runs one server-side nghttp2 session for an HTTP/2 connection (h2c with prior knowledge, or h2
/// after ALPN).
///
/// Bytes read from the channel go to `nghttp2_session_mem_recv` (client preface included);
/// callbacks fill the `HTTP2Stream` of each request; requests completed during a read are handed
/// to the `ServerRequestHandler` after `mem_recv` returns. Output is drained from
/// `nghttp2_session_mem_send` into one reused buffer while the channel is writable and written and
/// flushed once per read burst; responses that arrive between reads are coalesced into one flush
/// per event loop tick.
final class HTTP2SessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Output is handed to the channel in pieces of about this size.
    private static let writeChunkBytes = 32 << 10
    /// The output buffer a connection keeps between writes; a bigger one is dropped once no
    /// stream is open.
    private static let idleOutputBytes = 16 << 10
    /// Closed streams kept for reuse per connection, at most.
    private static let maxSpareStreams = 64

    private let limits: HTTPServer.Limits
    private let requestHandler: any ServerRequestHandler
    private let logger: Logger

    // Connection state below is touched only on the event loop, and no access to it spans a call
    // that can re-enter the handler (nghttp2 calls, channel writes, the request handler), so it
    // is exempt from the run-time exclusivity checks that would otherwise run in every callback.
    @exclusivity(unchecked) private var session: OpaquePointer?
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    /// Every open stream; a stream knows its own index (`slot`).
    @exclusivity(unchecked) private var streams: [HTTP2Stream] = []
    @exclusivity(unchecked) private var completedStreams: [HTTP2Stream] = []
    @exclusivity(unchecked) private var spareStreams: [HTTP2Stream] = []
    @exclusivity(unchecked) private var output = ByteBuffer()
    @exclusivity(unchecked) private var inReadBurst = false
    @exclusivity(unchecked) private var inFlush = false
    @exclusivity(unchecked) private var flushPending = false
    @exclusivity(unchecked) private var flushScheduled = false
    @exclusivity(unchecked) private var draining = false
    @exclusivity(unchecked) private var closing = false

    private var resetCount = 0
    private var resetWindowStart = NIODeadline.uptimeNanoseconds(0)

    init(limits: HTTPServer.Limits, requestHandler: any ServerRequestHandler, logger: Logger) {
        self.limits = limits
        self.requestHandler = requestHandler
        self.logger = logger
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard startSession() else {
            logger.error("could not create an nghttp2 session")
            context.close(promise: nil)
            return
        }
        flushOutput()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let input = unwrapInboundIn(data)
        guard let session, !closing else { return }
        inReadBurst = true
        let result = input.withUnsafeReadableBytes { bytes in
            nghttp2_session_mem_recv(session, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
        }
        if result < 0 {
            logger.debug("HTTP/2 input rejected", metadata: ["error": "\(nghttp2ErrorText(Int32(truncatingIfNeeded: result)))"])
            inReadBurst = false
            flushOutput()
            closeConnection()
            return
        }
        dispatchCompletedRequests()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBurst = false
        flushOutput()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            if inFlush {
                flushPending = true
            } else {
                flushOutput()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            beginDrain()
        case let idle as IdleStateHandler.IdleStateEvent where idle == .all:
            if streams.isEmpty {
                beginDrain()
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("HTTP/2 connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Session lifecycle

    private func startSession() -> Bool {
        guard let callbacks = NGHTTP2Callbacks.shared else { return false }
        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else { return false }
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_max_send_header_block_length(option, 1 << 20)
        // Closed streams are kept only for the priority tree, which RFC 9113 deprecates.
        nghttp2_option_set_no_closed_streams(option, 1)

        var created: OpaquePointer?
        let userData = Unmanaged.passUnretained(self).toOpaque()
        guard nghttp2_session_server_new2(&created, callbacks, userData, option) == 0, let created else {
            return false
        }
        session = created

        let streamWindow = UInt32(clamping: min(limits.initialStreamWindowSize, Int(Int32.max)))
        var settings = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: UInt32(clamping: limits.maxConcurrentStreams)),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: streamWindow),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                value: UInt32(clamping: limits.maxHeaderListSize)),
        ]
        guard nghttp2_submit_settings(created, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count) == 0
        else { return false }
        let connectionWindow = Int32(clamping: max(limits.connectionWindowSize, 65_535))
        guard nghttp2_session_set_local_window_size(created, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, connectionWindow) == 0
        else { return false }
        return true
    }

    private func tearDown() {
        if let session {
            nghttp2_session_del(session)
            self.session = nil
        }
        for stream in streams {
            stream.isClosed = true
            stream.markCancelled()
            releaseReservation(of: stream)
        }
        streams.removeAll()
        completedStreams.removeAll()
        spareStreams.removeAll()
        output = ByteBuffer()
    }

    private func beginDrain() {
        guard let session, !draining else { return }
        draining = true
        let lastStreamID = nghttp2_session_get_last_proc_stream_id(session)
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), lastStreamID, UInt32(NGHTTP2_NO_ERROR.rawValue), nil, 0)
        scheduleFlush()
    }

    private func closeConnection() {
        guard !closing, let context else { return }
        closing = true
        context.close(promise: nil)
    }

    // MARK: Output

    /// Flushes at the end of the current read burst or drain, or else once on the next tick, so
    /// responses that arrive together from other threads share one write.
    private func scheduleFlush() {
        if inReadBurst || inFlush {
            flushPending = true
            return
        }
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            flushOutput()
        }
    }

    /// Drains `mem_send` while the channel is writable, then flushes once.
    private func flushOutput() {
        guard !inFlush else {
            flushPending = true
            return
        }
        repeat {
            flushPending = false
            drainSession()
        } while flushPending && !closing && session != nil && context?.channel.isWritable == true
    }

    private func drainSession() {
        guard let session, let context, !closing else { return }
        let channel = context.channel
        guard channel.isWritable else { return }
        inFlush = true
        if output.capacity == 0 {
            output = channel.allocator.buffer(capacity: Self.idleOutputBytes)
        } else {
            output.clear()
        }
        var wroteChunk = false
        var drained = false
        var failed = false
        while true {
            var chunk: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &chunk)
            if count < 0 {
                logger.debug("nghttp2 send failed", metadata: ["error": "\(nghttp2ErrorText(Int32(truncatingIfNeeded: count)))"])
                failed = true
                break
            }
            guard count > 0, let chunk else {
                drained = true
                break
            }
            output.writeBytes(UnsafeRawBufferPointer(start: chunk, count: count))
            if output.readableBytes >= Self.writeChunkBytes {
                context.write(wrapOutboundOut(output), promise: nil)
                output.clear()
                wroteChunk = true
                if !channel.isWritable {
                    // Past the high water mark: hand what is queued to the socket, and go on only
                    // if it took it.
                    context.flush()
                    wroteChunk = false
                    guard self.session != nil else {
                        // The flush failed and closed the channel, which deleted the session.
                        inFlush = false
                        return
                    }
                    if !channel.isWritable { break }
                }
            }
        }
        inFlush = false

        let finished = failed
            || (drained && nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0)
            || (drained && draining && streams.isEmpty)
        if finished {
            closing = true
            // Also when `output` is empty: the write completes once everything queued before it is out.
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(output), promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else if output.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        } else if wroteChunk {
            context.flush()
        }
        if streams.isEmpty, output.capacity > Self.idleOutputBytes {
            output = ByteBuffer()
        }
    }

    /// Appends a DATA frame whose payload nghttp2 left to the application
    /// (`NGHTTP2_DATA_FLAG_NO_COPY`): the frame header, then the body straight from the stream.
    func sendData(stream: HTTP2Stream, frameHeader: UnsafePointer<UInt8>, length: Int, padding: Int) -> Int32 {
        guard stream.responseBody.readableBytes >= length else {
            return Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
        }
        output.writeBytes(UnsafeRawBufferPointer(start: frameHeader, count: 9))
        if padding > 0 {
            output.writeInteger(UInt8(truncatingIfNeeded: padding - 1))
        }
        if var slice = stream.responseBody.readSlice(length: length) {
            output.writeBuffer(&slice)
        }
        if padding > 1 {
            output.writeRepeatingByte(0, count: padding - 1)
        }
        if stream.responseBody.readableBytes == 0 {
            stream.responseBody = ByteBuffer()
        }
        return 0
    }

    // MARK: Requests

    private func dispatchCompletedRequests() {
        guard !completedStreams.isEmpty else { return }
        for stream in completedStreams where !stream.isClosed && stream.phase == .receiving {
            stream.phase = .dispatched
            requestHandler.handle(stream.takeRequest(), writer: stream)
        }
        completedStreams.removeAll(keepingCapacity: true)
    }

    func submitResponse(_ response: ServerResponse, for stream: HTTP2Stream) {
        guard let session, !stream.isClosed, stream.phase == .dispatched else { return }
        stream.phase = .responding
        submit(response, stream: stream, session: session)
        scheduleFlush()
    }

    private func submit(_ response: ServerResponse, stream: HTTP2Stream, session: OpaquePointer) {
        let hasBody = response.body.readableBytes > 0 || !response.trailers.isEmpty
        stream.responseBody = response.body
        stream.responseTrailers = response.trailers
        let result = NGHTTP2HeaderBlock.withHeaderBlock(
            status: response.status,
            fields: response.headers,
            contentLength: response.trailers.isEmpty ? response.body.readableBytes : nil
        ) { nva, count in
            if hasBody {
                var provider = nghttp2_data_provider(
                    source: nghttp2_data_source(ptr: Unmanaged.passUnretained(stream).toOpaque()),
                    read_callback: NGHTTP2Callbacks.readResponseBody
                )
                return nghttp2_submit_response(session, stream.streamID, nva, count, &provider)
            }
            return nghttp2_submit_response(session, stream.streamID, nva, count, nil)
        }
        if result != 0 {
            logger.debug("nghttp2_submit_response failed", metadata: ["error": "\(nghttp2ErrorText(result))"])
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.streamID, UInt32(NGHTTP2_INTERNAL_ERROR.rawValue))
        }
    }

    /// Answers a request that broke a limit before it reached the handler; the body it still
    /// sends is dropped (nghttp2 resets the stream with NO_ERROR once the answer is out).
    private func reject(_ stream: HTTP2Stream, with response: ServerResponse) {
        guard let session else { return }
        let wasDispatched = stream.phase != .receiving
        stream.phase = .rejected
        stream.fields.removeAll()
        stream.authorityEntry = nil
        stream.body = ByteBuffer()
        releaseReservation(of: stream)
        if wasDispatched {
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.streamID, UInt32(NGHTTP2_REFUSED_STREAM.rawValue))
        } else {
            submit(response, stream: stream, session: session)
        }
        scheduleFlush()
    }

    /// Takes `bytes` more for the stream's body from the in-flight budget, or rejects the stream.
    private func reserve(_ bytes: Int, for stream: HTTP2Stream) -> Bool {
        guard let budget = limits.inflightBudget else { return true }
        guard budget.reserve(bytes) else {
            reject(stream, with: RequestRefusal.inflightBudgetExhausted(
                adding: bytes, budget: budget, limits: limits, grpc: stream.isGRPC))
            return false
        }
        stream.reservedBytes += bytes
        return true
    }

    private func releaseReservation(of stream: HTTP2Stream) {
        guard stream.reservedBytes > 0 else { return }
        limits.inflightBudget?.release(stream.reservedBytes)
        stream.reservedBytes = 0
    }

    // MARK: nghttp2 callbacks (see NGHTTP2Callbacks)

    func beginStream(_ streamID: Int32, session: OpaquePointer) {
        guard let context else { return }
        let stream = spareStreams.popLast() ?? HTTP2Stream(connection: self, eventLoop: context.eventLoop)
        stream.open(streamID: streamID, slot: streams.count)
        streams.append(stream)
        nghttp2_session_set_stream_user_data(session, streamID, Unmanaged.passUnretained(stream).toOpaque())
    }

    func receiveHeader(stream: HTTP2Stream, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        guard stream.phase == .receiving else { return }
        let listSize = stream.headerListSize + name.count + value.count + 32
        stream.headerListSize = listSize
        if listSize > limits.maxHeaderListSize {
            if !stream.fields.isEmpty {
                stream.fields.removeAll()
                stream.authorityEntry = nil
            }
            return
        }
        if name.first == UInt8(ascii: ":") {
            if bytes(name, equal: ":path") {
                stream.path = String(decoding: value, as: UTF8.self)
            } else if bytes(name, equal: ":method") {
                stream.method = methodText(value)
            } else if bytes(name, equal: ":authority"), !stream.hasHostField {
                let host: StaticString = "host"
                stream.authorityEntry = stream.fields.append(
                    name: UnsafeRawBufferPointer(start: host.utf8Start, count: host.utf8CodeUnitCount),
                    value: UnsafeRawBufferPointer(value))
            }
            return
        }
        if bytes(name, equal: "content-length") {
            stream.declaredContentLength = decimalValue(value)
        } else if bytes(name, equal: "content-type") {
            stream.isGRPC = RequestRefusal.isGRPC(contentType: value)
        } else if bytes(name, equal: "host") {
            stream.hasHostField = true
            if let entry = stream.authorityEntry {
                stream.fields.remove(entry: entry)
                stream.authorityEntry = nil
            }
        }
        stream.fields.append(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value))
    }

    func receivedHeadersFrame(stream: HTTP2Stream, isRequestHeaders: Bool, endStream: Bool) {
        if isRequestHeaders, stream.phase == .receiving {
            if stream.headerListSize > limits.maxHeaderListSize {
                reject(stream, with: ServerResponse(status: 431))
            } else if let length = stream.declaredContentLength {
                if length > limits.maxBodyBytes {
                    reject(stream, with: RequestRefusal.bodyTooLarge(declared: length, limits: limits, grpc: stream.isGRPC))
                } else if length > 0, reserve(length, for: stream) {
                    stream.body.reserveCapacity(length)
                }
            }
        }
        if endStream {
            requestEnded(stream: stream)
        }
    }

    func receiveData(stream: HTTP2Stream, bytes: UnsafeRawBufferPointer) {
        guard stream.phase == .receiving else { return }
        let total = stream.body.readableBytes + bytes.count
        if total > limits.maxBodyBytes {
            reject(stream, with: RequestRefusal.bodyTooLarge(declared: nil, limits: limits, grpc: stream.isGRPC))
            return
        }
        if total > stream.reservedBytes {
            guard reserve(total - stream.reservedBytes, for: stream) else { return }
        }
        stream.body.writeBytes(bytes)
    }

    func requestEnded(stream: HTTP2Stream) {
        guard stream.phase == .receiving else { return }
        completedStreams.append(stream)
    }

    func receivedReset() {
        let now = NIODeadline.now()
        if now - resetWindowStart > limits.resetWindow {
            resetWindowStart = now
            resetCount = 0
        }
        resetCount += 1
        if resetCount > limits.maxClientResetsPerWindow, let session, !draining {
            logger.notice("closing HTTP/2 connection: too many stream resets")
            draining = true
            nghttp2_session_terminate_session(session, UInt32(NGHTTP2_ENHANCE_YOUR_CALM.rawValue))
            for stream in streams {
                stream.markCancelled()
            }
            scheduleFlush()
        }
    }

    func streamClosed(_ stream: HTTP2Stream, errorCode: UInt32) {
        guard !stream.isClosed else { return }
        stream.isClosed = true
        releaseReservation(of: stream)
        if stream.phase == .dispatched || errorCode != UInt32(NGHTTP2_NO_ERROR.rawValue) {
            stream.markCancelled()
        }
        stream.responseBody = ByteBuffer()
        stream.responseTrailers = []
        let slot = stream.slot
        let last = streams.count - 1
        var closed = streams[slot]
        if slot < last {
            let moved = streams[last]
            moved.slot = slot
            streams[slot] = moved
        }
        streams.removeLast()
        if spareStreams.count < Self.maxSpareStreams, isKnownUniquelyReferenced(&closed) {
            // The last outside reference may have been dropped on another thread.
            atomicMemoryFence(ordering: .acquiring)
            closed.recycle()
            spareStreams.append(closed)
        }
        if draining, streams.isEmpty {
            scheduleFlush()
        }
    }

    func readResponseBody(
        stream: HTTP2Stream,
        capacity: Int,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        let remaining = stream.responseBody.readableBytes
        let count = min(capacity, remaining)
        if count > 0 {
            flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_NO_COPY.rawValue)
        }
        if count == remaining {
            flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue)
            if !stream.responseTrailers.isEmpty, let session {
                flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue)
                let trailers = stream.responseTrailers
                stream.responseTrailers = []
                let result = NGHTTP2HeaderBlock.withHeaderBlock(status: nil, fields: trailers, contentLength: nil) {
                    nva, count in
                    nghttp2_submit_trailer(session, stream.streamID, nva, count)
                }
                if result != 0 {
                    return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
                }
            }
        }
        return count
    }
}

func nghttp2ErrorText(_ code: Int32) -> String {
    guard let text = nghttp2_strerror(code) else { return "nghttp2 error \(code)" }
    return String(cString: text)
}

@inline(__always)
private func bytes(_ bytes: UnsafeBufferPointer<UInt8>, equal text: StaticString) -> Bool {
    guard bytes.count == text.utf8CodeUnitCount else { return false }
    let expected = text.utf8Start
    for index in 0..<bytes.count where bytes[index] != expected[index] {
        return false
    }
    return true
}

/// The request method as a `String`; the common ones come from literals without decoding.
@inline(__always)
private func methodText(_ value: UnsafeBufferPointer<UInt8>) -> String {
    if bytes(value, equal: "POST") { return "POST" }
    if bytes(value, equal: "GET") { return "GET" }
    return String(decoding: value, as: UTF8.self)
}

/// A non-negative decimal number; `nil` for anything else or on overflow.
private func decimalValue(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    guard !bytes.isEmpty else { return nil }
    var value = 0
    for byte in bytes {
        let digit = byte &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = shifted.addingReportingOverflow(Int(digit))
        if overflow1 || overflow2 { return nil }
        value = sum
    }
    return value
}
