import Lifecycle
import Runtime
import SavedModel
import ServingMetrics
import Tensors

/// Loads a version directory: reads the SavedModel and compiles every signature.
struct SavedModelLoader: ServableLoader {
    let tags: Set<String>
    let runtimeOptions: RuntimeOptions
    /// Whether `assets.extra/tf_serving_warmup_requests` is replayed before a version serves.
    var warmup = true
    /// How many times each warmup record is replayed (`--num_request_iterations_for_warmup`).
    var warmupIterations = 1
    /// `--model_base_path_root`, which a version directory and the symlinks in it must not lead out of.
    var root: ModelBasePathRoot?

    func missingPart(of directory: String) -> String? {
        SavedModelBundle.missingFile(directory: directory)
    }

    func releaseUnusedMemory() {
        TensorBuffer.releaseRecycledMemory()
        #if canImport(Glibc)
        _ = mallocTrim(0)
        #endif
    }

    func load(model: String, version: Int64, directory: String) throws(ServingError) -> any LoadedServable {
        // The warmup's large buffers would otherwise stay in the reuse pool (the compile's come from the system).
        defer { TensorBuffer.releaseRecycledMemory() }
        try root?.checkVersionDirectory(directory)
        return CompiledServable(model: try compiledModel(in: directory))
    }

    /// The version in `directory` compiled and, unless `warmup` is off, warmed up. Reading and
    /// compiling count as the load attempt; the warmup is timed on its own. The compile's large buffers
    /// are mapped on their own, so the raw tensors it releases once they are packed go back to the system
    /// at once.
    func compiledModel(in directory: String) throws(ServingError) -> CompiledModel {
        let metrics = LoadMetrics()
        let started = MonotonicClock.nanoseconds()
        let model: CompiledModel
        do throws(ServingError) {
            model = try TensorBuffer.fromSystem { () throws(ServingError) in
                try CompiledModel.compile(try SavedModelBundle.load(directory: directory, tags: tags), options: runtimeOptions)
            }
        } catch {
            metrics.recordLoad(modelPath: directory, succeeded: false, nanoseconds: MonotonicClock.nanoseconds(since: started))
            throw error
        }
        metrics.recordLoad(modelPath: directory, succeeded: true, nanoseconds: MonotonicClock.nanoseconds(since: started))
        if warmup { try Warmup.run(versionDirectory: directory, on: model, iterations: warmupIterations, metrics: metrics) }
        return model
    }
}

/// A compiled model as the lifecycle sees it.
struct CompiledServable: LoadedServable {
    let model: CompiledModel
    let signatures: [String: SignatureSpec]

    init(model: CompiledModel) {
        self.model = model
        self.signatures = model.signatures.mapValues(\.spec)
    }

    func run(signature: String, inputs: [String: Tensor]) throws(ServingError) -> [String: Tensor] {
        guard let compiled = model.signatures[signature] else {
            throw .invalidArgument("signature '\(signature)' does not exist")
        }
        return try compiled.run(inputs)
    }
}

#if canImport(Glibc)
/// glibc's `malloc_trim` (declared in `malloc.h`, which the Glibc module does not export): returns
/// free heap memory to the operating system.
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32
#endif
