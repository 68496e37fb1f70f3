import Tensors

/// One signature ready to run: checks requests against its spec and executes its plan.
public final class CompiledSignature: Sendable {
    public let spec: SignatureSpec
    let plan: ExecutionPlan

    init(spec: SignatureSpec, plan: ExecutionPlan) {
        self.spec = spec
        self.plan = plan
    }

    /// Number of kernel steps a run executes (after folding and pruning).
    public var stepCount: Int { plan.steps.count }

    /// Validates every input against the spec (missing/extra keys, dtype, shape) and runs the plan.
    /// `outputs` nil = all outputs. Safe to call from several threads at once. The tensors the run
    /// creates are charged to `RequestMemory.budget` while they live; a run that passes it stops
    /// with RESOURCE_EXHAUSTED.
    public func run(_ inputs: [String: Tensor], outputs: [String]? = nil) throws(ServingError) -> [String: Tensor] {
        try validate(inputs)
        let wanted: [String]
        if let outputs {
            for key in outputs where spec.outputs[key] == nil {
                throw .invalidArgument(
                    "signature '\(spec.name)' has no output '\(key)'; its outputs are \(Self.list(spec.outputs.keys))")
            }
            wanted = outputs
        } else {
            wanted = Array(spec.outputs.keys)
        }
        return try RequestMemory.charging { () throws(ServingError) in
            try plan.run(inputs, outputs: wanted, signature: spec.name)
        }
    }

    private func validate(_ inputs: [String: Tensor]) throws(ServingError) {
        for key in inputs.keys where spec.inputs[key] == nil {
            throw .invalidArgument(
                "signature '\(spec.name)' has no input '\(key)'; its inputs are \(Self.list(spec.inputs.keys))")
        }
        for key in spec.inputs.keys.sorted() {
            guard let expected = spec.inputs[key] else { continue }
            let expectation = "\(expected.dtype) with shape \(expected.shape)"
            guard let tensor = inputs[key] else {
                throw .invalidArgument("input '\(key)' of signature '\(spec.name)' is missing; it expects \(expectation)")
            }
            guard tensor.dtype == expected.dtype, expected.shape.accepts(tensor.shape) else {
                throw .invalidArgument(
                    "input '\(key)' of signature '\(spec.name)' expects \(expectation), got \(tensor.dtype) \(tensor.shape)")
            }
            guard Self.storageMatches(tensor) else {
                throw .invalidArgument(
                    "input '\(key)' of signature '\(spec.name)': the data does not hold \(tensor.shape.elementCount) \(tensor.dtype) elements")
            }
        }
    }

    private static func storageMatches(_ tensor: Tensor) -> Bool {
        guard let count = try? tensor.shape.checkedElementCount() else { return false }
        switch tensor.storage {
        case .buffer(let buffer):
            let (bytes, overflow) = count.multipliedReportingOverflow(by: tensor.dtype.byteSize)
            return tensor.dtype.isFixedSize && !overflow && buffer.byteCount >= bytes
        case .strings(let strings):
            return tensor.dtype == .string && strings.count == count
        case .opaque:
            return false
        }
    }

    private static func list(_ keys: Dictionary<String, TensorSpec>.Keys) -> String {
        keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
    }
}
