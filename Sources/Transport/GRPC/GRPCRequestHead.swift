import NIOCore

/// What a gRPC request's head says about the call: the method, how its message is encoded,
/// which encodings the client accepts back, and when it times out.
public struct GRPCRequestHead: Sendable {
    /// `/package.Service/Method`.
    public var method: String
    public var encoding: GRPCMessageEncoding
    public var acceptedEncodings: Set<GRPCMessageEncoding>
    /// From `grpc-timeout`; nil when the client set none.
    public var timeout: TimeAmount?

    public init(
        method: String, encoding: GRPCMessageEncoding = .identity,
        acceptedEncodings: Set<GRPCMessageEncoding> = [], timeout: TimeAmount? = nil
    ) {
        self.method = method
        self.encoding = encoding
        self.acceptedEncodings = acceptedEncodings
        self.timeout = timeout
    }

    /// Reads the head of `request`. gRPC needs HTTP/2 and POST; an unknown `grpc-encoding` is
    /// UNIMPLEMENTED (the response then lists `grpc-accept-encoding`); a malformed `grpc-timeout` INTERNAL.
    public init(_ request: ServerRequest, path: Substring) throws(GRPCStatus) {
        guard request.version == .http2 else {
            throw GRPCStatus(
                .unimplemented,
                "gRPC requires HTTP/2; this request came over HTTP/1.1 (use h2c with prior knowledge, or h2 over TLS)")
        }
        let contentType = request.header("content-type") ?? ""
        guard Self.isGRPCContentType(contentType) else {
            throw GRPCStatus(
                .unimplemented,
                "Content type '\(contentType)' is not supported; use application/grpc or application/grpc+proto")
        }
        guard request.method == "POST" else {
            throw GRPCStatus(.unimplemented, "gRPC calls use POST, not \(request.method)")
        }
        self.method = String(path)
        if let name = request.header("grpc-encoding") {
            guard let encoding = GRPCMessageEncoding(rawValue: name.lowercased()) else {
                throw GRPCStatus(
                    .unimplemented,
                    "Message encoding '\(name)' is not supported; supported: \(GRPCMessageEncoding.acceptedHeaderValue)")
            }
            self.encoding = encoding
        } else {
            self.encoding = .identity
        }
        self.acceptedEncodings = GRPCMessageEncoding.parseList(request.header("grpc-accept-encoding"))
        if let value = request.header("grpc-timeout") {
            guard let timeout = GRPCTimeout.parse(value) else {
                throw GRPCStatus(.internal, "Malformed grpc-timeout '\(value)'")
            }
            self.timeout = timeout
        } else {
            self.timeout = nil
        }
    }

    /// `application/grpc`, `application/grpc+proto`, optionally with parameters; not grpc-web or other codecs.
    static func isGRPCContentType(_ value: String) -> Bool {
        func isGRPC(_ base: String) -> Bool { base == "application/grpc" || base == "application/grpc+proto" }
        // The exact values, which clients send, need no splitting or lowercasing.
        if isGRPC(value) { return true }
        return isGRPC(value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: " \t").lowercased() } ?? "")
    }

    /// The encoding for a response message of `size` bytes: the request's own compression when the
    /// client also accepts it and the message is at least `threshold` bytes, identity otherwise.
    public func responseEncoding(size: Int, threshold: Int = 1024) -> GRPCMessageEncoding {
        guard encoding != .identity, size >= threshold, acceptedEncodings.contains(encoding) else { return .identity }
        return encoding
    }
}
