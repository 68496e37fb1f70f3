import Tensors

/// One kernel invocation: reads slots, writes slots, then drops slots nobody reads later.
struct PlanStep: Sendable {
    let kernel: any Kernel
    let inputs: [Int]
    let outputs: [Int]
    var releases: [Int]
    let location: String
}

/// Where a signature output comes from.
enum PlanValue: Sendable {
    case constant(Tensor)
    case slot(Int)
}

/// A compiled signature body: a flat array of steps over numbered slots.
/// Immutable, so any number of threads may run it at once; each run owns its slot array.
struct ExecutionPlan: Sendable {
    /// Initial slot contents: folded constants in their slots, nil elsewhere.
    let template: [Tensor?]
    let steps: [PlanStep]
    /// Signature input key → slot.
    let inputSlots: [String: Int]
    /// Signature output key → value.
    let outputs: [String: PlanValue]

    /// Whether any step has effects (see `Kernel.hasEffects`).
    var hasEffects: Bool { steps.contains { $0.kernel.hasEffects } }
    /// Whether any step reads or writes a variable that changes while the model serves (see `Kernel.isStateful`).
    var isStateful: Bool { steps.contains { $0.kernel.isStateful } }

    func run(_ inputs: [String: Tensor], outputs wanted: [String], signature: String) throws(ServingError) -> [String: Tensor] {
        var slots = template
        for (key, slot) in inputSlots {
            guard let tensor = inputs[key] else { throw .invalidArgument("signature '\(signature)': input '\(key)' is missing") }
            slots[slot] = tensor
        }
        try execute(&slots, context: "signature '\(signature)'")
        var result: [String: Tensor] = [:]
        result.reserveCapacity(wanted.count)
        for key in wanted {
            switch outputs[key] {
            case .constant(let tensor)?: result[key] = tensor
            case .slot(let slot)?:
                guard let tensor = slots[slot] else {
                    throw .internal("signature '\(signature)': output '\(key)' was not computed")
                }
                result[key] = tensor
            case nil:
                throw .invalidArgument("signature '\(signature)' has no output '\(key)'")
            }
        }
        return result
    }

    /// Runs every step over `slots`, which starts as `template` with the inputs filled in.
    func execute(_ slots: inout [Tensor?], context: String) throws(ServingError) {
        var arguments: [Tensor] = []
        let charge = RequestMemory.activeCharge
        for step in steps {
            if let charge {
                do { try charge.check() } catch { throw ServingError(error.code, "\(context): \(step.location): \(error.message)") }
            }
            arguments.removeAll(keepingCapacity: true)
            for slot in step.inputs {
                guard let tensor = slots[slot] else {
                    throw .internal("\(context): \(step.location) runs before its input is computed")
                }
                arguments.append(tensor)
            }
            let results: [Tensor]
            do {
                results = try step.kernel.run(arguments)
            } catch {
                throw ServingError(error.code, "\(context): \(step.location): \(error.message)")
            }
            guard results.count == step.outputs.count else {
                throw .internal("\(context): \(step.location) produced \(results.count) outputs, expected \(step.outputs.count)")
            }
            for (slot, tensor) in zip(step.outputs, results) { slots[slot] = tensor }
            for slot in step.releases { slots[slot] = nil }
        }
        try charge?.check()
    }
}
