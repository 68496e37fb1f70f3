import CKernels
import Dispatch
@testable import Runtime
import Tensors
import Testing

/// The packed kernels split one call between threads: the results are the same bits whatever the thread
/// count, the workers really take part, and callers running at the same time share the pool safely.
/// (Whole recurrent layers split by row groups are checked in RecurrentFusionTests.)
@Suite(.serialized) struct KernelThreadsTests {
    private func random(_ count: Int, seed: inout UInt64) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 40) % 2000 - 1000) / 500
        }
    }

    private func conv(strides: Int, padding: String) throws -> Conv2DKernel {
        let definition = try #require(OpDefTable.definition("Conv2D"))
        let values: [String: NodeAttr] = [
            "strides": .list([1, strides, strides, 1].map { .int(Int64($0)) }),
            "padding": .string(Array(padding.utf8)),
        ]
        return try Conv2DKernel(attrs: AttrReader(attrs: values, defaults: definition.defaults, location: "node 'test'"))
    }

    /// The outputs of `run` with the kernels on 1 thread and on `threads`.
    private func withThreads(_ threads: Int, _ run: () throws -> [Float]) rethrows -> (single: [Float], split: [Float]) {
        IntraOpThreads.configure(1)
        let single = try run()
        IntraOpThreads.configure(threads)
        defer { IntraOpThreads.configure(1) }
        return (single, try run())
    }

    private func denseKernel(k: Int, n: Int, seed: inout UInt64) -> FusedMatMulKernel {
        let weights = Tensor(random(k * n, seed: &seed), shape: [k, n])
        let bias = Tensor(random(n, seed: &seed), shape: [n])
        return FusedMatMulKernel(matMul: MatMulKernel(transposeA: false, transposeB: false), weights: weights,
                                 epilogue: GEMMEpilogue(bias: bias, activation: .relu))
    }

    /// Row counts that split by rows and by column panels, with partial row groups and panels.
    @Test(arguments: [(1, 2), (7, 2), (13, 3), (64, 2), (61, 3)])
    func denseResultsDoNotDependOnThreads(_ setup: (Int, Int)) throws {
        let (m, threads) = setup
        var seed = UInt64(m * 31 + threads)
        let kernel = denseKernel(k: 300, n: 90, seed: &seed)
        try #require(kernel.packed != nil || !PackedWeights.isSupported)
        let a = Tensor(random(m * 300, seed: &seed), shape: [m, 300])
        let outputs = try withThreads(threads) { try kernel.run([a])[0].scalars(as: Float.self) }
        #expect(outputs.single == outputs.split)
        #expect(outputs.single.count == m * 90)
    }

    /// Direct convolutions (stride 2, SAME and VALID) and Winograd ones (tile counts that are and are not
    /// multiples of the six-row group, one image and several).
    @Test(arguments: [((2, 17, 19, 16), 24, 2, "SAME"), ((2, 17, 19, 16), 24, 2, "VALID"),
                      ((3, 14, 13, 16), 64, 1, "SAME"), ((1, 8, 8, 64), 64, 1, "SAME"), ((1, 11, 9, 32), 32, 1, "VALID")])
    func convolutionResultsDoNotDependOnThreads(_ setup: ((Int, Int, Int, Int), Int, Int, String)) throws {
        let ((n, h, w, c), o, stride, padding) = setup
        var seed = UInt64(n * 1000 + h * 100 + w + c)
        let filter = Tensor(random(9 * c * o, seed: &seed), shape: [3, 3, c, o])
        let kernel = FusedConv2DKernel(conv: try conv(strides: stride, padding: padding), filter: filter,
                                       epilogue: GEMMEpilogue(biasValues: random(o, seed: &seed).map { Double($0) }, activation: .relu))
        #expect(kernel.packed?.isWinograd == (stride == 1) || !PackedWeights.isSupported)
        let image = Tensor(random(n * h * w * c, seed: &seed), shape: [n, h, w, c])
        for threads in [2, 3] {
            let outputs = try withThreads(threads) { try kernel.run([image])[0].scalars(as: Float.self) }
            #expect(outputs.single == outputs.split)
        }
    }

    /// A fused LSTM or GRU timestep (the piece each row group of a recurrent layer runs on its thread)
    /// gives the bits of the packed product and the gate functions run one after the other, on one thread
    /// and on two (where a large product, as for one row with many units, splits by column panels).
    @Test(arguments: [(16, 64, true), (25, 64, false), (64, 32, true), (61, 40, false), (1, 256, true), (1, 296, false)])
    func recurrentStepsAreTheProductThenTheGates(_ setup: (Int, Int, Bool)) throws {
        guard PackedWeights.isSupported else { return }
        let (rows, units, isLSTM) = setup
        let gates = (isLSTM ? 4 : 3) * units
        var seed = UInt64(rows * 100 + units)
        let kernel = random(units * gates, seed: &seed)
        var packed = [Float](repeating: 0, count: pg_packed_size(Int32(units), Int32(gates)))
        pg_pack_weights(kernel, Int32(units), Int32(gates), Int32(gates), 0, &packed)
        let inputs = random(rows * gates, seed: &seed), hidden = random(rows * units, seed: &seed)
        let initialCell = random(rows * units, seed: &seed)
        let inputBias = random(gates, seed: &seed), recurrentBias = random(gates, seed: &seed)

        func fused() -> [Float] {
            var cell = initialCell, next = [Float](repeating: 0, count: rows * units)
            var recurrent = [Float](repeating: 0, count: rows * gates)
            let status = inputs.withUnsafeBufferPointer { input in
                let rowPointers = (0..<rows).map { row in input.baseAddress.map { $0 + row * gates } }
                return isLSTM
                    ? rc_lstm_step(Int32(rows), Int32(units), rowPointers, hidden, packed, &recurrent, inputBias, &cell, &next)
                    : rc_gru_step(Int32(rows), Int32(units), rowPointers, inputBias, hidden, packed, &recurrent, recurrentBias, &next)
            }
            return status == 0 ? next + cell : []
        }

        IntraOpThreads.configure(1)
        var cell = initialCell, expected = [Float](repeating: 0, count: rows * units)
        var recurrent = [Float](repeating: 0, count: rows * gates)
        #expect(pg_gemm_dense(Int32(rows), Int32(gates), Int32(units), hidden, Int32(units), packed, nil, nil, 0, &recurrent) == 0)
        inputs.withUnsafeBufferPointer { input in
            let rowPointers = (0..<rows).map { row in input.baseAddress.map { $0 + row * gates } }
            if isLSTM {
                rc_lstm_rows(Int32(rows), Int32(units), rowPointers, recurrent, inputBias, &cell, &expected)
            } else {
                rc_gru_rows(Int32(rows), Int32(units), rowPointers, inputBias, recurrent, recurrentBias, hidden, &expected)
            }
        }
        let outputs = withThreads(2) { fused() }
        #expect(outputs.single == expected + cell)
        #expect(outputs.split == expected + cell)
    }

    @Test func workerThreadsTakePart() throws {
        guard PackedWeights.isSupported else { return }
        var seed: UInt64 = 5
        let kernel = denseKernel(k: 512, n: 256, seed: &seed)
        let a = Tensor(random(64 * 512, seed: &seed), shape: [64, 512])
        let before = pg_worker_chunks()
        // A worker that has not woken yet leaves its chunk to the caller, so give it a few calls.
        for _ in 0..<200 where pg_worker_chunks() == before {
            IntraOpThreads.configure(2)
            _ = try kernel.run([a])
        }
        IntraOpThreads.configure(1)
        #expect(pg_worker_chunks() > before)
    }

    /// Four callers at once with two threads: one has the pool at a time, the others run alone, and every
    /// result is the single-thread one.
    @Test func concurrentCallersShareThePool() throws {
        var seed: UInt64 = 9
        let kernel = denseKernel(k: 384, n: 128, seed: &seed)
        let inputs = (0..<4).map { _ in Tensor(random(30 * 384, seed: &seed), shape: [30, 384]) }
        IntraOpThreads.configure(1)
        let expected = try inputs.map { try kernel.run([$0])[0].scalars(as: Float.self) }
        IntraOpThreads.configure(2)
        defer { IntraOpThreads.configure(1) }
        let mismatches = Mutexed(0)
        DispatchQueue.concurrentPerform(iterations: inputs.count * 25) { index in
            let slot = index % inputs.count
            let output = (try? kernel.run([inputs[slot]])[0].scalars(as: Float.self)) ?? []
            if output != expected[slot] { mismatches.increment() }
        }
        #expect(mismatches.value == 0)
    }
}
