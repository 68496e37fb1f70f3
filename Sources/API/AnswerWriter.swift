import Logging
import NIOCore
import ServingMetrics
import Synchronization
import Transport

/// Finishes every answer on its way out: the request id (`x-request-id`) and any extra headers (CORS),
/// the body compressed (with `content-encoding` set) when a compression was asked for and the body is
/// large enough to gain from it, and one access-log line when an access log is kept.
struct AnswerWriter: ResponseWriter {
    /// What the access log says about a request besides its answer.
    struct AccessRecord: Sendable {
        var logger: Logger
        var method: String
        var path: String
        var protocolName: String
        var requestID: String
        var startedAt: UInt64
    }

    let inner: any ResponseWriter
    let compression: (format: Zlib.Format, name: String)?
    let extraHeaders: [HeaderField]
    let access: AccessRecord?

    var isCancelled: Bool { inner.isCancelled }

    func respond(_ response: ServerResponse) {
        var finished = response
        finished.headers.append(contentsOf: extraHeaders)
        if let compression, response.body.readableBytes >= HTTPContentCoding.smallestCompressedBody,
           !response.headers.contains(where: { $0.name == "content-encoding" }),
           let compressed = Zlib.deflate(response.body.readableBytesView, format: compression.format, level: 1) {
            finished.body = ByteBuffer(bytes: compressed)
            finished.headers.append(HeaderField("content-encoding", compression.name))
            finished.headers.append(HeaderField("vary", "accept-encoding"))
        }
        if let access { log(access, finished) }
        inner.respond(finished)
    }

    private func log(_ access: AccessRecord, _ response: ServerResponse) {
        let micros = MonotonicClock.nanoseconds(since: access.startedAt) / 1000
        var metadata: Logger.Metadata = [
            "method": "\(access.method)", "path": "\(access.path)", "protocol": "\(access.protocolName)",
            "status": "\(response.status)", "bytes": "\(response.body.readableBytes)", "duration_us": "\(micros)",
            "request_id": "\(access.requestID)",
        ]
        if let grpcStatus = response.trailers.first(where: { $0.name == "grpc-status" })?.value {
            metadata["grpc_status"] = "\(grpcStatus)"
        }
        access.logger.info("\(access.method) \(access.path) \(access.protocolName) \(response.status)", metadata: metadata)
    }
}

/// Request ids: the client's `x-request-id` when it is a plausible one (1 to 128 visible ASCII
/// characters), else one made here from a per-process random prefix and a counter.
enum RequestID {
    private static let prefix = String(UInt32.random(in: .min ... .max), radix: 16)
    private static let counter = Atomic<UInt64>(0)

    static func accepting(_ offered: String?) -> String {
        if let offered, (1...128).contains(offered.utf8.count), offered.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return offered
        }
        return prefix + "-" + String(counter.add(1, ordering: .relaxed).newValue, radix: 16)
    }
}
