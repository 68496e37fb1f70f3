import Tensors

/// What compiling a While/If node needs beyond its flat graph: the function library, the runtime limits
/// and how deeply the functions being compiled are nested.
struct ControlFlowContext {
    let graph: IRGraph
    let options: RuntimeOptions
    let depth: Int

    var nested: ControlFlowContext { ControlFlowContext(graph: graph, options: options, depth: depth + 1) }
}

/// A function of the library flattened on its own, with its arguments as feeds.
struct FlattenedFunction {
    let name: String
    let flat: FlatGraph
    let arguments: [ValueRef]
    let results: [ValueRef]

    private static let forwardingOps: Set<String> = ["Identity", "IdentityN", "StopGradient", "Snapshot"]

    /// The argument that result `index` returns unchanged (directly or through identities), if any.
    func passthroughArgument(ofResult index: Int) -> Int? {
        guard index < results.count else { return nil }
        var ref = results[index]
        for _ in 0...flat.nodes.count {
            if let argument = arguments.firstIndex(of: ref) { return argument }
            guard ref.node < flat.nodes.count else { return nil }
            let node = flat.nodes[ref.node]
            let forwards = node.kind == .forward || (node.kind == .op && Self.forwardingOps.contains(node.op))
            guard forwards, ref.output < node.inputs.count else { return nil }
            ref = node.inputs[ref.output]
        }
        return nil
    }
}

extension GraphEvaluator {
    /// While/StatelessWhile and If/StatelessIf: their functions become sub-plans compiled once, here.
    mutating func evaluateControlFlow(_ node: FlatNode, _ attrs: AttrReader) throws(ServingError) -> [Value] {
        guard let context = controlFlow else {
            throw .unimplemented("\(node.location): \(node.op) is only supported inside serving signatures")
        }
        var inputs: [Value] = []
        for ref in node.inputs { inputs.append(try value(ref, for: node)) }
        switch node.op {
        case "While", "StatelessWhile":
            return try evaluateWhile(node, attrs, inputs, context)
        default:
            return try evaluateIf(node, attrs, inputs, context)
        }
    }

    private mutating func evaluateWhile(_ node: FlatNode, _ attrs: AttrReader, _ inputs: [Value],
                                        _ context: ControlFlowContext) throws(ServingError) -> [Value] {
        let condName = try attrs.function("cond")
        let bodyName = try attrs.function("body")
        guard node.outputCount == inputs.count else {
            throw .invalidArgument("\(node.location): \(node.op) has \(inputs.count) loop inputs but \(node.outputCount ?? 0) outputs")
        }
        let body = try flatten(bodyName, for: node, context: context, argumentCount: inputs.count)
        guard body.results.count == inputs.count else {
            throw .invalidArgument("\(node.location): body '\(bodyName)' returns \(body.results.count) values for \(inputs.count) loop variables")
        }
        let cond = try flatten(condName, for: node, context: context, argumentCount: inputs.count)
        guard cond.results.count == 1 else {
            throw .invalidArgument("\(node.location): cond '\(condName)' returns \(cond.results.count) values, expected 1")
        }
        var invariants: [Int: LoadConstant] = [:]
        for (index, input) in inputs.enumerated() {
            if case .constant(let constant) = input, body.passthroughArgument(ofResult: index) == index {
                invariants[index] = constant
            }
        }
        let kernel = WhileKernel(op: node.op,
                                 cond: try compile(cond, constants: invariants, context: context),
                                 body: try compile(body, constants: invariants, context: context),
                                 maximumIterations: context.options.maxLoopIterations)
        var outputs = try apply(kernel, to: node)
        for (index, constant) in invariants where index < outputs.count { outputs[index] = .constant(constant) }
        return outputs
    }

    private mutating func evaluateIf(_ node: FlatNode, _ attrs: AttrReader, _ inputs: [Value],
                                     _ context: ControlFlowContext) throws(ServingError) -> [Value] {
        guard !inputs.isEmpty else { throw .invalidArgument("\(node.location): \(node.op) has no condition input") }
        let arguments = Array(inputs.dropFirst())
        var constants: [Int: LoadConstant] = [:]
        for (index, argument) in arguments.enumerated() {
            if case .constant(let constant) = argument { constants[index] = constant }
        }
        var branches: [FunctionPlan] = []
        for attr in ["then_branch", "else_branch"] {
            let name = try attrs.function(attr)
            let branch = try flatten(name, for: node, context: context, argumentCount: arguments.count)
            guard branch.results.count == node.outputCount else {
                throw .invalidArgument("\(node.location): \(attr) '\(name)' returns \(branch.results.count) values, the node has \(node.outputCount ?? 0) outputs")
            }
            branches.append(try compile(branch, constants: constants, context: context))
        }
        return try apply(IfKernel(op: node.op, thenBranch: branches[0], elseBranch: branches[1]), to: node)
    }

    private func flatten(_ name: String, for node: FlatNode, context: ControlFlowContext,
                         argumentCount: Int) throws(ServingError) -> FlattenedFunction {
        guard context.depth < GraphFlattener.maximumCallDepth else {
            throw .invalidArgument("\(node.location): control flow nests deeper than \(GraphFlattener.maximumCallDepth) levels")
        }
        guard let function = context.graph.functions[name] else {
            throw .invalidArgument("\(node.location) uses function '\(name)', which is not in the library")
        }
        guard function.inputArgs.count == argumentCount else {
            throw .invalidArgument("\(node.location) passes \(argumentCount) values to function '\(name)', which takes \(function.inputArgs.count)")
        }
        var flattener = GraphFlattener(graph: context.graph, function: function, depth: context.depth + 1,
                                       ordersCallBodies: !store.mutable.isEmpty)
        let roots = try flattener.functionRoots()
        let flat = try flattener.finish()
        guard flattener.missing.isEmpty else {
            throw .unimplemented("\(node.location): function '\(name)': \(flattener.missing.message)")
        }
        return FlattenedFunction(name: name, flat: flat, arguments: roots.arguments, results: roots.results)
    }

    /// Compiles `function` with the arguments in `constants` folded in and the others as slots.
    private func compile(_ function: FlattenedFunction, constants: [Int: LoadConstant],
                         context: ControlFlowContext) throws(ServingError) -> FunctionPlan {
        var feeds: [ValueRef: Value] = [:]
        var argumentSlots: [Int?] = []
        var nextSlot = 0
        for (index, ref) in function.arguments.enumerated() {
            if let constant = constants[index] {
                feeds[ref] = .constant(constant)
                argumentSlots.append(nil)
            } else {
                feeds[ref] = .slot(nextSlot)
                argumentSlots.append(nextSlot)
                nextSlot += 1
            }
        }
        var evaluator = GraphEvaluator(graph: function.flat, store: store, allowsAssignments: false,
                                       feeds: feeds, reservedSlots: nextSlot, controlFlow: context.nested)
        try evaluator.evaluate()
        var outputs: [String: ValueRef] = [:]
        for (index, ref) in function.results.enumerated() { outputs[String(index)] = ref }
        let consumer = FlatNode(kind: .op, op: "Return", name: "", location: "function '\(function.name)' return value",
                                attrs: [:], definition: nil)
        let plan = try evaluator.plan(inputSlots: [:], outputs: outputs, consumer: consumer)
        var results: [PlanValue] = []
        for index in function.results.indices {
            guard let result = plan.outputs[String(index)] else {
                throw .internal("function '\(function.name)': result \(index) has no value")
            }
            results.append(result)
        }
        return FunctionPlan(name: function.name, plan: plan, argumentSlots: argumentSlots, results: results)
    }
}
