import SavedModel
import Tensors

/// A SavedModel turned into executable plans, one per signature. Variables are bound once at compile time
/// (restore op, init op, object graph) and folded into the plans as constants.
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
        IntraOpThreads.configure(options.intraOpThreads)
        let graph = IRGraph(proto: bundle.metaGraph.graphDef)
        let store = try VariableBinder(bundle: bundle, graph: graph).bind()
        let compiler = SignatureCompiler(graph: graph, store: store, checkpoint: bundle.checkpoint, options: options)
        var missing = MissingOps()
        var signatures: [String: CompiledSignature] = [:]
        for key in bundle.signatures.keys.sorted() {
            guard let spec = bundle.signatures[key] else { continue }
            let outcome: SignatureCompiler.Outcome
            do {
                outcome = try compiler.compile(spec)
            } catch {
                throw ServingError(error.code, "signature '\(key)': \(error.message)")
            }
            switch outcome {
            case .plan(let plan): signatures[key] = CompiledSignature(spec: spec, plan: plan)
            case .missing(let ops): missing.merge(ops, prefix: "signature '\(key)' ")
            }
        }
        store.packing.clear()
        if !missing.isEmpty { throw .unimplemented(missing.message) }
        return CompiledModel(signatures: signatures)
    }
}
