import CNGHTTP2

/// The C callbacks nghttp2 calls during `mem_recv` / `mem_send`. Each one recovers the
/// `HTTP2SessionHandler` from `user_data` and the `HTTP2Stream` from the stream's user data (or the
/// data source), and forwards to the handler; they run on the connection's event loop because the
/// session is only ever driven there.
enum NGHTTP2Callbacks {
    /// One callbacks table for every session (nghttp2 copies it into each session it creates).
    nonisolated(unsafe) static let shared: OpaquePointer? = makeCallbacks()

    private static func makeCallbacks() -> OpaquePointer? {
        var created: OpaquePointer?
        guard nghttp2_session_callbacks_new(&created) == 0, let callbacks = created else { return nil }

        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { session, frame, userData in
            guard let session, let frame, let userData else { return 0 }
            if frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
                frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
            {
                withHandler(userData) { $0.beginStream(frame.pointee.hd.stream_id, session: session) }
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            session, frame, name, nameLength, value, valueLength, _, userData in
            guard let frame, let name, let value, let userData,
                frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
            else { return 0 }
            withStream(session, frame.pointee.hd.stream_id) { stream in
                withHandler(userData) {
                    $0.receiveHeader(
                        stream: stream,
                        name: UnsafeBufferPointer(start: name, count: nameLength),
                        value: UnsafeBufferPointer(start: value, count: valueLength))
                }
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) {
            session, _, streamID, data, length, userData in
            guard let userData else { return 0 }
            withStream(session, streamID) { stream in
                withHandler(userData) { $0.receiveData(stream: stream, bytes: UnsafeRawBufferPointer(start: data, count: length)) }
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { session, frame, userData in
            guard let frame, let userData else { return 0 }
            let header = frame.pointee.hd
            switch header.type {
            case UInt8(NGHTTP2_HEADERS.rawValue):
                let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
                let isRequestHeaders = frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
                withStream(session, header.stream_id) { stream in
                    withHandler(userData) {
                        $0.receivedHeadersFrame(stream: stream, isRequestHeaders: isRequestHeaders, endStream: endStream)
                    }
                }
            case UInt8(NGHTTP2_DATA.rawValue):
                if header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 {
                    withStream(session, header.stream_id) { stream in
                        withHandler(userData) { $0.requestEnded(stream: stream) }
                    }
                }
            case UInt8(NGHTTP2_RST_STREAM.rawValue):
                withHandler(userData) { $0.receivedReset() }
            default:
                break
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { session, streamID, errorCode, userData in
            guard let userData else { return 0 }
            withStream(session, streamID) { stream in
                withHandler(userData) { $0.streamClosed(stream, errorCode: errorCode) }
            }
            return 0
        }

        nghttp2_session_callbacks_set_send_data_callback(callbacks) { _, frame, frameHeader, length, source, userData in
            guard let frame, let frameHeader, let source, let pointer = source.pointee.ptr, let userData else {
                return Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
            }
            let padding = Int(frame.pointee.data.padlen)
            return Unmanaged<HTTP2Stream>.fromOpaque(pointer)._withUnsafeGuaranteedRef { stream in
                withHandler(userData) {
                    $0.sendData(stream: stream, frameHeader: frameHeader, length: length, padding: padding)
                }
            }
        }

        return callbacks
    }

    /// Reads the next chunk of a response body; installed as the data provider of every response
    /// that has a body or trailers. The data source points at the stream; the payload itself is
    /// copied once, by `send_data_callback`.
    static let readResponseBody: nghttp2_data_source_read_callback = {
        _, _, _, length, flags, source, userData in
        guard let flags, let source, let pointer = source.pointee.ptr, let userData else {
            return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
        }
        return Unmanaged<HTTP2Stream>.fromOpaque(pointer)._withUnsafeGuaranteedRef { stream in
            withHandler(userData) { $0.readResponseBody(stream: stream, capacity: length, flags: flags) }
        }
    }
}

/// Runs `body` with the handler behind a session's `user_data`. The handler owns the session, so
/// it outlives every callback and needs no retain here.
@inline(__always)
private func withHandler<Result>(
    _ userData: UnsafeMutableRawPointer, _ body: (HTTP2SessionHandler) -> Result
) -> Result {
    Unmanaged<HTTP2SessionHandler>.fromOpaque(userData)._withUnsafeGuaranteedRef(body)
}

/// Runs `body` with the open stream `streamID` of `session` (its stream user data, set by
/// `beginStream`), if there is one. The handler's table holds the stream while it is open.
@inline(__always)
private func withStream(_ session: OpaquePointer?, _ streamID: Int32, _ body: (HTTP2Stream) -> Void) {
    guard let pointer = nghttp2_session_get_stream_user_data(session, streamID) else { return }
    Unmanaged<HTTP2Stream>.fromOpaque(pointer)._withUnsafeGuaranteedRef(body)
}
