import ServingMetrics
import SwiftProtobuf
import TFProtos
import Tensors

extension GRPCService {
    func classify(_ request: Tensorflow_Serving_ClassificationRequest, call: GRPCCall) {
        inferFromExamples(.classify, spec: request.modelSpec, hasSpec: request.hasModelSpec, input: request.input, call: call) {
            spec, outcome in
            var response = Tensorflow_Serving_ClassificationResponse()
            response.modelSpec = spec
            if case .classifications(let rows) = outcome {
                response.result.classifications = rows.map { classes in
                    var entry = Tensorflow_Serving_Classifications()
                    entry.classes = classes.map { item in
                        var proto = Tensorflow_Serving_Class()
                        proto.label = String(decoding: item.label, as: UTF8.self)
                        proto.score = item.score
                        return proto
                    }
                    return entry
                }
            }
            return response
        }
    }

    func regress(_ request: Tensorflow_Serving_RegressionRequest, call: GRPCCall) {
        inferFromExamples(.regress, spec: request.modelSpec, hasSpec: request.hasModelSpec, input: request.input, call: call) {
            spec, outcome in
            var response = Tensorflow_Serving_RegressionResponse()
            response.modelSpec = spec
            if case .regressions(let values) = outcome {
                response.result.regressions = values.map { value in
                    var proto = Tensorflow_Serving_Regression()
                    proto.value = value
                    return proto
                }
            }
            return response
        }
    }

    private func inferFromExamples<Response: SwiftProtobuf.Message>(
        _ kind: ExampleInference.Kind, spec proto: Tensorflow_Serving_ModelSpec, hasSpec: Bool, input: Tensorflow_Serving_Input,
        call: GRPCCall,
        respond: @escaping @Sendable (Tensorflow_Serving_ModelSpec, ExampleInference.Outcome) -> Response
    ) {
        call.meter(kind.api, modelName: proto.name)
        do throws(ServingError) {
            let spec = try ModelSpec(proto: proto, hasSpec: hasSpec)
            let servable = try backend.servable(for: spec)
            call.meter(servable.metrics)
            let signature = try ExampleInference.signature(spec.signatureName, of: servable, for: kind)
            let examples = try input.serializedExamples()
            guard !call.isFinished else { return }
            let responseSpec = Tensorflow_Serving_ModelSpec(
                modelName: servable.modelName, version: servable.version, signatureName: signature.name)
            call.armDeadline()
            ExampleInference.run(kind, signature: signature, examples: examples, on: servable) { result in
                guard !call.isFinished else { return }
                switch result {
                case .success(let outcome): call.succeed(respond(responseSpec, outcome))
                case .failure(let error): call.fail(error)
                }
            }
        } catch {
            call.fail(error)
        }
    }
}

extension Tensorflow_Serving_Input {
    /// The examples serialized, each after the serialized context when there is one (protobuf merging lets
    /// the example's own features win), as TF Serving feeds them to a classify or regress signature.
    public func serializedExamples() throws(ServingError) -> [[UInt8]] {
        do {
            switch kind {
            case .exampleList(let list)?:
                return try list.examples.map { try $0.serializedBytes() }
            case .exampleListWithContext(let list)?:
                let context: [UInt8] = list.hasContext ? try list.context.serializedBytes() : []
                return try list.examples.map { context + (try $0.serializedBytes()) }
            case nil:
                return []
            }
        } catch {
            throw .internal("Could not serialize the request's tf.Example protos: \(error)")
        }
    }
}
