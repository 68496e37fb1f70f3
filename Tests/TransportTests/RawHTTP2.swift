import CNGHTTP2
@testable import Transport

/// Hand-built HTTP/2 frames for tests that need exact control over what a client sends, and an
/// HPACK decoder (nghttp2's) for reading the server's header blocks.
enum RawHTTP2 {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
    }

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
            + withUnsafeBytes(of: stream.bigEndian, Array.init) + payload
    }

    /// Client preface, empty SETTINGS, and a HEADERS frame (END_HEADERS, END_STREAM when asked) on stream 1.
    static func request(_ fields: [(String, String)], endStream: Bool = false) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0)
            block += literal(name) + literal(value)
        }
        return preface + frame(type: 4, flags: 0, stream: 0)
            + frame(type: 1, flags: 0x4 | (endStream ? 0x1 : 0), stream: 1, payload: block)
    }

    private static func literal(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        precondition(bytes.count < 127)
        return [UInt8(bytes.count)] + bytes
    }

    static func parse(_ bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var index = 0
        while bytes.count - index >= 9 {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            guard bytes.count - index >= 9 + length else { break }
            let stream = UInt32(bytes[index + 5] & 0x7F) << 24 | UInt32(bytes[index + 6]) << 16
                | UInt32(bytes[index + 7]) << 8 | UInt32(bytes[index + 8])
            frames.append(Frame(type: bytes[index + 3], flags: bytes[index + 4], stream: stream,
                                payload: Array(bytes[(index + 9)..<(index + 9 + length)])))
            index += 9 + length
        }
        return frames
    }

    /// Decodes the header blocks of `frames` (HEADERS without padding or priority, in order) into fields.
    static func headerFields(_ frames: [Frame]) -> [(String, String)] {
        var inflater: OpaquePointer?
        guard nghttp2_hd_inflate_new(&inflater) == 0, let inflater else { return [] }
        defer { nghttp2_hd_inflate_del(inflater) }
        var fields: [(String, String)] = []
        for frame in frames where frame.type == 1 {
            var offset = 0
            while true {
                var field = nghttp2_nv()
                var flags: Int32 = 0
                let used = frame.payload.withUnsafeBufferPointer { payload in
                    nghttp2_hd_inflate_hd2(inflater, &field, &flags, payload.baseAddress.map { $0 + offset },
                                           payload.count - offset, 1)
                }
                guard used >= 0 else { return fields }
                offset += used
                if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) != 0 {
                    fields.append((String(decoding: UnsafeBufferPointer(start: field.name, count: field.namelen), as: UTF8.self),
                                   String(decoding: UnsafeBufferPointer(start: field.value, count: field.valuelen), as: UTF8.self)))
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 {
                    nghttp2_hd_inflate_end_headers(inflater)
                    break
                }
                if used == 0 && flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) == 0 { break }
            }
        }
        return fields
    }
}
