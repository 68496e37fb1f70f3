import SavedModel
import Tensors

/// A SavedModel turned into executable plans, one per signature. Variables are bound once at compile time
/// (restore op, init op, object graph) and folded into the plans as constants; a variable restored from the
/// checkpoint is read only when a signature needs its values, and weights that are packed keep no other copy.
public final class CompiledModel: Sendable {
    /// Compiled signatures by key (`serving_default`, ...).
    public let signatures: [String: CompiledSignature]

    /// Op types the runtime can execute (for `inspect`-style reports).
    public static var supportedOps: [String] { OpDefTable.supportedOps }

    private init(signatures: [String: CompiledSignature]) {
        self.signatures = signatures
    }

    /// Binds variables and compiles every signature of `bundle`. Fails with one message listing every
    /// unsupported op (with where it is used) if any signature needs one.
    public static func compile(_ bundle: SavedModelBundle, options: RuntimeOptions = .init()) throws(ServingError) -> CompiledModel {
        var missing = MissingOps()
        var signatures: [String: CompiledSignature] = [:]
        for (key, outcome) in try compileEach(bundle, options: options) {
            switch outcome {
            case .compiled(let signature): signatures[key] = signature
            case .missing(let ops): missing.merge(ops, prefix: "signature '\(key)' ")
            case .failed(let error): throw ServingError(error.code, "signature '\(key)': \(error.message)")
            }
        }
        if !missing.isEmpty { throw .unimplemented(missing.message) }
        return CompiledModel(signatures: signatures)
    }

    /// What compiling one signature on its own gave.
    enum SignatureOutcome {
        case compiled(CompiledSignature)
        case missing(MissingOps)
        case failed(ServingError)
    }

    /// Binds variables once, then compiles each signature of `bundle` on its own, in key order; a
    /// signature that cannot be compiled does not stop the others. Throws only when the variables
    /// cannot be bound.
    static func compileEach(_ bundle: SavedModelBundle, options: RuntimeOptions = .init()) throws(ServingError)
        -> [(String, SignatureOutcome)] {
        IntraOpThreads.configure(options.intraOpThreads)
        let graph = IRGraph(proto: bundle.metaGraph.graphDef)
        let store = try VariableBinder(bundle: bundle, graph: graph).bind()
        let compiler = SignatureCompiler(graph: graph, store: store, options: options)
        var outcomes: [(String, SignatureOutcome)] = []
        for key in bundle.signatures.keys.sorted() {
            guard let spec = bundle.signatures[key] else { continue }
            do throws(ServingError) {
                switch try compiler.compile(spec) {
                case .plan(let plan): outcomes.append((key, .compiled(CompiledSignature(spec: spec, plan: plan))))
                case .missing(let ops): outcomes.append((key, .missing(ops)))
                }
            } catch {
                outcomes.append((key, .failed(error)))
            }
        }
        store.packing.clear()
        return outcomes
    }

    /// For each signature of `bundle`, the op types its outputs reach (through inlined function calls)
    /// that the runtime cannot execute, sorted; empty when every op has a kernel. Only the graph is
    /// walked: nothing is bound or compiled. A signature whose graph cannot be walked (a missing node,
    /// say) maps to the error's message instead.
    public static func unsupportedOps(_ bundle: SavedModelBundle) -> [String: Result<[String], ServingError>] {
        let graph = IRGraph(proto: bundle.metaGraph.graphDef)
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
}

