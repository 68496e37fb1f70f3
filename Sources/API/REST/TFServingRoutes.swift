import NIOCore
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
        do throws(ServingError) {
            switch route.action {
            case .status:
                let versions = try backend.versionStatus(model: route.model.name, version: route.model.version)
                writer.respond(JSONResponse.make(status: 200, body: TFServingModelJSON.status(versions)))
            case .metadata:
                let servable = try backend.servable(for: route.model)
                let body = TFServingModelJSON.metadata(
                    modelName: servable.modelName, version: servable.version, signatures: servable.signatures)
                writer.respond(JSONResponse.make(status: 200, body: body))
            case .classify:
                try inferFromExamples(.classify, request, model: route.model, writer: writer)
            case .regress:
                try inferFromExamples(.regress, request, model: route.model, writer: writer)
            case .predict:
                try predict(request, model: route.model, writer: writer)
            }
        } catch {
            writer.respond(JSONResponse.error(error))
        }
    }

    /// Answers 413 and returns false when the body is over the JSON limit.
    private func bodyFits(_ request: ServerRequest, writer: any ResponseWriter) -> Bool {
        guard request.body.readableBytes > options.maxJSONBodyBytes else { return true }
        writer.respond(JSONResponse.error(
            status: 413,
            message: "Request body of \(request.body.readableBytes) bytes exceeds the limit of \(options.maxJSONBodyBytes) bytes"))
        return false
    }

    /// `:classify` and `:regress`: the examples become serialized tf.Example protos fed to the signature.
    private func inferFromExamples(
        _ kind: ExampleInference.Kind, _ request: ServerRequest, model: ModelSpec, writer: any ResponseWriter
    ) throws(ServingError) {
        guard !writer.isCancelled, bodyFits(request, writer: writer) else { return }
        let servable = try backend.servable(for: model)
        let decoded = try ExampleJSON.decode(request.body, method: kind.rawValue, maxDepth: options.maxJSONDepth)
        let signature = try ExampleInference.signature(decoded.signatureName, of: servable, for: kind)
        ExampleInference.run(kind, signature: signature, examples: decoded.serializedExamples, on: servable) { result in
            guard !writer.isCancelled else { return }
            switch result {
            case .success(let outcome): writer.respond(JSONResponse.make(status: 200, body: ExampleJSON.encode(outcome)))
            case .failure(let error): writer.respond(JSONResponse.error(error))
            }
        }
    }

    private func predict(_ request: ServerRequest, model: ModelSpec, writer: any ResponseWriter) throws(ServingError) {
        guard !writer.isCancelled, bodyFits(request, writer: writer) else { return }
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
        guard !writer.isCancelled else { return }
        let format = decoded.format
        servable.predict(signature: decoded.signatureName, inputs: decoded.inputs, outputFilter: []) { result in
            guard !writer.isCancelled else { return }
            switch result {
            case .success(let outputs):
                do throws(ServingError) {
                    let body = try JSONTensorEncoder.encodePredictResponse(outputs, format: format)
                    writer.respond(JSONResponse.make(status: 200, body: body))
                } catch {
                    writer.respond(JSONResponse.error(error))
                }
            case .failure(let error):
                writer.respond(JSONResponse.error(error))
            }
        }
    }
}
