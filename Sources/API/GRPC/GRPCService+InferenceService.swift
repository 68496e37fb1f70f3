import Foundation
import NIOCore
import ServingMetrics
import TFProtos
import Tensors
import Transport

extension GRPCService {
    func serverLive(call: GRPCCall) {
        var response = Inference_ServerLiveResponse()
        response.live = true
        call.succeed(response)
    }

    func serverReady(call: GRPCCall) {
        var response = Inference_ServerReadyResponse()
        response.ready = backend.isReady
        call.succeed(response)
    }

    func serverMetadata(call: GRPCCall) {
        var response = Inference_ServerMetadataResponse()
        response.name = options.serverInfo.name
        response.version = options.serverInfo.version
        response.extensions = options.serverInfo.extensions
        call.succeed(response)
    }

    /// Ready is false (not an error) when the model or version is unknown or not available.
    func modelReady(_ request: Inference_ModelReadyRequest, call: GRPCCall) {
        var response = Inference_ModelReadyResponse()
        if let spec = try? Self.modelSpec(name: request.name, version: request.version, signatureName: nil) {
            response.ready = (try? backend.servable(for: spec)) != nil
        }
        call.succeed(response)
    }

    func modelMetadata(_ request: Inference_ModelMetadataRequest, call: GRPCCall) {
        do throws(ServingError) {
            let spec = try Self.modelSpec(name: request.name, version: request.version, signatureName: nil)
            let servable = try backend.servable(for: spec)
            var response = Inference_ModelMetadataResponse()
            response.name = servable.modelName
            let statuses = (try? backend.versionStatus(model: servable.modelName, version: .latest)) ?? []
            let available = statuses.filter { $0.state == .available }.map(\.version).sorted()
            response.versions = (available.isEmpty ? [servable.version] : available).map { String($0) }
            response.platform = "tensorflow_savedmodel"
            let signature = KServeModelJSON.metadataSignature(servable.signatures)
            response.inputs = Self.tensorMetadata(signature?.inputs ?? [:])
            response.outputs = Self.tensorMetadata(signature?.outputs ?? [:])
            call.succeed(response)
        } catch {
            call.fail(error)
        }
    }

    func modelInfer(_ request: Inference_ModelInferRequest, call: GRPCCall) {
        call.meter(.modelInfer, modelName: request.modelName)
        do throws(ServingError) {
            var signatureName: String?
            if let parameter = request.parameters["signature_name"] {
                guard case .stringParam(let name)? = parameter.parameterChoice else {
                    throw .invalidArgument("Parameter signature_name must be a string")
                }
                signatureName = name
            }
            let spec = try Self.modelSpec(name: request.modelName, version: request.modelVersion, signatureName: signatureName)
            let servable = try backend.servable(for: spec)
            call.meter(servable.metrics)
            let decoded = try KServeGRPCInferCodec.request(request)
            let name = signatureName ?? SignatureSpec.defaultName
            guard let signature = servable.signatures[name] else {
                throw .invalidArgument(
                    "Serving signature name: \"\(name)\" not found in model '\(servable.modelName)' version "
                        + "\(servable.version); available signatures: \(servable.signatures.keys.sorted().joined(separator: ", "))"
                        + " (choose one with parameters.signature_name)")
            }
            let inputs = try decoded.tensors(for: signature, model: servable.modelName)
            let selection = try decoded.outputSelection(for: signature, model: servable.modelName)
            guard !call.isFinished else { return }
            let raw = !request.rawInputContents.isEmpty
            let modelName = servable.modelName
            let version = servable.version
            let id = request.id
            call.armDeadline()
            servable.predict(signature: name, inputs: inputs, outputFilter: selection.filter, api: .modelInfer,
                             deadline: call.deadlineNanoseconds, isCancelled: { call.clientWentAway }) { result in
                guard !call.isFinished else { return }
                switch result {
                case .success(let outputs):
                    do throws(ServingError) {
                        call.succeed(try KServeGRPCInferCodec.response(
                            outputs, selection: selection, modelName: modelName, version: version, id: id, raw: raw))
                    } catch {
                        call.fail(error)
                    }
                case .failure(let error):
                    call.fail(error)
                }
            }
        } catch {
            call.fail(error)
        }
    }

    /// A KServe model name and version string ("" = latest) as a model spec.
    static func modelSpec(name: String, version: String, signatureName: String?) throws(ServingError) -> ModelSpec {
        guard !name.isEmpty else { throw .invalidArgument("The request names no model") }
        guard !version.isEmpty else { return ModelSpec(name: name, version: .latest, signatureName: signatureName) }
        guard let number = Int64(version), number >= 0 else {
            throw .invalidArgument("Model version '\(version)' of model '\(name)' is not a non-negative integer")
        }
        return ModelSpec(name: name, version: .number(number), signatureName: signatureName)
    }

    static func tensorMetadata(_ specs: [String: TensorSpec]) -> [Inference_ModelMetadataResponse.TensorMetadata] {
        specs.keys.sorted().compactMap { name in
            guard let spec = specs[name] else { return nil }
            var entry = Inference_ModelMetadataResponse.TensorMetadata()
            entry.name = name
            entry.datatype = spec.dtype.kserveName ?? spec.dtype.tensorFlowName
            entry.shape = spec.shape.dims.map { $0.map(Int64.init) } ?? [-1]
            return entry
        }
    }
}
