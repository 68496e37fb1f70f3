import NIOCore

/// gzip and deflate (zlib format) for gRPC messages.
public enum GRPCCompression {
    /// Decompresses `input`; a result larger than `limit` bytes is RESOURCE_EXHAUSTED, corrupt
    /// or truncated data INTERNAL.
    public static func decompress(
        _ input: ByteBuffer, encoding: GRPCMessageEncoding, limit: Int
    ) throws(GRPCStatus) -> ByteBuffer {
        guard let format = encoding.format else { return input }
        do {
            return ByteBuffer(bytes: try Zlib.inflate(input.readableBytesView, format: format, limit: limit))
        } catch {
            switch error {
            case .tooLarge:
                throw GRPCStatus(.resourceExhausted, "Decompressed gRPC message is larger than the limit of \(limit) bytes")
            case .corrupt(let status):
                throw GRPCStatus(.internal, "Could not decompress the \(encoding.rawValue) gRPC message (zlib status \(status))")
            case .trailingBytes:
                throw GRPCStatus(.internal, "The \(encoding.rawValue) gRPC message has trailing bytes after its end")
            case .couldNotStart:
                throw GRPCStatus(.internal, "Could not start \(encoding.rawValue) decompression")
            }
        }
    }

    /// Compresses `input`; nil when zlib fails, in which case the caller sends the message uncompressed.
    public static func compress(_ input: [UInt8], encoding: GRPCMessageEncoding) -> [UInt8]? {
        guard let format = encoding.format else { return input }
        return Zlib.deflate(input, format: format)
    }
}

extension GRPCMessageEncoding {
    /// The zlib wrapping of a compressed encoding; nil for identity.
    var format: Zlib.Format? {
        switch self {
        case .identity: nil
        case .gzip: .gzip
        case .deflate: .deflate
        }
    }
}
