import Tensors

/// ReadVariableOp (and the implicit read of a TF1 reference variable) of a variable a signature
/// assigns: its value when the step runs.
struct ReadVariableKernel: Kernel {
    let variable: MutableVariable
    /// The dtype the op reads as; nil for implicit reads.
    let dtype: DType?

    var isStateful: Bool { true }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let value = try variable.read()
        if let dtype, value.dtype != dtype {
            throw .invalidArgument("variable '\(variable.key)' holds \(value.dtype) and is read as \(dtype)")
        }
        return [value]
    }
}

/// An assignment op (see `VariableUpdate`) run on each execution.
struct AssignVariableKernel: Kernel {
    let variable: MutableVariable
    let update: VariableUpdate

    var hasEffects: Bool { true }
    var isStateful: Bool { true }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, update.op)
        try variable.update(update, with: inputs[0])
        return []
    }
}

/// VarIsInitializedOp / IsVariableInitialized of a variable a signature assigns.
struct VariableIsInitializedKernel: Kernel {
    let variable: MutableVariable

    var isStateful: Bool { true }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        [Tensor(scalar: variable.isInitialized)]
    }
}
