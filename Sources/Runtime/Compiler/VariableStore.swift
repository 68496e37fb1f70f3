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
    /// The variables some signature of the model assigns: read and written by plan steps at run time
    /// rather than folded (the others are constants while the model serves).
    var mutable: [String: MutableVariable] = [:]
    /// Where the signature being compiled records the variables it folds in or assigns.
    var access: VariableAccess?
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

/// The variables one signature's compilation used: those whose values it folded in as constants and
/// those it assigns without a `MutableVariable` for them yet (its plan is then compiled again).
final class VariableAccess {
    private(set) var folded = Set<String>()
    private(set) var assigned = Set<String>()

    var touched: Set<String> { folded.union(assigned) }

    func fold(_ key: String) { folded.insert(key) }
    func assign(_ key: String) { assigned.insert(key) }
}
