import Tensors

/// While/StatelessWhile: runs `body` on the loop variables as long as `cond` holds, failing the request
/// instead of spinning once `maximumIterations` (`RuntimeOptions.maxLoopIterations`) is reached.
struct WhileKernel: Kernel {
    let op: String
    let cond: FunctionPlan
    let body: FunctionPlan

    var hasEffects: Bool { cond.plan.hasEffects || body.plan.hasEffects }
    var isStateful: Bool { cond.plan.isStateful || body.plan.isStateful }
    let maximumIterations: Int

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        var state = inputs
        var iterations = 0
        while true {
            let predicate = try cond.run(state)
            guard let flag = predicate.first else { throw .internal("\(op) cond '\(cond.name)' returned nothing") }
            guard try flag.truthValue() else { return state }
            guard iterations < maximumIterations else {
                throw .resourceExhausted(
                    "\(op) loop did not finish within \(maximumIterations) iterations (RuntimeOptions.maxLoopIterations)")
            }
            iterations += 1
            let next = try body.run(state)
            guard next.count == state.count else {
                throw .internal("\(op) body '\(body.name)' returned \(next.count) values for \(state.count) loop variables")
            }
            state = next
        }
    }
}
