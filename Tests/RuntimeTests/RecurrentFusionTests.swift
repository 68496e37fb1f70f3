import CKernels
import Foundation
@testable import Runtime
import SavedModel
import Tensors
import Testing

/// Recognition of Keras recurrent loops and the fused kernel that replaces them, checked against the
/// While loop it stands for.
@Suite struct RecurrentFusionTests {
    private static func plan(_ fixture: String) throws -> ExecutionPlan {
        let bundle = try SavedModelBundle.load(directory: Fixtures.modelsDirectory + "/\(fixture)/1")
        let model = try CompiledModel.compile(bundle)
        return try #require(model.signatures["serving_default"]).plan
    }

    private static func loops(_ plan: ExecutionPlan) -> (fused: [(PlanStep, RecurrentLoopKernel)], unfused: Int) {
        var fused: [(PlanStep, RecurrentLoopKernel)] = []
        var unfused = 0
        for step in plan.steps {
            if let kernel = step.kernel as? RecurrentLoopKernel { fused.append((step, kernel)) }
            if step.kernel is WhileKernel { unfused += 1 }
        }
        return (fused, unfused)
    }

    @Test(arguments: [("lstm_keras3", 2), ("bidirectional_lstm_keras3", 4)])
    func lstmLoopsBecomeOneStep(_ fixture: String, _ count: Int) throws {
        let (fused, unfused) = Self.loops(try Self.plan(fixture))
        #expect(fused.count == count)
        #expect(unfused == 0)
        #expect(fused.allSatisfy { if case .lstm = $0.1.cell { true } else { false } })
    }

    @Test func sequenceAndLastStateLayersWriteWhereTheLoopDid() throws {
        let (fused, _) = Self.loops(try Self.plan("lstm_keras3"))
        let positions = fused.map { step -> String in
            switch step.1.layout.outputPosition {
            case .time: "time"
            case .fixed(let index): "fixed \(index)"
            }
        }
        #expect(positions.sorted() == ["fixed 0", "time"])
    }

    @Test func gruWithResetAfterIsFusedAndWithoutItIsNot() throws {
        let (fused, unfused) = Self.loops(try Self.plan("gru_keras3"))
        #expect(fused.count == 1)
        #expect(fused.allSatisfy { if case .gru = $0.1.cell { true } else { false } })
        #expect(unfused == 1)
    }

    @Test func tfKerasLSTMAndGRUAreFused() throws {
        let (fused, unfused) = Self.loops(try Self.plan("lstm_tf_keras"))
        #expect(fused.map { "\($0.1.cell)" }.sorted() == ["gru", "lstm"])
        #expect(unfused == 0)
    }

    @Test(arguments: ["lstm_masked_keras3", "simple_rnn_keras3"])
    func otherLoopsKeepTheirWhileStep(_ fixture: String) throws {
        let (fused, unfused) = Self.loops(try Self.plan(fixture))
        #expect(fused.isEmpty)
        #expect(unfused >= 1)
    }

    /// Loop inputs for `kernel` as the plan would pass them: the plan's constants where it has them,
    /// otherwise random [batch, inputSize] steps (`sequenceLength` of them, or as many as a constant bound
    /// of the cond asks for), random states and counters at zero.
    private static func loopInputs(_ step: PlanStep, _ kernel: RecurrentLoopKernel, plan: ExecutionPlan,
                                   batch: Int, sequenceLength: Int, seed: UInt64) throws -> [Tensor] {
        var generator = SeededGenerator(seed: seed)
        var sequenceLength = sequenceLength
        for limit in kernel.layout.limits {
            if case .constant(let bound) = limit.bound { sequenceLength = bound }
        }
        func random(_ shape: Shape) -> Tensor {
            Tensor((0..<shape.elementCount).map { _ in Float.random(in: -2...2, using: &generator) }, shape: shape)
        }
        let layout = kernel.layout, units = kernel.weights.units
        var inputs: [Tensor] = []
        for (index, slot) in step.inputs.prefix(kernel.layout.variableCount).enumerated() {
            if let constant = plan.template[slot] {
                inputs.append(constant)
            } else if index == layout.inputSequence {
                let elements = (0..<sequenceLength).map { _ -> Tensor? in random([batch, kernel.weights.inputSize]) }
                inputs.append(TensorList(elementDType: .float32, elementShape: [-1, kernel.weights.inputSize],
                                         elements: elements).tensor)
            } else if index == layout.outputSequence {
                let length: Int
                if case .fixed = layout.outputPosition { length = 1 } else { length = sequenceLength }
                inputs.append(TensorList(elementDType: .float32, elementShape: [-1, units],
                                         elements: [Tensor?](repeating: nil, count: length)).tensor)
            } else if index == layout.hiddenState || index == layout.cellState {
                inputs.append(random([batch, units]))
            } else if layout.limits.contains(where: { if case .variable(index) = $0.bound { true } else { false } }) {
                inputs.append(Tensor(scalar: Int32(sequenceLength)))
            } else {
                inputs.append(Tensor(scalar: Int32(0)))
            }
        }
        return inputs
    }

    private static func expectClose(_ actual: [Tensor], _ expected: [Tensor], _ context: String) throws {
        try #require(actual.count == expected.count)
        for (index, (a, e)) in zip(actual, expected).enumerated() {
            #expect(a.dtype == e.dtype, "\(context) output \(index)")
            switch e.dtype {
            case .variant:
                let listA = try a.tensorList("test"), listE = try e.tensorList("test")
                try #require(listA.elements.count == listE.elements.count, "\(context) output \(index) length")
                #expect(listA.elementShape == listE.elementShape)
                for (elementA, elementE) in zip(listA.elements, listE.elements) {
                    #expect((elementA == nil) == (elementE == nil), "\(context) output \(index) element set")
                    if let elementA, let elementE { try expectClose([elementA], [elementE], "\(context) list \(index)") }
                }
            case .float32:
                #expect(a.shape == e.shape, "\(context) output \(index)")
                let (absolute, relative, ok) = Fixtures.compare(a, e)
                #expect(ok, "\(context) output \(index): max abs \(absolute), rel \(relative)")
            case .int32:
                #expect(a.scalars(as: Int32.self) == e.scalars(as: Int32.self), "\(context) output \(index)")
            default:
                break
            }
        }
    }

    @Test(arguments: ["lstm_keras3", "gru_keras3", "lstm_tf_keras", "bidirectional_lstm_keras3"])
    func fusedKernelComputesWhatTheLoopComputes(_ fixture: String) throws {
        let plan = try Self.plan(fixture)
        for (number, (step, kernel)) in Self.loops(plan).fused.enumerated() {
            for (batch, length) in [(1, 1), (1, 33), (3, 40), (9, 7)] {
                let inputs = try Self.loopInputs(step, kernel, plan: plan, batch: batch, sequenceLength: length,
                                                 seed: UInt64(number * 100 + batch * 10 + length))
                let steps = try inputs[kernel.layout.inputSequence].tensorList("test").elements.count
                #expect(kernel.prepare(inputs)?.iterations == steps)
                try Self.expectClose(try kernel.run(inputs), try kernel.loop.run(inputs),
                                     "\(fixture) loop \(number) batch \(batch) length \(length)")
            }
        }
    }

    /// With two kernel threads the batch's row groups run whole sequences on their own threads: the same
    /// bits as one thread, and what the While loop computes.
    @Test(arguments: ["lstm_keras3", "gru_keras3", "bidirectional_lstm_keras3"])
    func rowGroupsOnTwoThreadsComputeTheSameBits(_ fixture: String) throws {
        guard PackedWeights.isSupported else { return }
        let plan = try Self.plan(fixture)
        let before = pg_worker_chunks()
        for (number, (step, kernel)) in Self.loops(plan).fused.enumerated() {
            for (batch, length) in [(1501, 12), (1500, 7)] {
                let inputs = try Self.loopInputs(step, kernel, plan: plan, batch: batch, sequenceLength: length,
                                                 seed: UInt64(number * 1000 + batch + length))
                let steps = try #require(kernel.prepare(inputs)).iterations
                #expect(steps * batch * kernel.weights.units * kernel.weights.gateWidth >= 1 << 18, "too small to split")
                IntraOpThreads.configure(1)
                let single = try kernel.run(inputs)
                IntraOpThreads.configure(2)
                let split = try kernel.run(inputs)
                IntraOpThreads.configure(1)
                let context = "\(fixture) loop \(number) batch \(batch)"
                for (a, b) in zip(single, split) where a.dtype == .float32 {
                    #expect(a.scalars(as: Float.self) == b.scalars(as: Float.self), "\(context)")
                }
                let listA = try single[kernel.layout.outputSequence].tensorList("test")
                let listB = try split[kernel.layout.outputSequence].tensorList("test")
                #expect(zip(listA.elements, listB.elements).allSatisfy { $0?.scalars(as: Float.self) == $1?.scalars(as: Float.self) })
                try Self.expectClose(split, try kernel.loop.run(inputs), context)
                // A worker that has not woken yet leaves its rows to the caller, so give it a few runs.
                for _ in 0..<100 where pg_worker_chunks() == before {
                    IntraOpThreads.configure(2)
                    _ = try kernel.run(inputs)
                }
                IntraOpThreads.configure(1)
            }
        }
        #expect(pg_worker_chunks() > before)
    }

    @Test func loopStartingPartWayRunsTheRemainingSteps() throws {
        let plan = try Self.plan("lstm_keras3")
        for (step, kernel) in Self.loops(plan).fused {
            var inputs = try Self.loopInputs(step, kernel, plan: plan, batch: 2, sequenceLength: 5, seed: 7)
            inputs[kernel.layout.time] = Tensor(scalar: Int32(3))
            #expect(kernel.prepare(inputs)?.iterations == 2)
            try Self.expectClose(try kernel.run(inputs), try kernel.loop.run(inputs), "from time 3")
            inputs[kernel.layout.time] = Tensor(scalar: Int32(5))
            #expect(kernel.prepare(inputs)?.iterations == 0)
            try Self.expectClose(try kernel.run(inputs), try kernel.loop.run(inputs), "from the end")
        }
    }

    @Test func unusualInputsRunTheLoopItself() throws {
        let plan = try Self.plan("lstm_keras3")
        let (step, kernel) = try #require(Self.loops(plan).fused.first)
        let inputs = try Self.loopInputs(step, kernel, plan: plan, batch: 2, sequenceLength: 4, seed: 11)

        var unset = inputs
        var list = try inputs[kernel.layout.inputSequence].tensorList("test")
        list.elements[2] = nil
        list.elementShape = [2, kernel.weights.inputSize]
        unset[kernel.layout.inputSequence] = list.tensor
        #expect(kernel.prepare(unset) == nil)
        try Self.expectClose(try kernel.run(unset), try kernel.loop.run(unset), "unset element")

        var wide = inputs
        wide[kernel.layout.hiddenState] = Tensor([Float](repeating: 0, count: 2 * (kernel.weights.units + 1)),
                                                  shape: [2, kernel.weights.units + 1])
        #expect(kernel.prepare(wide) == nil)
        #expect(throws: ServingError.self) { _ = try kernel.run(wide) }

        var short = inputs
        list = try inputs[kernel.layout.inputSequence].tensorList("test")
        list.elements.removeLast()
        short[kernel.layout.inputSequence] = list.tensor
        #expect(kernel.prepare(short) == nil)
        #expect(throws: ServingError.self) { _ = try kernel.run(short) }
    }

    @Test func loopsOverAnEmbeddingLookUpProjectedRows() throws {
        let plan = try Self.plan("embedding_rnn_keras3")
        let fused = Self.loops(plan).fused
        #expect(fused.map { "\($0.1.cell)" }.sorted() == ["gru", "lstm"])
        for (step, kernel) in fused {
            let embedding = try #require(kernel.embedding, "\(step.location)")
            #expect(embedding.vocabulary == 25)
            #expect(step.inputs.count == kernel.layout.variableCount + 1)
        }
        for (fixture, _) in [("lstm_keras3", 0), ("lstm_masked_keras3", 0)] {
            #expect(Self.loops(try Self.plan(fixture)).fused.allSatisfy { $0.1.embedding == nil }, "\(fixture)")
        }
    }

    @Test func signaturesOfOneFunctionShareProjectedTables() throws {
        let bundle = try SavedModelBundle.load(directory: Fixtures.modelsDirectory + "/embedding_rnn_keras3/1")
        let model = try CompiledModel.compile(bundle)
        func tables(_ key: String) throws -> [ObjectIdentifier] {
            Self.loops(try #require(model.signatures[key]).plan).fused.compactMap { $0.1.embedding?.table }.map(ObjectIdentifier.init)
        }
        let serve = try tables("serve")
        #expect(serve.count == 2)
        #expect(Set(serve).count == 2)
        #expect(serve.sorted { $0.hashValue < $1.hashValue } == (try tables("serving_default")).sorted { $0.hashValue < $1.hashValue })
    }

    /// The lookup path against the projecting path on the same sequence: the loop inputs are built from
    /// the embedding the way the plan builds them, then run with and without the token ids.
    @Test func projectedRowsMatchProjectingTheGatheredSequence() throws {
        let plan = try Self.plan("embedding_rnn_keras3")
        for (number, (step, kernel)) in Self.loops(plan).fused.enumerated() {
            let embedding = try #require(kernel.embedding)
            let inputSize = kernel.weights.inputSize
            let table = try #require(plan.steps.lazy.compactMap { candidate -> Tensor? in
                guard candidate.kernel is GatherKernel, let table = plan.template[candidate.inputs[0]],
                      table.shape == [embedding.vocabulary, inputSize] else { return nil }
                return table
            }.first).scalars(as: Float.self)
            for (batch, length) in [(1, 7), (3, 7), (8, 30)] {
                var generator = SeededGenerator(seed: UInt64(number * 10 + batch))
                let tokens = (0..<(batch * length)).map { _ in Int32.random(in: 0..<25, using: &generator) }
                var inputs = try Self.loopInputs(step, kernel, plan: plan, batch: batch, sequenceLength: length,
                                                 seed: UInt64(batch))
                let elements = (0..<length).map { time -> Tensor? in
                    let rows = (0..<batch).flatMap { row -> ArraySlice<Float> in
                        let token = Int(tokens[row * length + time])
                        return table[(token * inputSize)..<((token + 1) * inputSize)]
                    }
                    return Tensor(Array(rows), shape: [batch, inputSize])
                }
                inputs[kernel.layout.inputSequence] = TensorList(
                    elementDType: .float32, elementShape: [-1, inputSize], elements: elements).tensor
                let ids = Tensor(tokens, shape: [batch, length])
                let prepared = try #require(kernel.prepare(inputs))
                #expect(kernel.tokens(ids, prepared) == tokens.map(Int.init))
                #expect(kernel.tokens(Tensor(tokens.map(Int64.init), shape: [batch, length]), prepared) != nil)
                let looked = try kernel.run(inputs + [ids])
                try Self.expectClose(looked, try kernel.run(inputs), "loop \(number) batch \(batch)")
                try Self.expectClose(looked, try kernel.loop.run(inputs), "loop \(number) batch \(batch) vs While")
                var outOfRange = tokens
                outOfRange[0] = 25
                try Self.expectClose(try kernel.run(inputs + [Tensor(outOfRange, shape: [batch, length])]),
                                     try kernel.run(inputs), "ids out of range project the sequence")
                try Self.expectClose(try kernel.run(inputs + [Tensor(tokens, shape: [batch * length])]),
                                     try kernel.run(inputs), "ids of another shape project the sequence")
            }
        }
    }

    @Test func cellActivationsStayCloseToTheExactFunctions() {
        var inputs: [Float] = [0, -0, 1e-30, -1e-30, 1e-8, 0.0004, -0.0004, 9, -9, 18, -18, 87, -87, 100, -100, 1e30, -1e30,
                               .infinity, -.infinity, .leastNonzeroMagnitude]
        var x: Float = -30
        while x <= 30 {
            inputs.append(x)
            x += 0.000_731
        }
        var sigmoid = [Float](repeating: 0, count: inputs.count), tanh = sigmoid
        rc_sigmoid(Int32(inputs.count), inputs, &sigmoid)
        rc_tanh(Int32(inputs.count), inputs, &tanh)
        var sigmoidError = 0.0, tanhError = 0.0
        for (index, input) in inputs.enumerated() {
            let value = Double(input)
            let exactSigmoid = 1 / (1 + Foundation.exp(-value)), exactTanh = Foundation.tanh(value)
            #expect((0...1).contains(sigmoid[index]), "sigmoid(\(input)) = \(sigmoid[index])")
            sigmoidError = max(sigmoidError, abs(Double(sigmoid[index]) - exactSigmoid))
            tanhError = max(tanhError, abs(Double(tanh[index]) - exactTanh) / max(abs(exactTanh), 1e-30))
        }
        #expect(sigmoidError < 2.5e-7, "sigmoid absolute error \(sigmoidError)")
        #expect(tanhError < 4e-7, "tanh relative error \(tanhError)")
        let nan: [Float] = [.nan, 1, .nan]
        var result = [Float](repeating: 0, count: 3)
        rc_sigmoid(3, nan, &result)
        #expect(result[0].isNaN && result[2].isNaN && !result[1].isNaN)
        rc_tanh(3, nan, &result)
        #expect(result[0].isNaN && result[2].isNaN && !result[1].isNaN)
    }
}

/// A small deterministic generator (SplitMix64) so the random inputs are the same on every run.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
