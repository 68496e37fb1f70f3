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
            response.result = Tensorflow_Serving_ClassificationResult(outcome)
            return response
        }
    }

    func regress(_ request: Tensorflow_Serving_RegressionRequest, call: GRPCCall) {
        inferFromExamples(.regress, spec: request.modelSpec, hasSpec: request.hasModelSpec, input: request.input, call: call) {
            spec, outcome in
            var response = Tensorflow_Serving_RegressionResponse()
            response.modelSpec = spec
            response.result = Tensorflow_Serving_RegressionResult(outcome)
            return response
        }
    }

    /// Classify and regress signatures of one model on the same examples, checked with TF Serving's rules
    /// and messages; each signature runs once and the results come back in task order.
    func multiInference(_ request: Tensorflow_Serving_MultiInferenceRequest, call: GRPCCall) {
        call.meter(.multiInference, modelName: request.tasks.first?.modelSpec.name ?? "")
        do throws(ServingError) {
            guard let first = request.tasks.first else { throw .invalidArgument("Expected at least one task") }
            for task in request.tasks {
                guard !task.modelSpec.name.isEmpty else { throw .invalidArgument("Found ModelSpec with an empty model name.") }
                guard task.modelSpec.name == first.modelSpec.name else {
                    throw .invalidArgument("All ModelSpecs in a MultiInferenceRequest must access the same model name.")
                }
            }
            let servable = try backend.servable(for: try ModelSpec(proto: first.modelSpec, hasSpec: first.hasModelSpec))
            call.meter(servable.metrics)
            let tasks = try Self.multiInferenceTasks(request.tasks, of: servable)
            let examples = try request.input.serializedExamples()
            guard !call.isFinished else { return }
            call.armDeadline()
            ExampleInference.runAll(tasks, examples: examples, on: servable, deadline: call.deadlineNanoseconds,
                                    isCancelled: { call.clientWentAway }) { result in
                guard !call.isFinished else { return }
                switch result {
                case .success(let outcomes):
                    var response = Tensorflow_Serving_MultiInferenceResponse()
                    response.results = zip(tasks, outcomes).map { task, outcome in
                        var entry = Tensorflow_Serving_InferenceResult()
                        entry.modelSpec = Tensorflow_Serving_ModelSpec(
                            modelName: servable.modelName, version: servable.version, signatureName: task.signature.name)
                        switch task.kind {
                        case .classify: entry.classificationResult = Tensorflow_Serving_ClassificationResult(outcome)
                        case .regress: entry.regressionResult = Tensorflow_Serving_RegressionResult(outcome)
                        }
                        return entry
                    }
                    call.succeed(response)
                case .failure(let error):
                    call.fail(error)
                }
            }
        } catch {
            call.fail(error)
        }
    }

    private static func multiInferenceTasks(
        _ tasks: [Tensorflow_Serving_InferenceTask], of servable: any Servable
    ) throws(ServingError) -> [ExampleInference.Task] {
        var names: Set<String> = []
        var inputTensor: String?
        var checked: [ExampleInference.Task] = []
        for task in tasks {
            let name = task.modelSpec.signatureName.isEmpty ? SignatureSpec.defaultName : task.modelSpec.signatureName
            guard names.insert(name).inserted else { throw .invalidArgument("Duplicate evaluation of signature: \(name)") }
            guard servable.signatures[name] != nil else {
                throw .invalidArgument("Requested signature not found in model graph: \(name)")
            }
            guard let kind = ExampleInference.Kind(methodName: task.methodName) else {
                throw .unimplemented("Unsupported signature method_name: \(task.methodName)")
            }
            let signature = try ExampleInference.signature(name, of: servable, for: kind)
            let input = signature.inputs[ExampleInference.inputKey]?.tensorName
            if let inputTensor, inputTensor != input {
                throw .invalidArgument("Input tensor must be the same for all Signatures.")
            }
            inputTensor = input
            checked.append(ExampleInference.Task(kind: kind, signature: signature))
        }
        return checked
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
            ExampleInference.run(kind, signature: signature, examples: examples, on: servable,
                                 deadline: call.deadlineNanoseconds, isCancelled: { call.clientWentAway }) { result in
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

extension Tensorflow_Serving_ClassificationResult {
    /// Each example's classes, label and score, in the model's order.
    init(_ outcome: ExampleInference.Outcome) {
        self.init()
        guard case .classifications(let rows) = outcome else { return }
        classifications = rows.map { classes in
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
}

extension Tensorflow_Serving_RegressionResult {
    /// One value per example.
    init(_ outcome: ExampleInference.Outcome) {
        self.init()
        guard case .regressions(let values) = outcome else { return }
        regressions = values.map { value in
            var proto = Tensorflow_Serving_Regression()
            proto.value = value
            return proto
        }
    }
}
