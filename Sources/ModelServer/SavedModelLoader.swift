import Lifecycle
import Runtime
import SavedModel
import Tensors

/// Loads a version directory: reads the SavedModel and compiles every signature.
struct SavedModelLoader: ServableLoader {
    let tags: Set<String>
    let runtimeOptions: RuntimeOptions
    /// Whether `assets.extra/tf_serving_warmup_requests` is replayed before a version serves.
    var warmup = true

    func load(model: String, version: Int64, directory: String) throws(ServingError) -> any LoadedServable {
        // The file's tensors and the load's temporaries are released by the time `compiledModel` returns; their
        // large buffers would otherwise stay in the reuse pool.
        defer { TensorBuffer.releaseRecycledMemory() }
        return CompiledServable(model: try compiledModel(in: directory))
    }

    /// The version in `directory` compiled and, unless `warmup` is off, warmed up.
    func compiledModel(in directory: String) throws(ServingError) -> CompiledModel {
        let bundle = try SavedModelBundle.load(directory: directory, tags: tags)
        let model = try CompiledModel.compile(bundle, options: runtimeOptions)
        if warmup { try Warmup.run(try WarmupRecords.read(versionDirectory: directory), on: model) }
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
