import SavedModel
import Tensors

/// What a `VarHandleOp` or `VariableV2` node evaluates to: the key of a variable in the store.
struct VariableHandle: Sendable, Hashable {
    var key: String
    /// TF1 reference variable: consumers other than Assign read its value.
    var isReference: Bool

    var tensor: Tensor { Tensor(dtype: .resource, shape: .scalar, storage: .opaque([self])) }
}

extension Tensor {
    /// The variable handle a resource tensor carries, if any.
    var variableHandle: VariableHandle? {
        guard dtype == .resource, case .opaque(let objects) = storage, objects.count == 1 else { return nil }
        return objects[0] as? VariableHandle
    }
}

/// Variable values at load time, keyed by `shared_name` (resource variables) or node name (TF1 variables).
/// A value restored from the checkpoint stays there until something needs its bytes.
struct VariableStore {
    var values: [String: LoadConstant] = [:]
    /// Hash tables by `shared_name` (or node name), created by `HashTableV2` and filled by the init op.
    var tables: [String: LookupTableResource] = [:]
    /// Packed weights shared between the steps and signatures compiled from this store.
    let packing = WeightPacking()
    /// The checkpoint's tensors, read when first needed; nil for a model without variables.
    let stored: CheckpointTensors?

    init(checkpoint: CheckpointReader?) {
        stored = checkpoint.map(CheckpointTensors.init)
    }
}
