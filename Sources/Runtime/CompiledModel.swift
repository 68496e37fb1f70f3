import SavedModel
import Tensors

/// A SavedModel turned into executable plans, one per signature. Variables are bound once at compile time
/// (restore op, init op, object graph) and folded into the plans as constants, except those a signature
/// assigns: the model owns their values (`MutableVariable`), which its signatures read and write as they run.
/// A variable restored from the checkpoint is read only when a signature needs its values, and weights that
/// are packed keep no other copy.
public final class CompiledModel: Sendable {
    /// Compiled signatures by key (`serving_default`, ...).
    public let signatures: [String: CompiledSignature]
    /// The values of `mutableVariableNames`, owned by this model.
    let variables: [String: MutableVariable]

    /// Op types the runtime can execute (for `inspect`-style reports).
    public static var supportedOps: [String] { OpDefTable.supportedOps }

    /// The variables some signature assigns, whose values change as the model serves, sorted.
    public var mutableVariableNames: [String] { variables.keys.sorted() }

    private init(signatures: [String: CompiledSignature], variables: [String: MutableVariable]) {
        self.signatures = signatures
        self.variables = variables
    }

    /// Binds variables and compiles every signature of `bundle`. Fails with one message listing every
    /// unsupported op (with where it is used) if any signature needs one.
    public static func compile(_ bundle: SavedModelBundle, options: RuntimeOptions = .init()) throws(ServingError) -> CompiledModel {
        var missing = MissingOps()
        var signatures: [String: CompiledSignature] = [:]
        let compilation = try compileEach(bundle, options: options)
        for (key, outcome) in compilation.outcomes {
            switch outcome {
            case .compiled(let signature): signatures[key] = signature
            case .missing(let ops): missing.merge(ops, prefix: "signature '\(key)' ")
            case .failed(let error): throw ServingError(error.code, "signature '\(key)': \(error.message)")
            }
        }
        if !missing.isEmpty { throw .unimplemented(missing.message) }
        return CompiledModel(signatures: signatures, variables: compilation.variables)
    }

    /// What compiling one signature on its own gave.
    enum SignatureOutcome {
        case compiled(CompiledSignature)
        case missing(MissingOps)
        case failed(ServingError)
    }

    /// Every signature's outcome, in key order, and the variables the signatures assign.
    struct Compilation {
        var outcomes: [(String, SignatureOutcome)]
        var variables: [String: MutableVariable]
    }

    /// Binds variables once, then compiles each signature of `bundle` on its own, in key order; a
    /// signature that cannot be compiled does not stop the others. Throws only when the variables
    /// cannot be bound.
    ///
    /// Which variables are mutable is known only once every signature has been compiled, so a
    /// compilation that finds assignments to variables not yet mutable makes them mutable and compiles
    /// again the signatures that folded in or assigned any of them. Models no signature of which
    /// assigns a variable compile once.
    static func compileEach(_ bundle: SavedModelBundle, options: RuntimeOptions = .init()) throws(ServingError)
        -> Compilation {
        IntraOpThreads.configure(options.intraOpThreads)
        let graph = try decodedGraph(bundle)
        var store = try VariableBinder(bundle: bundle, graph: graph).bind()
        let keys = bundle.signatures.keys.sorted()
        var outcomes: [String: SignatureOutcome] = [:]
        var touched: [String: Set<String>] = [:]
        var pending = keys
        while !pending.isEmpty {
            let compiler = SignatureCompiler(graph: graph, store: store, options: options)
            var assigned = Set<String>()
            for key in pending {
                guard let spec = bundle.signatures[key] else { continue }
                let access = VariableAccess()
                do throws(ServingError) {
                    switch try compiler.compile(spec, access: access) {
                    case .plan(let plan): outcomes[key] = .compiled(CompiledSignature(spec: spec, plan: plan))
                    case .missing(let ops): outcomes[key] = .missing(ops)
                    }
                } catch {
                    outcomes[key] = .failed(error)
                }
                touched[key] = access.touched
                assigned.formUnion(access.assigned)
            }
            let discovered = assigned.subtracting(store.mutable.keys)
            for key in discovered { store.mutable[key] = MutableVariable(key: key, value: try store.values[key]?.tensor()) }
            pending = discovered.isEmpty ? [] : keys.filter { !(touched[$0] ?? []).isDisjoint(with: discovered) }
        }
        store.packing.clear()
        return Compilation(outcomes: keys.compactMap { key in outcomes[key].map { (key, $0) } }, variables: store.mutable)
    }

    /// For each signature of `bundle`, the op types its outputs reach (through inlined function calls)
    /// that the runtime cannot execute, sorted; empty when every op has a kernel. Only the graph is
    /// walked: nothing is bound or compiled. A signature whose graph cannot be walked (a missing node,
    /// say) maps to the error's message instead.
    public static func unsupportedOps(_ bundle: SavedModelBundle) -> [String: Result<[String], ServingError>] {
        let graph: IRGraph
        do throws(ServingError) {
            graph = try decodedGraph(bundle)
        } catch {
            return bundle.signatures.mapValues { _ in .failure(error) }
        }
        var report: [String: Result<[String], ServingError>] = [:]
        for (key, spec) in bundle.signatures {
            do throws(ServingError) {
                let inputs = spec.inputs.values.map { TensorName(parsing: $0.tensorName) }
                var flattener = GraphFlattener(graph: graph, feeds: inputs)
                for output in spec.outputs.values {
                    _ = try flattener.root(tensor: TensorName(parsing: output.tensorName))
                }
                _ = try flattener.finish()
                report[key] = .success(flattener.missing.opNames)
            } catch {
                report[key] = .failure(error)
            }
        }
        return report
    }

    /// The bundle's graph and function library in the runtime's form.
    static func decodedGraph(_ bundle: SavedModelBundle) throws(ServingError) -> IRGraph {
        do throws(ServingError) {
            return try GraphWireDecoder.graph(bundle.serializedGraphDef)
        } catch {
            throw .dataLoss("SavedModel \(bundle.directory): graph_def: \(error.message)")
        }
    }
}
