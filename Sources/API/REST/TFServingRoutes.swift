import NIOCore
import ServingMetrics
import Tensors
import Transport

/// TF Serving's REST API: `/v1/models/{name}[/versions/{n}|/labels/{l}][/metadata|:predict|:classify|:regress]`.
struct TFServingRoutes: APIRouteHandler {
    let backend: any ServingBackend
    let options: APIRouter.Options
    let decoder: JSONTensorDecoder

    init(backend: any ServingBackend, options: APIRouter.Options) {
        self.backend = backend
        self.options = options
        self.decoder = JSONTensorDecoder(maxDepth: options.maxJSONDepth)
    }

    func handle(_ request: ServerRequest, path: Substring, writer: any ResponseWriter) {
        let route: TFServingPath
        do {
            route = try TFServingPath.parse(path, method: request.method)
        } catch {
            writer.respond(JSONResponse.error(error))
            return
        }
        guard request.method == route.action.method else {
            writer.respond(JSONResponse.error(
                status: 405,
                message: "Method \(request.method) is not allowed on \(path); use \(route.action.method)",
                extraHeaders: [HeaderField("allow", route.action.method)]))
            return
        }
        let meter: InferenceMeter
        switch route.action {
        case .predict: meter = InferenceMeter(.predict, via: .rest)
        case .classify: meter = InferenceMeter(.classify, via: .rest)
        case .regress: meter = InferenceMeter(.regress, via: .rest)
        case .status, .metadata:
            describe(route, writer: writer)
            return
        }
        do throws(ServingError) {
            switch route.action {
            case .classify: try inferFromExamples(.classify, request, model: route.model, meter: meter, writer: writer)
            case .regress: try inferFromExamples(.regress, request, model: route.model, meter: meter, writer: writer)
            default: try predict(request, model: route.model, meter: meter, writer: writer)
            }
        } catch {
            meter.finish(error.code, modelNamed: route.model.name)
            writer.respond(JSONResponse.error(error))
        }
    }

    /// Model status and metadata.
    private func describe(_ route: TFServingPath, writer: any ResponseWriter) {
        do throws(ServingError) {
            if route.action == .status {
                let versions = try backend.versionStatus(model: route.model.name, version: route.model.version)
                writer.respond(JSONResponse.make(status: 200, body: TFServingModelJSON.status(versions)))
            } else {
                let servable = try backend.servable(for: route.model)
                let body = TFServingModelJSON.metadata(
                    modelName: servable.modelName, version: servable.version, signatures: servable.signatures)
                writer.respond(JSONResponse.make(status: 200, body: body))
            }
        } catch {
            writer.respond(JSONResponse.error(error))
        }
    }

    /// Whether the request should go on: false (after answering 413, or nothing for a client that
    /// went away, and counting the request) when the client left or the body is over the JSON limit.
    private func proceeds(_ request: ServerRequest, model: ModelSpec, meter: InferenceMeter, writer: any ResponseWriter) -> Bool {
        if writer.isCancelled {
            meter.finish(.cancelled, modelNamed: model.name)
            return false
        }
        guard request.body.readableBytes > options.maxJSONBodyBytes else { return true }
        meter.finish(.resourceExhausted, modelNamed: model.name)
        writer.respond(JSONResponse.error(
            status: 413,
            message: "Request body of \(request.body.readableBytes) bytes exceeds the limit of \(options.maxJSONBodyBytes) bytes (--max_request_body_bytes)"))
        return false
    }

    /// `:classify` and `:regress`: the examples become serialized tf.Example protos fed to the signature.
    private func inferFromExamples(
        _ kind: ExampleInference.Kind, _ request: ServerRequest, model: ModelSpec, meter: InferenceMeter,
        writer: any ResponseWriter
    ) throws(ServingError) {
        guard proceeds(request, model: model, meter: meter, writer: writer) else { return }
        let servable = try backend.servable(for: model)
        let decoded = try ExampleJSON.decode(request.body, method: kind.rawValue, maxDepth: options.maxJSONDepth)
        let signature = try ExampleInference.signature(decoded.signatureName, of: servable, for: kind)
        let metrics = servable.metrics
        ExampleInference.run(kind, signature: signature, examples: decoded.serializedExamples, on: servable,
                             deadline: options.restDeadline(), isCancelled: { writer.isCancelled }) { result in
            guard !writer.isCancelled else { return meter.finish(.cancelled, metrics: metrics) }
            switch result {
            case .success(let outcome):
                meter.finish(.ok, metrics: metrics)
                writer.respond(JSONResponse.make(status: 200, body: ExampleJSON.encode(outcome)))
            case .failure(let error):
                meter.finish(error.code, metrics: metrics)
                writer.respond(JSONResponse.error(error))
            }
        }
    }

    private func predict(
        _ request: ServerRequest, model: ModelSpec, meter: InferenceMeter, writer: any ResponseWriter
    ) throws(ServingError) {
        guard proceeds(request, model: model, meter: meter, writer: writer) else { return }
        let servable = try backend.servable(for: model)
        let decoded = try decoder.decodePredict(request.body) { name throws(ServingError) -> SignatureSpec in
            let key = name ?? SignatureSpec.defaultName
            guard let signature = servable.signatures[key] else {
                let available = servable.signatures.keys.sorted().joined(separator: ", ")
                throw .invalidArgument(
                    "Serving signature name: \"\(key)\" not found in model '\(servable.modelName)' version "
                        + "\(servable.version); available signatures: \(available)")
            }
            return signature
        }
        let metrics = servable.metrics
        guard !writer.isCancelled else { return meter.finish(.cancelled, metrics: metrics) }
        let format = decoded.format
        servable.predict(signature: decoded.signatureName, inputs: decoded.inputs, outputFilter: [], api: .predict,
                         deadline: options.restDeadline(), isCancelled: { writer.isCancelled }) { result in
            guard !writer.isCancelled else { return meter.finish(.cancelled, metrics: metrics) }
            switch result {
            case .success(let outputs):
                do throws(ServingError) {
                    let body = try JSONTensorEncoder.encodePredictResponse(outputs, format: format)
                    meter.finish(.ok, metrics: metrics)
                    writer.respond(JSONResponse.make(status: 200, body: body))
                } catch {
                    meter.finish(error.code, metrics: metrics)
                    writer.respond(JSONResponse.error(error))
                }
            case .failure(let error):
                meter.finish(error.code, metrics: metrics)
                writer.respond(JSONResponse.error(error))
            }
        }
    }
}
