import NIOCore
import SwiftProtobuf
import Tensors
import Transport

/// The gRPC services on the shared HTTP/2 port: TF Serving's `tensorflow.serving.PredictionService`
/// and `ModelService`, and KServe v2's `inference.GRPCInferenceService`. Unary calls only.
public struct GRPCService: APIRouteHandler {
    /// Limits and identity of the service.
    public struct Options: Sendable {
        /// Largest request message accepted, before and after decompression.
        public var maxMessageBytes: Int
        /// What `ServerMetadata` reports.
        public var serverInfo: KServeServerInfo

        public init(maxMessageBytes: Int = 256 << 20, serverInfo: KServeServerInfo = KServeServerInfo()) {
            self.maxMessageBytes = maxMessageBytes
            self.serverInfo = serverInfo
        }
    }

    let backend: any ServingBackend
    let options: Options

    public init(backend: any ServingBackend, options: Options = Options()) {
        self.backend = backend
        self.options = options
    }

    public func handle(_ request: ServerRequest, path: Substring, writer: any ResponseWriter) {
        let head: GRPCRequestHead
        do {
            head = try GRPCRequestHead(request, path: path)
        } catch {
            writer.respond(GRPCResponse.trailersOnly(error))
            return
        }
        let call = GRPCCall(head: head, writer: writer)
        guard let method = GRPCMethod(path: head.method) else {
            call.fail(GRPCStatus(.unimplemented, Self.unknownMethodMessage(head.method)))
            return
        }
        if call.isPastDeadline {
            call.fail(GRPCStatus(.deadlineExceeded, "Deadline exceeded before the call started"))
            return
        }
        let message: ByteBuffer
        do {
            message = try GRPCUnaryFraming.unaryMessage(
                from: request.body, encoding: head.encoding, maxMessageBytes: options.maxMessageBytes)
        } catch {
            call.fail(error)
            return
        }
        do throws(GRPCStatus) {
            try dispatch(method, message: message, call: call)
        } catch {
            call.fail(error)
        }
    }

    static func unknownMethodMessage(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        if parts.count == 2, GRPCMethod.services.contains(String(parts[0])) {
            return "Method not found: \(path) (service \(parts[0]) has no method \(parts[1]))"
        }
        if parts.count == 2 {
            return "Method not found: \(path) (unknown service \(parts[0]))"
        }
        return "Method not found: \(path)"
    }

    private func dispatch(_ method: GRPCMethod, message: ByteBuffer, call: GRPCCall) throws(GRPCStatus) {
        switch method {
        case .predict:
            if let wire = PredictRequestWire(message) {
                predict(wire.request, decodedInputs: wire.inputs, call: call)
            } else {
                predict(try decode(message), call: call)
            }
        case .getModelMetadata: getModelMetadata(try decode(message), call: call)
        case .getModelStatus: getModelStatus(try decode(message), call: call)
        case .serverLive: serverLive(call: call)
        case .serverReady: serverReady(call: call)
        case .modelReady: modelReady(try decode(message), call: call)
        case .serverMetadata: serverMetadata(call: call)
        case .modelMetadata: modelMetadata(try decode(message), call: call)
        case .modelInfer: modelInfer(try decode(message), call: call)
        case .classify: classify(try decode(message), call: call)
        case .regress: regress(try decode(message), call: call)
        case .multiInference: multiInference(try decode(message), call: call)
        case .handleReloadConfigRequest: handleReloadConfigRequest(try decode(message), call: call)
        case .healthCheck: healthCheck(try decode(message), call: call)
        case .healthWatch:
            throw GRPCStatus(.unimplemented, "\(method.path) is not supported (it streams); call \(GRPCMethod.healthCheck.path) instead")
        }
    }

    private func decode<M: SwiftProtobuf.Message>(_ message: ByteBuffer, as type: M.Type = M.self) throws(GRPCStatus) -> M {
        do {
            return try M(serializedBytes: Array(message.readableBytesView))
        } catch {
            throw GRPCStatus(.internal, "Could not parse the \(M.protoMessageName) request message: \(error)")
        }
    }
}
