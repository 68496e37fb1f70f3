import SavedModel
import ServingMetrics
import SwiftProtobuf
import TFProtos
import Tensors
import Transport

extension GRPCService {
    /// `decodedInputs`, when given, are the request's inputs already read from the wire (in name
    /// order); otherwise they are converted from `request.inputs`.
    func predict(
        _ request: Tensorflow_Serving_PredictRequest, decodedInputs: [(name: String, tensor: Tensor)]? = nil, call: GRPCCall
    ) {
        call.meter(.predict, modelName: request.modelSpec.name)
        do throws(ServingError) {
            let spec = try ModelSpec(proto: request.modelSpec, hasSpec: request.hasModelSpec)
            let servable = try backend.servable(for: spec)
            call.meter(servable.metrics)
            let signatureName = spec.signatureName ?? SignatureSpec.defaultName
            let signature = try Self.signature(signatureName, of: servable)
            let inputs = if let decodedInputs {
                try Self.inputs(decodedInputs.lazy.map { input in (input.name, { () throws(ServingError) in input.tensor }) },
                                for: signature, model: servable.modelName)
            } else {
                try Self.inputs(request.inputs, for: signature, model: servable.modelName)
            }
            for name in request.outputFilter where signature.outputs[name] == nil {
                throw .invalidArgument(
                    "output tensor alias not found in signature: \(name) (model '\(servable.modelName)' signature "
                        + "'\(signatureName)' outputs: \(signature.outputs.keys.sorted().joined(separator: ", ")))")
            }
            guard !call.isFinished else { return }
            let modelName = servable.modelName
            let version = servable.version
            let filter = request.outputFilter
            call.armDeadline()
            servable.predict(signature: signatureName, inputs: inputs, outputFilter: filter, api: .predict,
                             deadline: call.deadlineNanoseconds, isCancelled: { call.clientWentAway }) { result in
                guard !call.isFinished else { return }
                switch result {
                case .success(let outputs):
                    var chosen: [(name: String, tensor: Tensor)] = []
                    chosen.reserveCapacity(filter.isEmpty ? outputs.count : filter.count)
                    if filter.isEmpty {
                        for (name, tensor) in outputs { chosen.append((name, tensor)) }
                    } else {
                        for name in Set(filter) {
                            guard let tensor = outputs[name] else {
                                call.fail(.internal("The model did not produce the requested output '\(name)'"))
                                return
                            }
                            chosen.append((name, tensor))
                        }
                    }
                    call.succeed(serialized: PredictResponseWire.encode(
                        outputs: chosen, modelName: modelName, version: version, signatureName: signatureName))
                case .failure(let error):
                    call.fail(error)
                }
            }
        } catch {
            call.fail(error)
        }
    }

    func getModelMetadata(_ request: Tensorflow_Serving_GetModelMetadataRequest, call: GRPCCall) {
        do throws(ServingError) {
            let spec = try ModelSpec(proto: request.modelSpec, hasSpec: request.hasModelSpec)
            guard request.metadataField == ["signature_def"] else {
                if request.metadataField.isEmpty {
                    throw .invalidArgument("GetModelMetadataRequest must specify at least one metadata_field")
                }
                throw .invalidArgument(
                    "Metadata field \(request.metadataField.filter { $0 != "signature_def" }.first ?? request.metadataField.joined(separator: ", ")) "
                        + "is not supported; metadata_field must be exactly [\"signature_def\"]")
            }
            let servable = try backend.servable(for: spec)
            var map = Tensorflow_Serving_SignatureDefMap()
            map.signatureDef = servable.signatures.mapValues(Tensorflow_SignatureDef.init)
            var response = Tensorflow_Serving_GetModelMetadataResponse()
            response.modelSpec = Tensorflow_Serving_ModelSpec(
                modelName: servable.modelName, version: servable.version, signatureName: nil)
            do {
                response.metadata["signature_def"] = try Google_Protobuf_Any(message: map)
            } catch {
                throw .internal("Could not pack the SignatureDefMap: \(error)")
            }
            call.succeed(response)
        } catch {
            call.fail(error)
        }
    }

    func getModelStatus(_ request: Tensorflow_Serving_GetModelStatusRequest, call: GRPCCall) {
        do throws(ServingError) {
            let spec = try ModelSpec(proto: request.modelSpec, hasSpec: request.hasModelSpec)
            let statuses = try backend.versionStatus(model: spec.name, version: spec.version)
            var response = Tensorflow_Serving_GetModelStatusResponse()
            response.modelVersionStatus = statuses.map { status in
                var entry = Tensorflow_Serving_ModelVersionStatus()
                entry.version = status.version
                entry.state = Tensorflow_Serving_ModelVersionStatus.State(rawValue: status.state.rawValue) ?? .unknown
                var proto = Tensorflow_Serving_StatusProto()
                if let error = status.error {
                    proto.errorCode = Tensorflow_Error_Code(rawValue: error.code.rawValue) ?? .unknown
                }
                proto.errorMessage = status.message
                entry.status = proto
                return entry
            }
            call.succeed(response)
        } catch {
            call.fail(error)
        }
    }

    static func signature(_ name: String, of servable: any Servable) throws(ServingError) -> SignatureSpec {
        guard let signature = servable.signatures[name] else {
            throw .invalidArgument(
                "Serving signature name: \"\(name)\" not found in model '\(servable.modelName)' version "
                    + "\(servable.version); available signatures: \(servable.signatures.keys.sorted().joined(separator: ", "))")
        }
        return signature
    }

    /// The request's TensorProtos as tensors checked against `signature`: every input known, of
    /// the declared dtype and a shape it accepts, none missing.
    static func inputs(
        _ protos: [String: Tensorflow_TensorProto], for signature: SignatureSpec, model: String
    ) throws(ServingError) -> [String: Tensor] {
        try inputs(protos.keys.sorted().lazy.compactMap { name in
            protos[name].map { proto in
                (name, { () throws(ServingError) in
                    try Tensor.checkRequestSize(of: proto)
                    return try Tensor(proto: proto)
                })
            }
        }, for: signature, model: model)
    }

    /// Inputs, in name order, each made by its closure once its name is known to the signature.
    private static func inputs(
        _ named: some Sequence<(String, () throws(ServingError) -> Tensor)>, for signature: SignatureSpec, model: String
    ) throws(ServingError) -> [String: Tensor] {
        let target = "model '\(model)' signature '\(signature.name)'"
        var tensors: [String: Tensor] = [:]
        for (name, make) in named {
            guard let spec = signature.inputs[name] else {
                throw .invalidArgument(
                    "input tensor alias not found in signature: \(name). Inputs expected to be in the set {"
                        + signature.inputs.keys.sorted().joined(separator: ",") + "} for \(target)")
            }
            let tensor: Tensor
            do throws(ServingError) {
                tensor = try make()
            } catch {
                throw ServingError(error.code, "Input '\(name)' of \(target): \(error.message)")
            }
            guard tensor.dtype == spec.dtype else {
                throw .invalidArgument(
                    "Input '\(name)' has dtype \(tensor.dtype.tensorFlowName) but \(target) expects \(spec.dtype.tensorFlowName)")
            }
            guard spec.shape.accepts(tensor.shape) else {
                throw .invalidArgument(
                    "Input '\(name)' has shape \(tensor.shape) but \(target) expects \(spec.shape)")
            }
            tensors[name] = tensor
        }
        let missing = signature.inputs.keys.sorted().filter { tensors[$0] == nil }
        guard missing.isEmpty else {
            throw .invalidArgument(
                "Request inputs do not match required inputs for \(target): missing "
                    + missing.joined(separator: ", ") + "; got " + tensors.keys.sorted().joined(separator: ", "))
        }
        return tensors
    }
}
