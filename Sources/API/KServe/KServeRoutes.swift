import NIOCore
import ServingMetrics
import Tensors
import Transport

/// The KServe v2 / Open Inference Protocol REST API: `/v2`, `/v2/health/{live,ready}`,
/// `/v2/models/{m}[/versions/{v}][/ready|/infer]`, with the binary tensor data extension.
struct KServeRoutes: APIRouteHandler {
    let backend: any ServingBackend
    let options: APIRouter.Options
    let decoder: KServeInferDecoder

    init(backend: any ServingBackend, options: APIRouter.Options) {
        self.backend = backend
        self.options = options
        self.decoder = KServeInferDecoder(maxDepth: options.maxJSONDepth)
    }

    /// `{"error": "<message>"}` with Triton's HTTP status for the code.
    static func error(_ error: ServingError) -> ServerResponse {
        JSONResponse.error(status: error.code.kserveHTTPStatus, message: error.message)
    }

    func handle(_ request: ServerRequest, path: Substring, writer: any ResponseWriter) {
        let route: KServePath
        do {
            route = try KServePath.parse(path, method: request.method)
        } catch {
            writer.respond(Self.error(error))
            return
        }
        guard request.method == route.method else {
            writer.respond(JSONResponse.error(
                status: 405,
                message: "Method \(request.method) is not allowed on \(path); use \(route.method)",
                extraHeaders: [HeaderField("allow", route.method)]))
            return
        }
        do throws(ServingError) {
            switch route {
            case .serverLive:
                writer.respond(JSONResponse.make(status: 200, body: KServeModelJSON.flag("live", true)))
            case .serverReady:
                let ready = backend.isReady
                writer.respond(JSONResponse.make(status: ready ? 200 : 503, body: KServeModelJSON.flag("ready", ready)))
            case .serverMetadata:
                writer.respond(JSONResponse.make(status: 200, body: KServeModelJSON.server(options.kserveServer)))
            case .modelReady(let model):
                let servable = try backend.servable(for: model)
                writer.respond(JSONResponse.make(status: 200, body: KServeModelJSON.modelReady(name: servable.modelName)))
            case .modelMetadata(let model):
                let servable = try backend.servable(for: model)
                let body = KServeModelJSON.model(
                    name: servable.modelName, versions: availableVersions(of: servable),
                    signature: KServeModelJSON.metadataSignature(servable.signatures))
                writer.respond(JSONResponse.make(status: 200, body: body))
            case .infer(let model):
                infer(request, model: model, writer: writer)
            }
        } catch {
            writer.respond(Self.error(error))
        }
    }

    private func infer(_ request: ServerRequest, model: ModelSpec, writer: any ResponseWriter) {
        let meter = InferenceMeter(.modelInfer, via: .rest)
        do throws(ServingError) {
            try infer(request, model: model, meter: meter, writer: writer)
        } catch {
            meter.finish(error.code, modelNamed: model.name)
            writer.respond(Self.error(error))
        }
    }

    /// The model's available versions, oldest first; at least the one that was resolved.
    private func availableVersions(of servable: any Servable) -> [Int64] {
        let statuses = (try? backend.versionStatus(model: servable.modelName, version: .latest)) ?? []
        let available = statuses.filter { $0.state == .available }.map(\.version).sorted()
        return available.isEmpty ? [servable.version] : available
    }

    /// The `Inference-Header-Content-Length` value; nil when the header is absent.
    static func inferenceHeaderLength(_ request: ServerRequest) throws(ServingError) -> Int? {
        guard let text = request.header(KServeInferEncoder.headerLengthField) else { return nil }
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(trimmed)
        else {
            throw .invalidArgument("Inference-Header-Content-Length must be a non-negative integer, got '\(text)'")
        }
        return value
    }

    private func infer(
        _ request: ServerRequest, model: ModelSpec, meter: InferenceMeter, writer: any ResponseWriter
    ) throws(ServingError) {
        guard !writer.isCancelled else { return meter.finish(.cancelled, modelNamed: model.name) }
        guard request.body.readableBytes <= options.maxJSONBodyBytes else {
            meter.finish(.resourceExhausted, modelNamed: model.name)
            writer.respond(JSONResponse.error(
                status: 413,
                message: "Request body of \(request.body.readableBytes) bytes exceeds the limit of \(options.maxJSONBodyBytes) bytes (--max_request_body_bytes)"))
            return
        }
        let headerLength = try Self.inferenceHeaderLength(request)
        let servable = try backend.servable(for: model)
        let decoded = try decoder.decode(request.body, headerLength: headerLength)
        let signatureName = decoded.signatureName ?? SignatureSpec.defaultName
        guard let signature = servable.signatures[signatureName] else {
            throw .invalidArgument(
                "Serving signature name: \"\(signatureName)\" not found in model '\(servable.modelName)' version "
                    + "\(servable.version); available signatures: \(servable.signatures.keys.sorted().joined(separator: ", "))"
                    + " (choose one with parameters.signature_name)")
        }
        let inputs = try decoded.tensors(for: signature, model: servable.modelName)
        let selection = try decoded.outputSelection(for: signature, model: servable.modelName)
        let metrics = servable.metrics
        guard !writer.isCancelled else { return meter.finish(.cancelled, metrics: metrics) }
        let modelName = servable.modelName
        let version = servable.version
        let id = decoded.id
        servable.predict(signature: signatureName, inputs: inputs, outputFilter: selection.filter, api: .modelInfer,
                         deadline: options.restDeadline(), isCancelled: { writer.isCancelled }) { result in
            guard !writer.isCancelled else { return meter.finish(.cancelled, metrics: metrics) }
            switch result {
            case .success(let outputs):
                do throws(ServingError) {
                    let response = try KServeInferEncoder.response(
                        outputs, selection: selection, modelName: modelName, version: version, id: id)
                    meter.finish(.ok, metrics: metrics)
                    writer.respond(response)
                } catch {
                    meter.finish(error.code, metrics: metrics)
                    writer.respond(Self.error(error))
                }
            case .failure(let error):
                meter.finish(error.code, metrics: metrics)
                writer.respond(Self.error(error))
            }
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> Substring {
        var text = self[...]
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
