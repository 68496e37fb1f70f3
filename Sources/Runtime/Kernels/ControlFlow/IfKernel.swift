import Tensors

/// If/StatelessIf: runs one of two functions on the inputs after the condition.
struct IfKernel: Kernel {
    let op: String
    let thenBranch: FunctionPlan
    let elseBranch: FunctionPlan

    var hasEffects: Bool { thenBranch.plan.hasEffects || elseBranch.plan.hasEffects }
    var isStateful: Bool { thenBranch.plan.isStateful || elseBranch.plan.isStateful }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        guard let condition = inputs.first else { throw .invalidArgument("\(op) needs a condition input") }
        let arguments = Array(inputs.dropFirst())
        return try condition.truthValue() ? thenBranch.run(arguments) : elseBranch.run(arguments)
    }
}
