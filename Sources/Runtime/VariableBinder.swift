import Foundation
import SavedModel
import Tensors
import TFProtos

/// Gives every variable a value at load time: runs the restore op (`saver_def`), then the init op, then
/// fills captured variable handles nobody assigned from the object graph (`bound_inputs` ⇄ the checkpoint's
/// `_CHECKPOINTABLE_OBJECT_GRAPH`).
struct VariableBinder {
    static let objectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH"

    let bundle: SavedModelBundle
    let graph: IRGraph

    func bind() throws(ServingError) -> VariableStore {
        var store = VariableStore(checkpoint: bundle.checkpoint)
        let metaGraph = bundle.metaGraph
        let saver = metaGraph.saverDef
        if metaGraph.hasSaverDef, !saver.restoreOpName.isEmpty, bundle.checkpoint != nil {
            let filename = TensorName(parsing: saver.filenameTensorName)
            let prefix = Tensor(strings: [Array(bundle.variablesPrefix.utf8)], shape: .scalar)
            store = try run(node: TensorName(parsing: saver.restoreOpName).node, what: "restore op",
                            feeds: saver.filenameTensorName.isEmpty ? [:] : [filename: prefix], store: store)
        }
        if let initOp = initOpName() {
            store = try run(node: initOp, what: "init op", feeds: try assetFeeds(), store: store)
        }
        try fillFromObjectGraph(&store)
        return store
    }

    /// The graph tensors that hold asset file names, fed with their paths under this export's `assets/`.
    private func assetFeeds() throws(ServingError) -> [TensorName: Tensor] {
        var feeds: [TensorName: Tensor] = [:]
        for asset in bundle.metaGraph.assetFileDef where !asset.tensorInfo.name.isEmpty {
            let components = asset.filename.split(separator: "/", omittingEmptySubsequences: false)
            guard !asset.filename.isEmpty, !asset.filename.hasPrefix("/"), !components.contains("..") else {
                throw .invalidArgument("asset file name '\(asset.filename)' must be a path inside assets/")
            }
            let path = bundle.assetsDirectory + "/" + asset.filename
            feeds[TensorName(parsing: asset.tensorInfo.name)] = Tensor(strings: [Array(path.utf8)], shape: .scalar)
        }
        return feeds
    }

    private func initOpName() -> String? {
        let metaGraph = bundle.metaGraph
        if let signature = metaGraph.signatureDef[SavedModelBundle.initOpSignatureKey],
           let output = signature.outputs.values.first, !output.name.isEmpty {
            return TensorName(parsing: output.name).node
        }
        for collection in ["saved_model_main_op", "legacy_init_op"] {
            if let first = metaGraph.collectionDef[collection]?.nodeList.value.first, !first.isEmpty {
                return TensorName(parsing: first).node
            }
        }
        return nil
    }

    private func run(node: String, what: String, feeds: [TensorName: Tensor], store: VariableStore) throws(ServingError) -> VariableStore {
        do throws(ServingError) {
            var flattener = GraphFlattener(graph: graph, feeds: Array(feeds.keys))
            _ = try flattener.root(node: node)
            let flat = try flattener.finish()
            if !flattener.missing.isEmpty { throw .unimplemented(flattener.missing.message) }
            var fedValues: [ValueRef: GraphEvaluator.Value] = [:]
            for (tensor, value) in feeds {
                if let ref = flattener.fedValue(tensor) { fedValues[ref] = .tensor(value) }
            }
            var evaluator = GraphEvaluator(graph: flat, store: store, allowsAssignments: true, feeds: fedValues,
                                           reservedSlots: 0)
            try evaluator.evaluate()
            return evaluator.store
        } catch {
            throw ServingError(error.code, "\(what) '\(node)': \(error.message)")
        }
    }

    private func fillFromObjectGraph(_ store: inout VariableStore) throws(ServingError) {
        let metaGraph = bundle.metaGraph
        guard metaGraph.hasObjectGraphDef, let checkpoint = bundle.checkpoint, let stored = store.stored else { return }
        let functions = metaGraph.objectGraphDef.concreteFunctions
        var unassigned: [(key: String, nodeID: Int)] = []
        for node in graph.nodes.values.sorted(by: { $0.name < $1.name }) where OpDefTable.callOps.contains(node.op) {
            guard case .function(let name) = node.attrs["f"], let concrete = functions[name], !concrete.boundInputs.isEmpty
            else { continue }
            let data = node.inputs.filter { !$0.hasPrefix("^") }
            guard data.count >= concrete.boundInputs.count else { continue }
            for (input, nodeID) in zip(data.suffix(concrete.boundInputs.count), concrete.boundInputs) {
                guard let key = variableKey(TensorName(parsing: input).node), store.values[key] == nil else { continue }
                unassigned.append((key, Int(nodeID)))
            }
        }
        guard !unassigned.isEmpty else { return }
        let trackable = try trackableObjectGraph(checkpoint)
        for (key, nodeID) in unassigned where store.values[key] == nil {
            guard nodeID >= 0, nodeID < trackable.nodes.count else {
                throw .dataLoss("object graph: bound input \(nodeID) for variable '\(key)' is outside the checkpoint's object graph (\(trackable.nodes.count) nodes)")
            }
            guard let attribute = trackable.nodes[nodeID].attributes.first(where: { $0.name == "VARIABLE_VALUE" }) else {
                continue
            }
            do {
                store.values[key] = .stored(try stored.stored(attribute.checkpointKey))
            } catch {
                throw ServingError(error.code, "object graph: restoring variable '\(key)' from '\(attribute.checkpointKey)': \(error.message)")
            }
        }
    }

    /// The store key of the variable a top-level node yields, looking through Identity nodes.
    private func variableKey(_ name: String) -> String? {
        var current = name
        for _ in 0..<16 {
            guard let node = graph.nodes[current] else { return nil }
            switch node.op {
            case "VarHandleOp", "VariableV2", "Variable":
                if case .string(let bytes) = node.attrs["shared_name"], !bytes.isEmpty {
                    return String(decoding: bytes, as: UTF8.self)
                }
                return node.name
            case "Identity":
                guard let input = node.inputs.first(where: { !$0.hasPrefix("^") }) else { return nil }
                current = TensorName(parsing: input).node
            default:
                return nil
            }
        }
        return nil
    }

    private func trackableObjectGraph(_ checkpoint: CheckpointReader) throws(ServingError) -> Tensorflow_TrackableObjectGraph {
        guard checkpoint.entry(forKey: Self.objectGraphKey) != nil else {
            throw .failedPrecondition("variables captured by signatures were not restored and the checkpoint has no \(Self.objectGraphKey)")
        }
        let tensor = try checkpoint.tensor(forKey: Self.objectGraphKey)
        guard let bytes = tensor.strings?.first else {
            throw .dataLoss("checkpoint entry \(Self.objectGraphKey) is not a string tensor")
        }
        do {
            return try Tensorflow_TrackableObjectGraph(serializedBytes: Data(bytes))
        } catch {
            throw .dataLoss("checkpoint entry \(Self.objectGraphKey) is not a valid TrackableObjectGraph: \(error)")
        }
    }
}
