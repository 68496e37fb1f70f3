import SavedModel
import Tensors

/// Walks a flat graph in order, computing every node whose inputs are known now (constants, variables,
/// restored checkpoint values) and turning the rest into plan steps over numbered slots.
///
/// Used twice: at load time with everything fed (restore and init ops, all of it evaluated and variable
/// assignments written to the store), and per signature with the inputs as slots. There, reads of
/// variables that no signature assigns become constants; variables in `store.mutable` are read and
/// written by steps, which keep the graph's order.
///
/// Checkpoint tensors are carried as `LoadConstant.stored` (their index entry) through identities,
/// assignments and variable reads, and read only where their bytes are needed: a kernel folded at load
/// time, weight packing, the constants a plan keeps, or a variable that becomes mutable.
struct GraphEvaluator {
    enum Value {
        case constant(LoadConstant)
        case slot(Int)

        static func tensor(_ tensor: Tensor) -> Value { .constant(.tensor(tensor)) }
    }

    let graph: FlatGraph
    let allowsAssignments: Bool
    var store: VariableStore
    private var values: [[Value]?]
    private let feeds: [ValueRef: Value]
    private var slotCount: Int
    private var constantSlots: [ValueRef: Int] = [:]
    private var constantTemplate: [Int: LoadConstant] = [:]
    private var steps: [PlanStep] = []
    /// What While/If nodes need to compile their functions; nil where control flow is not expected.
    let controlFlow: ControlFlowContext?

    /// `feeds`: values of fed nodes' outputs; `reservedSlots`: slots already used by fed values.
    init(graph: FlatGraph, store: VariableStore, allowsAssignments: Bool,
         feeds: [ValueRef: Value], reservedSlots: Int, controlFlow: ControlFlowContext? = nil) {
        self.graph = graph
        self.controlFlow = controlFlow
        self.store = store
        self.allowsAssignments = allowsAssignments
        self.slotCount = reservedSlots
        self.feeds = feeds
        self.values = [[Value]?](repeating: nil, count: graph.nodes.count)
    }

    mutating func evaluate() throws(ServingError) {
        for id in graph.order {
            let node = graph.nodes[id]
            switch node.kind {
            case .feed:
                values[id] = []
            case .forward:
                var outputs: [Value] = []
                for input in node.inputs { outputs.append(try value(input, for: node)) }
                values[id] = outputs
            case .op:
                values[id] = try evaluateOp(node)
            }
        }
    }

    /// The value of a node output, as a constant or a slot.
    func value(_ ref: ValueRef, for consumer: FlatNode) throws(ServingError) -> Value {
        let producer = graph.nodes[ref.node]
        if producer.kind == .feed, let fed = feeds[ref] { return fed }
        guard let outputs = values[ref.node], ref.output < outputs.count else {
            throw .invalidArgument("\(consumer.location) reads output \(ref.output) of \(producer.location), which has no value")
        }
        return outputs[ref.output]
    }

    private func constantInput(_ node: FlatNode, _ index: Int, _ what: String) throws(ServingError) -> Tensor {
        try read(try knownInput(node, index, what), for: node)
    }

    /// Input `index` of `node`, which must be known at load time; a checkpoint tensor stays unread.
    private func knownInput(_ node: FlatNode, _ index: Int, _ what: String) throws(ServingError) -> LoadConstant {
        guard index < node.inputs.count else {
            throw .invalidArgument("\(node.location): \(node.op) needs input \(index) (\(what)), but has \(node.inputs.count) inputs")
        }
        guard case .constant(let constant) = try value(node.inputs[index], for: node) else {
            throw .unimplemented("\(node.location): \(node.op) input \(index) (\(what)) must be known when the model loads")
        }
        return constant
    }

    /// The bytes of `constant`, read from the checkpoint if they are still there.
    func read(_ constant: LoadConstant, for node: FlatNode) throws(ServingError) -> Tensor {
        do {
            return try constant.tensor()
        } catch {
            throw ServingError(error.code, "\(node.location): \(error.message)")
        }
    }

    private func handle(_ node: FlatNode) throws(ServingError) -> VariableHandle {
        guard let handle = try constantInput(node, 0, "variable").variableHandle else {
            throw .invalidArgument("\(node.location): \(node.op) input 0 is not a variable")
        }
        return handle
    }

    private func variableValue(_ handle: VariableHandle, _ node: FlatNode) throws(ServingError) -> LoadConstant {
        store.access?.fold(handle.key)
        guard let value = store.values[handle.key] else {
            throw .failedPrecondition(
                "\(node.location) reads variable '\(handle.key)', which neither the restore op, the init op nor the object graph assigned")
        }
        return value
    }

    /// The value of a variable where `node` reads it: a constant, or a step reading it at run time when a
    /// signature assigns it. `dtype`: what the node reads it as, when it says.
    private mutating func readVariable(_ handle: VariableHandle, _ node: FlatNode, dtype: DType? = nil) throws(ServingError) -> Value {
        guard let variable = store.mutable[handle.key] else { return .constant(try variableValue(handle, node)) }
        return emit(ReadVariableKernel(variable: variable, dtype: dtype), inputs: [], outputCount: 1, node)[0]
    }

    /// Assignment ops: written to the store at load time; at run time by a step when a signature
    /// assigns the variable, else only recorded (`VariableAccess`) so the signature is compiled again
    /// once the variable is mutable.
    private mutating func assign(_ node: FlatNode) throws(ServingError) -> [Value] {
        guard let update = VariableUpdate(op: node.op) else { throw .internal("\(node.location): \(node.op) is not an assignment") }
        let target = try handle(node)
        let result: [Value] = node.op == "Assign" ? [.tensor(target.tensor)] : []
        guard node.inputs.count >= 2 else {
            throw .invalidArgument("\(node.location): \(node.op) needs a variable and a value, but has \(node.inputs.count) inputs")
        }
        if allowsAssignments {
            var input = try knownInput(node, 1, "value")
            if let source = input.loaded?.variableHandle, source.isReference { input = try variableValue(source, node) }
            do {
                if update.replacesValue {
                    try update.checkDType(store.values[target.key]?.dtype, input.dtype, key: target.key)
                    store.values[target.key] = input
                } else {
                    let current = try store.values[target.key].map { constant throws(ServingError) in try constant.tensor() }
                    store.values[target.key] = .tensor(try update.next(current, try input.tensor(), key: target.key))
                }
            } catch {
                throw ServingError(error.code, "\(node.location): \(error.message)")
            }
            return result
        }
        guard let variable = store.mutable[target.key] else {
            store.access?.assign(target.key)
            return result
        }
        var input = try value(node.inputs[1], for: node)
        if case .constant(let constant) = input, let source = constant.loaded?.variableHandle, source.isReference {
            input = try readVariable(source, node)
        }
        _ = emit(AssignVariableKernel(variable: variable, update: update), inputs: [(node.inputs[1], input)], outputCount: 0, node)
        return result
    }

    private mutating func evaluateOp(_ node: FlatNode) throws(ServingError) -> [Value] {
        let attrs = node.attrReader
        switch node.op {
        case "NoOp", "DisableCopyOnRead":
            return []
        case "Const":
            return [.tensor(try attrs.tensor("value"))]
        case "Placeholder":
            throw .invalidArgument("\(node.location): placeholder '\(node.name)' is needed but is not an input of the signature")
        case "PlaceholderWithDefault":
            guard let input = node.inputs.first else { throw .invalidArgument("\(node.location) has no default input") }
            return [try value(input, for: node)]
        case "VarHandleOp", "VariableV2", "Variable":
            let shared = try attrs.string("shared_name")
            let handle = VariableHandle(key: shared.isEmpty ? node.name : shared, isReference: node.op != "VarHandleOp")
            return [.tensor(handle.tensor)]
        case "ReadVariableOp":
            return [try readVariable(try handle(node), node, dtype: try? attrs.dtype("dtype"))]
        case "VarIsInitializedOp", "IsVariableInitialized":
            let key = try handle(node).key
            if let variable = store.mutable[key] {
                return emit(VariableIsInitializedKernel(variable: variable), inputs: [], outputCount: 1, node)
            }
            store.access?.fold(key)
            return [.tensor(Tensor(scalar: store.values[key] != nil))]
        case "AssignVariableOp", "Assign", "AssignAddVariableOp", "AssignSubVariableOp":
            return try assign(node)
        case "RestoreV2":
            return try restore(node, attrs)
        case "HashTableV2", "MutableHashTableV2":
            return [.tensor(try store.table(for: node, attrs).tensor)]
        case "MutableDenseHashTableV2":
            let emptyKey = try constantInput(node, 0, "empty_key").integerValues()
            let deletedKey = try constantInput(node, 1, "deleted_key").integerValues()
            let free = Set((emptyKey + deletedKey).map { Int64($0) })
            var valueShape: [Int] = []
            if case .shape(let dims?) = attrs.value("value_shape") { valueShape = dims }
            return [.tensor(try store.table(for: node, attrs, freeBucketKeys: free, bucketValueShape: valueShape).tensor)]
        case "LookupTableImportV2", "InitializeTableV2":
            guard allowsAssignments, let table = try constantInput(node, 0, "table_handle").lookupTable else {
                throw .unimplemented("\(node.location): \(node.op) may only fill a table while the model loads")
            }
            do {
                try table.load(keys: try constantInput(node, 1, "keys"), values: try constantInput(node, 2, "values"))
            } catch {
                throw ServingError(error.code, "\(node.location): \(error.message)")
            }
            return []
        case "InitializeTableFromTextFileV2":
            guard allowsAssignments, let table = try constantInput(node, 0, "table_handle").lookupTable else {
                throw .unimplemented("\(node.location): \(node.op) may only fill a table while the model loads")
            }
            guard let path = try constantInput(node, 1, "filename").strings?.first else {
                throw .invalidArgument("\(node.location): the table file name must be a string")
            }
            do {
                let source = try TextFileTableSource(attrs: attrs)
                let (keys, values) = try source.read(path: String(decoding: path, as: UTF8.self), keyType: table.keyType,
                                                     valueType: table.valueType)
                try table.load(keys: keys, values: values)
            } catch {
                throw ServingError(error.code, "\(node.location): \(error.message)")
            }
            return []
        case "While", "StatelessWhile", "If", "StatelessIf":
            return try evaluateControlFlow(node, attrs)
        default:
            return try evaluateKernel(node, attrs)
        }
    }

    private func restore(_ node: FlatNode, _ attrs: AttrReader) throws(ServingError) -> [Value] {
        guard let checkpoint = store.stored else {
            throw .failedPrecondition("\(node.location): RestoreV2 needs the variables checkpoint, which the model does not have")
        }
        guard let names = try constantInput(node, 1, "tensor_names").strings,
              let slices = try constantInput(node, 2, "shape_and_slices").strings
        else { throw .invalidArgument("\(node.location): RestoreV2 tensor_names and shape_and_slices must be strings") }
        let dtypes = try attrs.dtypes("dtypes")
        guard names.count == dtypes.count, slices.count == names.count else {
            throw .invalidArgument(
                "\(node.location): RestoreV2 has \(names.count) names, \(slices.count) slices and \(dtypes.count) dtypes")
        }
        var results: [Value] = []
        for (index, nameBytes) in names.enumerated() {
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard slices[index].isEmpty else {
                throw .unimplemented("\(node.location): variable '\(name)' is partitioned (slice '\(String(decoding: slices[index], as: UTF8.self))'), which is not supported")
            }
            let stored: StoredTensor
            do {
                stored = try checkpoint.stored(name)
            } catch {
                throw ServingError(error.code, "\(node.location): restoring '\(name)': \(error.message)")
            }
            guard stored.dtype == dtypes[index] else {
                throw .invalidArgument("\(node.location): checkpoint tensor '\(name)' is \(stored.dtype), the graph expects \(dtypes[index])")
            }
            results.append(.constant(.stored(stored)))
        }
        return results
    }

    private mutating func evaluateKernel(_ node: FlatNode, _ attrs: AttrReader) throws(ServingError) -> [Value] {
        guard let factory = node.definition?.makeKernel else {
            throw .unimplemented("\(node.location): op \(node.op) is not supported")
        }
        return try apply(try factory(attrs), to: node)
    }

    /// Runs `kernel` now when every input is known, else emits it as a plan step.
    mutating func apply(_ kernel: any Kernel, to node: FlatNode) throws(ServingError) -> [Value] {
        var inputs: [Value] = []
        var constants: [LoadConstant] = []
        for ref in node.inputs {
            var input = try value(ref, for: node)
            if case .constant(let constant) = input, let handle = constant.loaded?.variableHandle,
               handle.isReference || kernel is any ReadsVariableInputs {
                input = try readVariable(handle, node)
            }
            if case .constant(let constant) = input { constants.append(constant) }
            inputs.append(input)
        }
        let outputCount = node.outputCount ?? 0
        if kernel is IdentityKernel, inputs.count == outputCount { return inputs }
        if constants.count == inputs.count, !kernel.isStateful {
            var tensors: [Tensor] = []
            for constant in constants { tensors.append(try read(constant, for: node)) }
            let results: [Tensor]
            do {
                results = try kernel.run(tensors)
            } catch {
                throw ServingError(error.code, "\(node.location): \(error.message)")
            }
            guard results.count == outputCount else {
                throw .internal("\(node.location): \(node.op) produced \(results.count) outputs, expected \(outputCount)")
            }
            return results.map { .tensor($0) }
        }
        return emit(kernel, inputs: Array(zip(node.inputs, inputs)), outputCount: outputCount, node)
    }

    /// Appends a step running `kernel` on `inputs` (each with the node output it is, which keys its
    /// constant slot) for `node`.
    private mutating func emit(_ kernel: any Kernel, inputs: [(ValueRef, Value)], outputCount: Int,
                               _ node: FlatNode) -> [Value] {
        var inputSlots: [Int] = []
        for (ref, input) in inputs {
            switch input {
            case .slot(let slot): inputSlots.append(slot)
            case .constant(let constant): inputSlots.append(constantSlot(ref, constant))
            }
        }
        let outputSlots = (0..<outputCount).map { slotCount + $0 }
        slotCount += outputCount
        steps.append(PlanStep(kernel: kernel, inputs: inputSlots, outputs: outputSlots, releases: [],
                              location: "\(node.location) (\(node.op))"))
        return outputSlots.map { .slot($0) }
    }

    private mutating func constantSlot(_ ref: ValueRef, _ constant: LoadConstant) -> Int {
        if let slot = constantSlots[ref] { return slot }
        let slot = slotCount
        slotCount += 1
        constantSlots[ref] = slot
        constantTemplate[slot] = constant
        return slot
    }

    /// The plan computing `outputs` from `inputSlots`, without steps nothing needs and releasing slots after last use.
    mutating func plan(inputSlots: [String: Int], outputs: [String: ValueRef], consumer: FlatNode) throws(ServingError) -> ExecutionPlan {
        var planOutputs: [String: PlanValue] = [:]
        var needed = Set<Int>()
        for (key, ref) in outputs.sorted(by: { $0.key < $1.key }) {
            var output = try value(ref, for: consumer)
            if case .constant(let constant) = output, let handle = constant.loaded?.variableHandle, handle.isReference {
                output = try readVariable(handle, consumer)
            }
            switch output {
            case .constant(let constant):
                planOutputs[key] = .constant(try read(constant, for: consumer))
            case .slot(let slot):
                planOutputs[key] = .slot(slot)
                needed.insert(slot)
            }
        }
        let outputSlots = needed
        let constants = PlanConstants(constantTemplate)
        let fused = EpilogueFusion.fuse(RecurrentFusion.fuse(steps, constants: constants, packing: store.packing),
                                        constants: constants, protected: outputSlots, packing: store.packing)
        if let failure = constants.failure { throw failure }
        var kept: [PlanStep] = []
        for step in fused.reversed() where step.kernel.hasEffects || step.outputs.contains(where: needed.contains) {
            kept.append(step)
            needed.formUnion(step.inputs)
        }
        kept.reverse()
        var lastUse: [Int: Int] = [:]
        for (index, step) in kept.enumerated() {
            for slot in step.inputs { lastUse[slot] = index }
            for slot in step.outputs where lastUse[slot] == nil { lastUse[slot] = index }
        }
        for (slot, index) in lastUse where !outputSlots.contains(slot) {
            kept[index].releases.append(slot)
        }
        var template = [Tensor?](repeating: nil, count: slotCount)
        for (slot, constant) in constantTemplate where needed.contains(slot) || outputSlots.contains(slot) {
            template[slot] = try constant.tensor()
        }
        return ExecutionPlan(template: template, steps: kept, inputSlots: inputSlots, outputs: planOutputs)
    }
}
