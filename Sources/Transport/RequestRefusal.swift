import NIOCore

/// The answers the transport gives by itself to requests that break a limit, before the layer
/// above sees them: JSON `{"error": ...}` with an HTTP status for REST, and a trailers-only
/// RESOURCE_EXHAUSTED for gRPC (whose clients read the status from `grpc-status`).
enum RequestRefusal {
    /// A body over `limits.maxBodyBytes`; `declared` is its announced length when there was one.
    static func bodyTooLarge(declared: Int?, limits: HTTPServer.Limits, grpc: Bool) -> ServerResponse {
        let size = declared.map { "Request body of \($0) bytes" } ?? "Request body"
        let message = "\(size) exceeds the limit of \(limits.maxBodyBytes) bytes (\(limits.maxBodyBytesName))"
        return refusal(status: 413, message: message, grpc: grpc)
    }

    /// A body that would take the requests in flight past `budget`.
    static func inflightBudgetExhausted(
        adding bytes: Int, budget: any InflightByteBudget, limits: HTTPServer.Limits, grpc: Bool
    ) -> ServerResponse {
        let message = "Requests in flight hold \(budget.bytesInUse) bytes; \(bytes) more would exceed the limit of "
            + "\(budget.limitBytes) bytes (\(limits.inflightBudgetName)); retry later"
        return refusal(status: 429, message: message, grpc: grpc)
    }

    private static func refusal(status: Int, message: String, grpc: Bool) -> ServerResponse {
        if grpc {
            return GRPCResponse.trailersOnly(GRPCStatus(.resourceExhausted, message))
        }
        var body = ByteBuffer()
        body.writeString("{\"error\": \"")
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": body.writeString("\\\"")
            case "\\": body.writeString("\\\\")
            case _ where scalar.value < 0x20: body.writeString("\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16))
            default: body.writeString(String(scalar))
            }
        }
        body.writeString("\"}")
        return ServerResponse(status: status, headers: [HeaderField("content-type", "application/json")], body: body)
    }

    /// Whether a `content-type` value names gRPC (`application/grpc`, `application/grpc+proto`, ...).
    static func isGRPC(contentType: some Collection<UInt8>) -> Bool {
        let prefix = "application/grpc".utf8
        guard contentType.count >= prefix.count else { return false }
        return zip(contentType, prefix).allSatisfy { $0 | 0x20 == $1 | 0x20 }
    }
}
