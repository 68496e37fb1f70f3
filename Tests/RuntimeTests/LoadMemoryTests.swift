import Foundation
@testable import Runtime
import SavedModel
import Tensors
import Testing

/// Loading reads a checkpoint tensor only when its values are needed, and the raw tensors of packed
/// weights are released as soon as they are packed, so a load holds little more than the model it makes.
@Suite struct LoadMemoryTests {
    private static let directory = Fixtures.modelsDirectory + "/mlp_keras3/1"

    @Test func bindingLeavesEveryRestoredVariableInTheCheckpoint() throws {
        let bundle = try SavedModelBundle.load(directory: Self.directory)
        let store = try VariableBinder(bundle: bundle, graph: CompiledModel.decodedGraph(bundle)).bind()
        let stored = try #require(store.stored)
        #expect(store.values.count == 12)
        for (key, value) in store.values {
            guard case .stored(let entry) = value else {
                Issue.record("variable '\(key)' was read while binding")
                continue
            }
            #expect(stored.reads(of: entry.key) == 0)
        }
    }

    /// Keras exports `serve` and `serving_default` over one function, and a second set of variables holding
    /// the same values that no signature reads: each kernel the function reads is read once for both
    /// signatures, the second set is never read, and while both plans are alive no raw tensor is referenced.
    @Test func packedWeightsAreReadOnceAndKeepNoRawCopy() throws {
        try #require(PackedWeights.isSupported)
        let bundle = try SavedModelBundle.load(directory: Self.directory)
        let graph = try CompiledModel.decodedGraph(bundle)
        let store = try VariableBinder(bundle: bundle, graph: graph).bind()
        let stored = try #require(store.stored)
        let compiler = SignatureCompiler(graph: graph, store: store)
        var plans: [ExecutionPlan] = []
        for key in bundle.signatures.keys.sorted() {
            let spec = try #require(bundle.signatures[key])
            guard case .plan(let plan) = try compiler.compile(spec) else {
                Issue.record("signature '\(key)' did not compile")
                return
            }
            plans.append(plan)
        }
        #expect(plans.count == 2)
        for plan in plans {
            let packed = plan.steps.compactMap { ($0.kernel as? FusedMatMulKernel)?.packed }
            #expect(packed.count == 3)
            #expect(plan.template.allSatisfy { $0 == nil })
        }

        var kernels: [Int] = [], biases: [Int] = []
        for value in store.values.values {
            guard case .stored(let entry) = value else { continue }
            if entry.shape.rank == 2 { kernels.append(stored.reads(of: entry.key)) } else { biases.append(stored.reads(of: entry.key)) }
        }
        #expect(kernels.sorted() == [0, 0, 0, 1, 1, 1])
        #expect(biases.count == 6)
        #expect(biases.filter { $0 == 0 }.count == 3)
        #expect(stored.heldKeys.isEmpty)
        withExtendedLifetime(plans) {}
    }

    @Test func aCompiledModelKeepsNothingOfTheCheckpoint() throws {
        weak var checkpoint: CheckpointReader?
        let model = try { () throws -> CompiledModel in
            let bundle = try SavedModelBundle.load(directory: Self.directory)
            checkpoint = bundle.checkpoint
            return try CompiledModel.compile(bundle)
        }()
        #expect(model.signatures.count == 2)
        #expect(checkpoint == nil)
    }
}
