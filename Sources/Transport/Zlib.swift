import CZlib

/// gzip and zlib-wrapped deflate through the system zlib, for gRPC messages and HTTP bodies alike.
public enum Zlib {
    /// The two wrappings HTTP and gRPC name `gzip` and `deflate`.
    public enum Format: Sendable {
        case gzip
        /// RFC 1950 (zlib) framing, which HTTP and gRPC call `deflate`.
        case deflate

        var windowBits: Int32 { self == .gzip ? 15 + 16 : 15 }
    }

    /// Why data could not be inflated.
    public enum InflateError: Error, Sendable, Equatable {
        /// The output would pass the caller's limit.
        case tooLarge(limit: Int)
        /// Corrupt or truncated data, with zlib's status.
        case corrupt(status: Int32)
        /// Bytes follow the end of the compressed stream.
        case trailingBytes
        case couldNotStart
    }

    /// Inflates `input`, stopping as soon as the output would pass `limit` bytes.
    public static func inflate(_ input: some Collection<UInt8>, format: Format, limit: Int) throws(InflateError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, format.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .couldNotStart
        }
        defer { inflateEnd(&stream) }
        let source = Array(input)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let result: Int32 = source.withUnsafeBufferPointer { sourcePointer in
            stream.next_in = UnsafeMutablePointer(mutating: sourcePointer.baseAddress)
            stream.avail_in = UInt32(sourcePointer.count)
            var status: Int32 = Z_OK
            while status == Z_OK {
                status = chunk.withUnsafeMutableBufferPointer { chunkPointer in
                    stream.next_out = chunkPointer.baseAddress
                    stream.avail_out = UInt32(chunkPointer.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    let produced = chunkPointer.count - Int(stream.avail_out)
                    output.append(contentsOf: chunkPointer[0..<produced])
                    return status
                }
                if output.count > limit { return Z_MEM_ERROR }
            }
            return status
        }
        if output.count > limit { throw .tooLarge(limit: limit) }
        guard result == Z_STREAM_END else { throw .corrupt(status: result) }
        guard stream.avail_in == 0 else { throw .trailingBytes }
        return output
    }

    /// Deflates `input` at zlib `level` (1 fastest … 9 smallest; zlib's default when nil); nil when zlib
    /// fails (callers then send the data as it is).
    public static func deflate(_ input: some Collection<UInt8>, format: Format, level: Int32? = nil) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit2_(
            &stream, level ?? Z_DEFAULT_COMPRESSION, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        let source = Array(input)
        let bound = Int(deflateBound(&stream, UInt(source.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let status: Int32 = source.withUnsafeBufferPointer { sourcePointer in
            output.withUnsafeMutableBufferPointer { outputPointer in
                stream.next_in = UnsafeMutablePointer(mutating: sourcePointer.baseAddress)
                stream.avail_in = UInt32(sourcePointer.count)
                stream.next_out = outputPointer.baseAddress
                stream.avail_out = UInt32(outputPointer.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeLast(Int(stream.avail_out))
        return output
    }
}
