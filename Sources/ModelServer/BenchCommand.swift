import API
import ArgumentParser
import Dispatch
import Foundation
import Runtime
import SavedModel
import Tensors

/// `model-server bench <version dir>`: times the runtime alone on random inputs.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a SavedModel's signature on this runtime alone (no network): median, p99, samples/s."
    )

    @Argument(help: "A version directory holding saved_model.pb.")
    var directory: String

    @Option(help: "Signature to run.")
    var signature: String = SignatureSpec.defaultName

    @Option(help: "Comma-separated batch sizes.")
    var batch: String = "1,8,64"

    @Option(help: "Threads per computation (as --tensorflow_intra_op_parallelism).")
    var threads: Int = 1

    @Option(help: "Seconds of timed runs per batch size (after warm-up).")
    var seconds: Double = 2

    @Option(name: .customLong("int_max"), help: "Integer inputs are drawn from [0, int_max).")
    var intMax: Int = 10

    @Option(name: .customLong("saved_model_tags"), help: "Comma-separated tags of the MetaGraphDef to load.")
    var savedModelTags: String = "serve"

    @Option(name: .customLong("json_body"),
            help: "A TF Serving REST predict body (JSON) for this model: also time decoding it alone and print MB/s.")
    var jsonBody: String?

    func run() throws {
        let sizes = batch.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--batch takes positive integers separated by commas, got '\(batch)'")
        }
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let loader = SavedModelLoader(tags: Set(savedModelTags.split(separator: ",").map(String.init)),
                                      runtimeOptions: RuntimeOptions(intraOpThreads: max(1, threads)))
        let model = try loader.compiledModel(in: directory)
        TensorBuffer.releaseRecycledMemory()
        let loadMillis = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
        guard let compiled = model.signatures[signature] else {
            throw ValidationError("no signature '\(signature)'; available: \(model.signatures.keys.sorted().joined(separator: ", "))")
        }
        print("model \(directory) signature \(signature): loaded and compiled in \(String(format: "%.1f", loadMillis)) ms, \(compiled.stepCount) steps, threads=\(threads)\(Self.residentMemory(" after load"))")
        var generator = SystemRandomNumberGenerator()
        for size in sizes {
            let inputs = try compiled.spec.inputs.mapValues { spec in
                try RandomInputs.tensor(spec, batch: size, intMax: intMax, using: &generator)
            }
            for _ in 0..<3 { _ = try compiled.run(inputs) }
            var samples: [Double] = []
            let budget = UInt64(seconds * 1e9)
            let start = DispatchTime.now().uptimeNanoseconds
            var lastProgress = start
            while DispatchTime.now().uptimeNanoseconds - start < budget || samples.count < 5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try compiled.run(inputs)
                let t1 = DispatchTime.now().uptimeNanoseconds
                samples.append(Double(t1 - t0) / 1000)
                if t1 - lastProgress > 5_000_000_000 {
                    print("  batch \(size): \(samples.count) runs so far...")
                    lastProgress = t1
                }
            }
            samples.sort()
            let median = samples[samples.count / 2]
            let p99 = samples[min(samples.count - 1, Int(Double(samples.count) * 0.99))]
            let perSecond = Double(size) / median * 1e6
            print(String(format: "batch=%4d runs=%7d median_us=%10.1f p99_us=%10.1f samples_per_s=%12.0f",
                         size, samples.count, median, p99, perSecond))
        }
        if let jsonBody {
            let body = Array(try Data(contentsOf: URL(fileURLWithPath: jsonBody)))
            let rate = try JSONDecodeBenchmark.medianBytesPerSecond(body: body, signature: compiled.spec, seconds: min(seconds, 2))
            print(String(format: "json_decode bytes=%d median_MB_per_s=%.0f", body.count, rate / 1e6))
        }
        let resident = Self.residentMemory(" after the runs")
        if !resident.isEmpty { print("memory:" + resident.dropFirst(1)) }
    }

    /// ", N MiB resident<when>" from /proc/self/status, or "" where that file does not exist.
    static func residentMemory(_ when: String) -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return "" }
        return ", \(kilobytes >> 10) MiB resident\(when)"
    }
}

/// Random tensors that fit a signature input.
enum RandomInputs {
    static func tensor<G: RandomNumberGenerator>(
        _ spec: TensorSpec, batch: Int, intMax: Int, using generator: inout G
    ) throws -> Tensor {
        guard let dims = spec.shape.dims else {
            throw ValidationError("input \(spec.tensorName) has unknown rank; cannot make a random input")
        }
        let shape = Shape(dims.enumerated().map { index, dim in dim >= 0 ? dim : (index == 0 ? batch : 1) })
        let count = shape.elementCount
        switch spec.dtype {
        case .float32: return Tensor((0..<count).map { _ in Float.random(in: 0..<1, using: &generator) }, shape: shape)
        case .float64: return Tensor((0..<count).map { _ in Double.random(in: 0..<1, using: &generator) }, shape: shape)
        case .int32: return Tensor((0..<count).map { _ in Int32.random(in: 0..<Int32(max(1, intMax)), using: &generator) }, shape: shape)
        case .int64: return Tensor((0..<count).map { _ in Int64.random(in: 0..<Int64(max(1, intMax)), using: &generator) }, shape: shape)
        case .bool: return Tensor((0..<count).map { _ in Bool.random(using: &generator) }, shape: shape)
        case .string: return Tensor(strings: Array(repeating: Array("example".utf8), count: count), shape: shape)
        default: throw ValidationError("input \(spec.tensorName) has dtype \(spec.dtype); bench makes float, int, bool and string inputs only")
        }
    }
}
