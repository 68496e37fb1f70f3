import Tensors

/// A variable that a serving signature assigns. Its value lives here, in the compiled model, rather than
/// folded into the plans: every signature of the model reads and writes the same one, starting from the
/// value the restore and init ops gave it, and another compilation of the same files has its own.
///
/// Each read and each update is atomic (an update computes the next value while holding the lock, so
/// concurrent AssignAdd steps all count); runs that overlap see each other's writes in whatever order
/// they happen, as in TensorFlow.
final class MutableVariable: Sendable {
    let key: String
    private let value: LockedValue<Tensor?>

    /// `value` nil: the variable has no value until a signature assigns one.
    init(key: String, value: Tensor?) {
        self.key = key
        self.value = LockedValue(value)
    }

    var isInitialized: Bool { value.withLock { $0 != nil } }

    func read() throws(ServingError) -> Tensor {
        guard let tensor = value.withLock({ $0 }) else {
            throw .failedPrecondition("variable '\(key)' is read before anything assigned it a value")
        }
        return tensor
    }

    func update(_ update: VariableUpdate, with input: Tensor) throws(ServingError) {
        try value.withLock { current throws(ServingError) in
            let next = try update.next(current, input, key: key)
            if case .buffer(let buffer) = next.storage { buffer.endCharge() }
            current = next
        }
    }
}

/// How an assignment op combines a variable's value with its input: replaces it (AssignVariableOp,
/// Assign) or adds or subtracts the input (AssignAddVariableOp, AssignSubVariableOp).
struct VariableUpdate: Sendable {
    let op: String
    /// AddV2 or Sub over the current value and the input; nil when the input replaces the value.
    private let arithmetic: (any Kernel)?

    static let ops: Set<String> = ["AssignVariableOp", "Assign", "AssignAddVariableOp", "AssignSubVariableOp"]

    init?(op: String) {
        self.op = op
        switch op {
        case "AssignVariableOp", "Assign": arithmetic = nil
        case "AssignAddVariableOp": arithmetic = BinaryKernel<AddFunction>(op: op)
        case "AssignSubVariableOp": arithmetic = BinaryKernel<SubtractFunction>(op: op)
        default: return nil
        }
    }

    /// Whether the op's input becomes the value as it is (no arithmetic with the current value).
    var replacesValue: Bool { arithmetic == nil }

    /// Refuses an input of another dtype than the variable already holds.
    func checkDType(_ current: DType?, _ input: DType, key: String) throws(ServingError) {
        if let current, current != input {
            throw .invalidArgument("\(op) gives variable '\(key)', which holds \(current), a \(input) value")
        }
    }

    /// The value variable `key` has after the op, from the one it has before (nil when it has none).
    func next(_ current: Tensor?, _ input: Tensor, key: String) throws(ServingError) -> Tensor {
        try checkDType(current?.dtype, input.dtype, key: key)
        guard let arithmetic else { return input }
        guard let current else {
            throw .failedPrecondition("\(op) updates variable '\(key)', which has no value yet")
        }
        guard current.shape == input.shape else {
            throw .invalidArgument(
                "\(op) cannot update variable '\(key)' of shape \(current.shape) with a value of shape \(input.shape)")
        }
        guard let result = try arithmetic.run([current, input]).first else {
            throw .internal("\(op) computed nothing for variable '\(key)'")
        }
        return result
    }
}
