import NIOCore
import Transport

/// gzip and deflate on REST bodies, as Triton's HTTP endpoint takes them: a request's `content-encoding`
/// is decoded before routing, and an answer of 1 KiB or more outside TF Serving's `/v1` (which TF Serving
/// never compresses, and whose clients often send `accept-encoding` by default) is compressed, at zlib's
/// fastest level, when `accept-encoding` allows it.
enum HTTPContentCoding {
    /// Answers smaller than this go out as they are.
    static let smallestCompressedBody = 1024

    /// A request ready for its route, or the answer it gets instead.
    enum Decoded {
        case request(ServerRequest)
        case answer(ServerResponse)
    }

    /// The request with its body decoded, or the answer to give instead: 415 for an encoding other
    /// than gzip, deflate or identity, 400 for a body that does not decode, 413 past `limit` bytes.
    static func decoded(_ request: ServerRequest, limit: Int) -> Decoded {
        guard let value = request.header("content-encoding") else { return .request(request) }
        let codings = value.split(separator: ",").map { $0.trimmingCharacters(in: " \t").lowercased() }
            .filter { $0 != "identity" }
        guard !codings.isEmpty else { return .request(request) }
        guard codings.count == 1, let format = format(named: codings[0]) else {
            return .answer(JSONResponse.error(
                status: 415, message: "Unsupported Content-Encoding \"\(value)\"; gzip, deflate and identity are accepted",
                extraHeaders: [HeaderField("accept-encoding", "gzip, deflate")]))
        }
        do {
            var decoded = request
            decoded.body = ByteBuffer(bytes: try Zlib.inflate(request.body.readableBytesView, format: format, limit: limit))
            return .request(decoded)
        } catch {
            switch error {
            case .tooLarge(let limit):
                return .answer(JSONResponse.error(
                    status: 413, message: "Request body exceeds the limit of \(limit) bytes once decompressed (--max_request_body_bytes)"))
            case .corrupt, .trailingBytes, .couldNotStart:
                return .answer(JSONResponse.error(
                    status: 400, message: "Could not decompress the \(codings[0]) request body: it is corrupt or truncated"))
            }
        }
    }

    /// The compression an `accept-encoding` value asks for: gzip before deflate, none when neither (nor
    /// `*`) is listed with a weight above 0.
    static func responseFormat(accepting value: String?) -> (format: Zlib.Format, name: String)? {
        guard let value else { return nil }
        var weights: [String: Double] = [:]
        for item in value.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let name = parts.first?.trimmingCharacters(in: " \t").lowercased(), !name.isEmpty else { continue }
            var weight = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t") }
                if pair.count == 2, pair[0].lowercased() == "q" { weight = Double(pair[1]) ?? 0 }
            }
            weights[name] = weight
        }
        for name in ["gzip", "deflate"] where (weights[name] ?? weights["*"] ?? 0) > 0 {
            if let format = format(named: name) { return (format, name) }
        }
        return nil
    }

    private static func format(named name: String) -> Zlib.Format? {
        switch name {
        case "gzip", "x-gzip": .gzip
        case "deflate": .deflate
        default: nil
        }
    }
}
