import SavedModel
import Tensors

/// Compiles one signature: closure of its outputs, inlining, folding with the bound variables, plan.
struct SignatureCompiler {
    let graph: IRGraph
    let store: VariableStore
    var options = RuntimeOptions()

    enum Outcome {
        case plan(ExecutionPlan)
        case missing(MissingOps)
    }

    /// `access` records the variables the compilation folds in or assigns (see `VariableAccess`).
    func compile(_ spec: SignatureSpec, access: VariableAccess? = nil) throws(ServingError) -> Outcome {
        let inputKeys = spec.inputs.keys.sorted()
        let inputTensors = inputKeys.compactMap { spec.inputs[$0].map { TensorName(parsing: $0.tensorName) } }
        for (key, tensor) in zip(inputKeys, inputTensors) where tensor.index >= OpDefinition.maximumListLength {
            throw .invalidArgument("input '\(key)' names tensor '\(tensor)', whose output index is out of range")
        }
        var flattener = GraphFlattener(graph: graph, feeds: inputTensors, ordersCallBodies: !store.mutable.isEmpty)
        var outputs: [String: ValueRef] = [:]
        for (key, output) in spec.outputs {
            do throws(ServingError) {
                outputs[key] = try flattener.root(tensor: TensorName(parsing: output.tensorName))
            } catch {
                throw ServingError(error.code, "output '\(key)': \(error.message)")
            }
        }
        let flat = try flattener.finish()
        if !flattener.missing.isEmpty { return .missing(flattener.missing) }
        var feeds: [ValueRef: GraphEvaluator.Value] = [:]
        var inputSlots: [String: Int] = [:]
        for (slot, (key, tensor)) in zip(inputKeys, inputTensors).enumerated() {
            inputSlots[key] = slot
            if let ref = flattener.fedValue(tensor) { feeds[ref] = .slot(slot) }
        }
        var store = self.store
        store.access = access
        var evaluator = GraphEvaluator(graph: flat, store: store, allowsAssignments: false,
                                       feeds: feeds, reservedSlots: inputKeys.count,
                                       controlFlow: ControlFlowContext(graph: graph, options: options, depth: 0))
        try evaluator.evaluate()
        let consumer = FlatNode(kind: .op, op: "Output", name: "", location: "signature output", attrs: [:], definition: nil)
        return .plan(try evaluator.plan(inputSlots: inputSlots, outputs: outputs, consumer: consumer))
    }
}
