import API
import Runtime
import SavedModel
import ServingMetrics
import TFProtos
import Tensors

/// Replays a version's warmup requests (`assets.extra/tf_serving_warmup_requests`) on its compiled
/// model before the version serves, as TF Serving does: predict logs run their signature on their
/// inputs, classify and regress logs run theirs on the serialized examples, multi-inference logs every
/// task's signature on theirs. Any failure fails the load.
enum Warmup {
    /// Replays the warmup file of `versionDirectory`, if it has one, and records how long that took
    /// and how it ended.
    static func run(
        versionDirectory: String, on model: CompiledModel, iterations: Int = 1, metrics: LoadMetrics
    ) throws(ServingError) {
        let started = MonotonicClock.nanoseconds()
        do throws(ServingError) {
            let logs = try WarmupRecords.read(versionDirectory: versionDirectory)
            guard !logs.isEmpty else { return }
            try run(logs, on: model, iterations: iterations)
            metrics.recordWarmup(modelPath: versionDirectory, status: .ok, nanoseconds: MonotonicClock.nanoseconds(since: started))
        } catch {
            metrics.recordWarmup(modelPath: versionDirectory, status: error.code, nanoseconds: MonotonicClock.nanoseconds(since: started))
            throw error
        }
    }

    /// Replays every log `iterations` times in a row (TF Serving's `--num_request_iterations_for_warmup`).
    static func run(_ logs: [Tensorflow_Serving_PredictionLog], on model: CompiledModel, iterations: Int = 1) throws(ServingError) {
        for (index, log) in logs.enumerated() {
            do throws(ServingError) {
                for _ in 0..<max(1, iterations) { try replay(log, on: model) }
            } catch {
                throw ServingError(error.code, "warmup request \(index + 1) of \(logs.count) failed: \(error.message)")
            }
        }
    }

    private static func replay(_ log: Tensorflow_Serving_PredictionLog, on model: CompiledModel) throws(ServingError) {
        switch log.logType {
        case .predictLog(let entry)?:
            let request = entry.request
            let signature = try compiled(request.modelSpec.signatureName, in: model)
            let inputs = try WarmupRecords.inputs(of: request)
            _ = try signature.run(inputs, outputs: request.outputFilter.isEmpty ? nil : request.outputFilter)
        case .classifyLog(let entry)?:
            let signature = try compiled(entry.request.modelSpec.signatureName, in: model)
            try runExamples(try entry.request.input.serializedExamples(), on: signature)
        case .regressLog(let entry)?:
            let signature = try compiled(entry.request.modelSpec.signatureName, in: model)
            try runExamples(try entry.request.input.serializedExamples(), on: signature)
        case .multiInferenceLog(let entry)?:
            let examples = try entry.request.input.serializedExamples()
            guard !entry.request.tasks.isEmpty else { throw .invalidArgument("Expected at least one task") }
            for task in entry.request.tasks {
                try runExamples(examples, on: try compiled(task.modelSpec.signatureName, in: model))
            }
        case nil:
            throw .invalidArgument("the PredictionLog holds no request")
        }
    }

    private static func compiled(_ name: String, in model: CompiledModel) throws(ServingError) -> CompiledSignature {
        let key = name.isEmpty ? SignatureSpec.defaultName : name
        guard let signature = model.signatures[key] else {
            throw .invalidArgument("no signature '\(key)'; the model has \(model.signatures.keys.sorted().joined(separator: ", "))")
        }
        return signature
    }

    private static func runExamples(_ examples: [[UInt8]], on signature: CompiledSignature) throws(ServingError) {
        guard !examples.isEmpty else { throw .invalidArgument("Input is empty.") }
        _ = try signature.run(["inputs": Tensor(strings: examples, shape: [examples.count])])
    }
}
