import Foundation
import Runtime
import SavedModel
import Tensors
import Testing

/// TensorFlow parity for convolution, pooling, normalisation, embedding, attention, merge and dtype fixtures.
@Suite struct NeuralNetParityTests {
    static let fixtures = [
        "activations_keras3", "conv1d_keras3", "conv2d_keras3", "residual_block_keras3", "separable_conv_keras3", "pooling2d_keras3",
        "batchnorm_keras3", "batchnorm_tf_keras", "layernorm_keras3", "embedding_keras3", "merge_keras3",
        "attention_keras3", "normalization_keras3", "dtypes_tf_module", "float16_tf_module",
    ]

    @Test(arguments: fixtures)
    func matchesTensorFlow(_ name: String) throws {
        try FixtureParity.check(name)
    }
}

/// Runs the shared benchmark models when they have been built (scripts/bench_models.sh); reported as
/// skipped otherwise, since they are not part of the repository.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/tmp/bench-models/mlp.json"),
                "the benchmark models are built by scripts/bench_models.sh"))
struct BenchModelSmokeTests {
    @Test(arguments: ["cnn", "resnet", "wide_deep", "mlp"])
    func compilesAndRuns(_ name: String) throws {
        let directory = "/tmp/bench-models/\(name)/1"
        let specData = try Data(contentsOf: URL(fileURLWithPath: "/tmp/bench-models/\(name).json"))
        let spec = try #require(try JSONSerialization.jsonObject(with: specData) as? [String: Any])
        let model = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
        let signature = try #require(model.signatures["serving_default"])
        let limit = spec["int_max"] as? Int ?? 2
        var inputs: [String: Tensor] = [:]
        for (key, input) in signature.spec.inputs {
            let dims = [2] + (spec[key] as? [Int] ?? [])
            let count = dims.reduce(1, *)
            switch input.dtype {
            case .float32: inputs[key] = Tensor((0..<count).map { Float($0 % 17) / 17 }, shape: Shape(dims))
            case .int32: inputs[key] = Tensor((0..<count).map { Int32($0 % limit) }, shape: Shape(dims))
            case .int64: inputs[key] = Tensor((0..<count).map { Int64($0 % limit) }, shape: Shape(dims))
            default: Issue.record("\(name): input \(key) has unexpected type \(input.dtype)")
            }
        }
        let outputs = try signature.run(inputs)
        #expect(!outputs.isEmpty)
        for (key, output) in outputs where output.dtype == .float32 {
            let finite = output.scalars(as: Float.self).allSatisfy { $0.isFinite }
            #expect(finite, "\(name) output \(key)")
        }
    }
}
