import Tensors

/// Expands the closure reachable from some roots of a graph into flat nodes, inlining function calls
/// (`StatefulPartitionedCall`, `PartitionedCall`, ops named after a library function).
///
/// Work is driven by an explicit queue, so deep graphs do not grow the call stack; call nesting and
/// total size are bounded so recursive or oversized files fail with a message.
///
/// With `ordersCallBodies`, an inlined body runs after its call's control inputs, as TensorFlow's
/// function inlining orders it: every node of the body that reads nothing computed inside the body
/// (only arguments, or nothing) gets them as control inputs. This matters only where variables change
/// at run time (a read in one call after an assignment in a call it depends on), so it is asked for only
/// then and leaves every other plan as it was.
struct GraphFlattener {
    static let maximumCallDepth = 64
    static let maximumNodes = 2_000_000

    private struct Scope {
        var function: IRFunction?
        var arguments: [String: ValueRef]
        var depth: Int
        /// Control inputs every entry node of the scope gets (see `ordersCallBodies`).
        var entryControl: [Int] = []
    }

    private struct ScopedName: Hashable {
        var scope: Int
        var name: String
    }

    private enum Edge {
        case data(ValueRef)
        case control(Int)
        case none
    }

    let graph: IRGraph
    private let feeds: [String: Int]
    private let ordersCallBodies: Bool
    private(set) var nodes: [FlatNode] = []
    private(set) var missing = MissingOps()
    private var scopes: [Scope] = [Scope(function: nil, arguments: [:], depth: 0)]
    private var memo: [ScopedName: Int] = [:]
    private var pending: [(node: Int, scope: Int, ir: IRNode)] = []
    private var scannedFunctions = Set<String>()
    private static let branchAttributes = ["f", "body", "cond", "then_branch", "else_branch"]

    /// `feeds`: top-level tensors supplied from outside; their nodes are not expanded.
    init(graph: IRGraph, feeds: [TensorName], ordersCallBodies: Bool = false) {
        self.graph = graph
        self.ordersCallBodies = ordersCallBodies
        var counts: [String: Int] = [:]
        for feed in feeds { counts[feed.node] = max(counts[feed.node] ?? 0, feed.index + 1) }
        self.feeds = counts
    }

    /// Flattens the body of `function` as a root scope: each argument becomes a feed node.
    init(graph: IRGraph, function: IRFunction, depth: Int, ordersCallBodies: Bool = false) {
        self.graph = graph
        self.feeds = [:]
        self.ordersCallBodies = ordersCallBodies
        var arguments: [String: ValueRef] = [:]
        for name in function.inputArgs {
            arguments[name] = ValueRef(node: nodes.count, output: 0)
            nodes.append(FlatNode(kind: .feed, op: "Feed", name: name,
                                  location: "function '\(function.name)' argument '\(name)'", attrs: [:],
                                  definition: nil, outputCount: 1))
        }
        scopes = [Scope(function: function, arguments: arguments, depth: depth)]
    }

    /// In function mode: the argument feeds, the return values and the `control_ret` nodes as roots.
    mutating func functionRoots() throws(ServingError) -> (arguments: [ValueRef], results: [ValueRef]) {
        guard let function = scopes[0].function else { return ([], []) }
        let consumer = "function '\(function.name)' return value"
        var results: [ValueRef] = []
        for output in function.outputArgs {
            guard let reference = function.ret[output] else {
                throw .invalidArgument("function '\(function.name)' does not say what its output '\(output)' returns")
            }
            guard case .data(let ref) = try edge(reference, scope: 0, consumer: consumer) else {
                throw .invalidArgument("function '\(function.name)' output '\(output)' is not a tensor ('\(reference)')")
            }
            results.append(ref)
        }
        for name in function.controlRet.keys.sorted() {
            if let nodeName = function.controlRet[name] {
                _ = try flatNode(scope: 0, name: nodeName, referencedFrom: consumer)
            }
        }
        let arguments = function.inputArgs.compactMap { scopes[0].arguments[$0] }
        return (arguments, results)
    }

    /// A top-level tensor (`name:idx`) as a root.
    mutating func root(tensor: TensorName) throws(ServingError) -> ValueRef {
        let node = try flatNode(scope: 0, name: tensor.node, referencedFrom: "the request")
        if let count = nodes[node].outputCount, tensor.index >= count {
            throw .invalidArgument("tensor '\(tensor)' does not exist: node '\(tensor.node)' has \(count) outputs")
        }
        return ValueRef(node: node, output: tensor.index)
    }

    /// A top-level node run for its effects (restore and init ops).
    mutating func root(node name: String) throws(ServingError) -> Int {
        try flatNode(scope: 0, name: name, referencedFrom: "the request")
    }

    /// The flat node of a fed top-level tensor, if the closure reached it.
    func fedValue(_ tensor: TensorName) -> ValueRef? {
        guard feeds[tensor.node] != nil, let node = memo[ScopedName(scope: 0, name: tensor.node)] else { return nil }
        return ValueRef(node: node, output: tensor.index)
    }

    /// Expands everything reachable and orders it.
    mutating func finish() throws(ServingError) -> FlatGraph {
        while let item = pending.popLast() {
            try expand(item.node, scope: item.scope, ir: item.ir)
        }
        if !missing.isEmpty { return FlatGraph(nodes: nodes, order: []) }
        for node in nodes {
            for input in node.inputs {
                guard input.node < nodes.count, let count = nodes[input.node].outputCount, input.output < count else {
                    throw .invalidArgument("\(node.location) reads output \(input.output) of a node that does not have it")
                }
            }
        }
        return FlatGraph(nodes: nodes, order: try topologicalOrder())
    }

    private func location(scope: Int, name: String) -> String {
        if let function = scopes[scope].function { return "function '\(function.name)' node '\(name)'" }
        return "node '\(name)'"
    }

    private func calledFunction(_ ir: IRNode) -> String? {
        if OpDefTable.callOps.contains(ir.op) {
            if case .function(let name) = ir.attrs["f"] { return name }
            return nil
        }
        if OpDefTable.definition(ir.op) == nil, graph.functions[ir.op] != nil { return ir.op }
        return nil
    }

    private mutating func flatNode(scope: Int, name: String, referencedFrom: String) throws(ServingError) -> Int {
        let key = ScopedName(scope: scope, name: name)
        if let existing = memo[key] { return existing }
        guard nodes.count < Self.maximumNodes else {
            throw .resourceExhausted("the graph expands to more than \(Self.maximumNodes) nodes")
        }
        let where_ = location(scope: scope, name: name)
        let id = nodes.count
        if scope == 0, let fedOutputs = feeds[name] {
            nodes.append(FlatNode(kind: .feed, op: "Feed", name: name, location: where_, attrs: [:],
                                  definition: nil, outputCount: fedOutputs))
            memo[key] = id
            return id
        }
        let found = scopes[scope].function.map { $0.nodes[name] } ?? graph.nodes[name]
        guard let ir = found else {
            throw .invalidArgument("\(referencedFrom) refers to node '\(name)', which does not exist"
                + (scopes[scope].function.map { " in function '\($0.name)'" } ?? " in the graph"))
        }
        var node = FlatNode(kind: .op, op: ir.op, name: name, location: where_, attrs: ir.attrs, definition: nil)
        if OpDefTable.callOps.contains(ir.op) || calledFunction(ir) != nil {
            guard let functionName = calledFunction(ir) else {
                throw .invalidArgument("\(where_): \(ir.op) has no function attribute 'f'")
            }
            guard let function = graph.functions[functionName] else {
                throw .invalidArgument("\(where_) calls function '\(functionName)', which is not in the library")
            }
            node.kind = .forward
            node.outputCount = function.outputArgs.count
            if OpDefTable.callOps.contains(ir.op) {
                node.outputArgs["output"] = (0, function.outputArgs.count)
            } else {
                for (index, arg) in function.outputArgs.enumerated() { node.outputArgs[arg] = (index, 1) }
            }
        } else if let definition = OpDefTable.definition(ir.op) {
            node.definition = definition
            scanBranchFunctions(of: ir, depth: scopes[scope].depth)
            guard let counts = definition.outputCounts(node.attrReader) else {
                throw .invalidArgument("\(where_): cannot tell how many outputs \(ir.op) has from its attributes")
            }
            var start = 0
            for (arg, count) in zip(definition.outputs, counts) {
                node.outputArgs[arg.name] = (start, count)
                start += count
            }
            node.outputCount = start
        } else {
            missing.record(ir.op, at: where_)
        }
        nodes.append(node)
        memo[key] = id
        pending.append((id, scope, ir))
        return id
    }

    /// Records unsupported ops inside the functions a While/If node runs, which are compiled only when the
    /// evaluator reaches the node, so that one load error lists them with the rest.
    private mutating func scanBranchFunctions(of ir: IRNode, depth: Int) {
        guard depth <= Self.maximumCallDepth else { return }
        for attr in Self.branchAttributes {
            guard case .function(let name)? = ir.attrs[attr], !scannedFunctions.contains(name),
                  let function = graph.functions[name] else { continue }
            scannedFunctions.insert(name)
            for nodeName in function.nodes.keys.sorted() {
                guard let inner = function.nodes[nodeName] else { continue }
                if let called = calledFunction(inner), let callee = graph.functions[called] {
                    scanBranchFunctions(of: IRNode(name: nodeName, op: "Call", attrs: ["f": .function(callee.name)]),
                                        depth: depth + 1)
                } else if OpDefTable.definition(inner.op) != nil {
                    scanBranchFunctions(of: inner, depth: depth + 1)
                } else {
                    missing.record(inner.op, at: "function '\(name)' node '\(nodeName)'")
                }
            }
        }
    }

    private mutating func edge(_ text: String, scope: Int, consumer: String) throws(ServingError) -> Edge {
        if text.hasPrefix("^") {
            let name = String(text.dropFirst())
            if scopes[scope].function != nil, scopes[scope].arguments[name] != nil { return .none }
            return .control(try flatNode(scope: scope, name: name, referencedFrom: consumer))
        }
        guard scopes[scope].function != nil else {
            let tensor = TensorName(parsing: text)
            return .data(ValueRef(node: try flatNode(scope: scope, name: tensor.node, referencedFrom: consumer),
                                  output: tensor.index))
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1, let argument = scopes[scope].arguments[text] { return .data(argument) }
        guard parts.count <= 3, let nodeName = parts.first, !nodeName.isEmpty else {
            throw .invalidArgument("\(consumer): malformed input '\(text)'")
        }
        let producer = try flatNode(scope: scope, name: nodeName, referencedFrom: consumer)
        if parts.count == 1 { return .data(ValueRef(node: producer, output: 0)) }
        if parts.count == 2, let index = Int(parts[1]), index >= 0 {
            return .data(ValueRef(node: producer, output: index))
        }
        let index: Int
        if parts.count == 3 {
            guard let parsed = Int(parts[2]), parsed >= 0 else { throw .invalidArgument("\(consumer): malformed input '\(text)'") }
            index = parsed
        } else {
            index = 0
        }
        if nodes[producer].outputCount == nil { return .data(ValueRef(node: producer, output: index)) }
        guard let arg = nodes[producer].outputArgs[parts[1]] else {
            throw .invalidArgument("\(consumer): input '\(text)' names output '\(parts[1])', which \(nodes[producer].op) does not have")
        }
        guard index < arg.count else {
            throw .invalidArgument("\(consumer): input '\(text)' is out of range (output '\(parts[1])' has \(arg.count) tensors)")
        }
        return .data(ValueRef(node: producer, output: arg.start + index))
    }

    private mutating func expand(_ id: Int, scope: Int, ir: IRNode) throws(ServingError) {
        let consumer = nodes[id].location
        var data: [ValueRef] = []
        var control: [Int] = []
        for input in ir.inputs {
            switch try edge(input, scope: scope, consumer: consumer) {
            case .data(let ref): data.append(ref)
            case .control(let node): control.append(node)
            case .none: break
            }
        }
        guard nodes[id].kind == .forward, let functionName = calledFunction(ir),
              let function = graph.functions[functionName]
        else {
            nodes[id].inputs = data
            nodes[id].controlInputs = control
            if !scopes[scope].entryControl.isEmpty, readsOnlyArguments(ir, scope: scope) {
                nodes[id].controlInputs += scopes[scope].entryControl
            }
            return
        }
        guard data.count == function.inputArgs.count else {
            throw .invalidArgument("\(consumer) passes \(data.count) inputs to function '\(functionName)', which takes \(function.inputArgs.count)")
        }
        let depth = scopes[scope].depth + 1
        guard depth <= Self.maximumCallDepth else {
            throw .invalidArgument("\(consumer): function calls nest deeper than \(Self.maximumCallDepth) (recursive function '\(functionName)'?)")
        }
        var arguments: [String: ValueRef] = [:]
        for (name, ref) in zip(function.inputArgs, data) { arguments[name] = ref }
        var entryControl: [Int] = []
        if ordersCallBodies {
            entryControl = control
            for node in scopes[scope].entryControl where !entryControl.contains(node) { entryControl.append(node) }
        }
        scopes.append(Scope(function: function, arguments: arguments, depth: depth, entryControl: entryControl))
        let inner = scopes.count - 1
        let innerConsumer = "function '\(functionName)' return value"
        var results: [ValueRef] = []
        for output in function.outputArgs {
            guard let reference = function.ret[output] else {
                throw .invalidArgument("function '\(functionName)' does not say what its output '\(output)' returns")
            }
            guard case .data(let ref) = try edge(reference, scope: inner, consumer: innerConsumer) else {
                throw .invalidArgument("function '\(functionName)' output '\(output)' is not a tensor ('\(reference)')")
            }
            results.append(ref)
        }
        for name in function.controlRet.keys.sorted() {
            if let nodeName = function.controlRet[name] {
                control.append(try flatNode(scope: inner, name: nodeName, referencedFrom: innerConsumer))
            }
        }
        nodes[id].inputs = results
        nodes[id].controlInputs = control
    }

    /// Whether every input of `ir` (data or control) is an argument of its function scope.
    private func readsOnlyArguments(_ ir: IRNode, scope: Int) -> Bool {
        let arguments = scopes[scope].arguments
        return ir.inputs.allSatisfy { input in
            arguments[input.hasPrefix("^") ? String(input.dropFirst()) : input] != nil
        }
    }

    private func topologicalOrder() throws(ServingError) -> [Int] {
        var consumers = [[Int]](repeating: [], count: nodes.count)
        var waiting = [Int](repeating: 0, count: nodes.count)
        for (id, node) in nodes.enumerated() {
            for producer in node.inputs.map(\.node) + node.controlInputs {
                consumers[producer].append(id)
                waiting[id] += 1
            }
        }
        var ready = (0..<nodes.count).filter { waiting[$0] == 0 }
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        while let next = ready.popLast() {
            order.append(next)
            for consumer in consumers[next] {
                waiting[consumer] -= 1
                if waiting[consumer] == 0 { ready.append(consumer) }
            }
        }
        guard order.count == nodes.count else {
            let stuck = nodes.indices.first { waiting[$0] > 0 }.map { nodes[$0].location } ?? "unknown"
            throw .invalidArgument("the graph has a cycle through \(stuck); loops other than While are not supported")
        }
        return order
    }
}
