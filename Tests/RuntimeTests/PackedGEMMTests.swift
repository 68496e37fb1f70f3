import Foundation
@testable import Runtime
import SavedModel
import Tensors
import Testing

/// The packed AVX2/FMA GEMM and the fused convolution/MatMul steps, against plain reference loops.
@Suite struct PackedGEMMTests {
    private func random(_ count: Int, seed: inout UInt64) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 40) % 2000 - 1000) / 500
        }
    }

    private func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    /// Within 2·10⁻⁶ of `scale` (the largest magnitude among the outputs) plus 10⁻⁵ relative.
    private func closeAtScale(_ a: [Float], _ b: [Float], scale: Float) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 2e-6 * max(1, scale) + 1e-5 * abs($1) }
    }

    private func conv(strides: Int, dilations: Int, padding: String) throws -> Conv2DKernel {
        let definition = try #require(OpDefTable.definition("Conv2D"))
        let values: [String: NodeAttr] = [
            "strides": .list([1, strides, strides, 1].map { .int(Int64($0)) }),
            "dilations": .list([1, dilations, dilations, 1].map { .int(Int64($0)) }),
            "padding": .string(Array(padding.utf8)),
        ]
        return try Conv2DKernel(attrs: AttrReader(attrs: values, defaults: definition.defaults, location: "node 'test'"))
    }

    /// Direct NHWC convolution, `activation(conv(x, f) * scale + shift)`.
    private func referenceConvolution(
        _ x: [Float], _ xShape: (Int, Int, Int, Int), _ f: [Float], _ fShape: (Int, Int, Int, Int),
        stride: Int, dilation: Int, same: Bool, scale: [Float], shift: [Float], relu: Bool
    ) -> (values: [Float], shape: Shape) {
        let (n, h, w, c) = xShape, (kh, kw, _, o) = fShape
        let rows = windowGeometry(input: h, window: kh, stride: stride, dilation: dilation, same: same)
        let cols = windowGeometry(input: w, window: kw, stride: stride, dilation: dilation, same: same)
        var out = [Float](repeating: 0, count: n * rows.output * cols.output * o)
        for b in 0..<n { for oy in 0..<rows.output { for ox in 0..<cols.output { for oc in 0..<o {
            var sum: Float = 0
            for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * stride + ky * dilation - rows.padBefore, ix = ox * stride + kx * dilation - cols.padBefore
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for ic in 0..<c { sum += x[((b * h + iy) * w + ix) * c + ic] * f[((ky * kw + kx) * c + ic) * o + oc] }
            } }
            let value = sum * scale[oc] + shift[oc]
            out[((b * rows.output + oy) * cols.output + ox) * o + oc] = relu ? max(value, 0) : value
        } } } }
        return (out, [n, rows.output, cols.output, o])
    }

    @Test(arguments: [(1, 1, "SAME"), (2, 1, "SAME"), (1, 2, "SAME"), (1, 1, "VALID"), (2, 1, "VALID")])
    func foldedConvolutionMatchesReference(_ setup: (Int, Int, String)) throws {
        let (stride, dilation, padding) = setup
        var seed: UInt64 = 11
        // 21 output channels: one full panel of 16 and a partial one; 7×9 images give partial row tiles.
        let xShape = (2, 7, 9, 3), fShape = (3, 3, 3, 21)
        let x = random(2 * 7 * 9 * 3, seed: &seed), f = random(3 * 3 * 3 * 21, seed: &seed)
        let scale = random(21, seed: &seed), shift = random(21, seed: &seed)
        let kernel = try conv(strides: stride, dilations: dilation, padding: padding)
        let scaled = Tensor((0..<f.count).map { f[$0] * scale[$0 % 21] }, shape: [3, 3, 3, 21])
        let fused = FusedConv2DKernel(conv: kernel, filter: scaled,
                                      epilogue: GEMMEpilogue(biasValues: shift.map { Double($0) }, activation: .relu))
        let result = try fused.run([Tensor(x, shape: [2, 7, 9, 3])])[0]
        let expected = referenceConvolution(x, xShape, f, fShape, stride: stride, dilation: dilation, same: padding == "SAME",
                                            scale: scale, shift: shift, relu: true)
        #expect(result.shape == expected.shape)
        #expect(close(result.scalars(as: Float.self), expected.values))
        #expect(fused.packed != nil || !PackedWeights.isSupported)
        let plain = try kernel.run([Tensor(x, shape: [2, 7, 9, 3]), Tensor(f, shape: [3, 3, 3, 21])])[0]
        let unscaled = referenceConvolution(x, xShape, f, fShape, stride: stride, dilation: dilation, same: padding == "SAME",
                                            scale: [Float](repeating: 1, count: 21), shift: [Float](repeating: 0, count: 21), relu: false)
        #expect(close(plain.scalars(as: Float.self), unscaled.values))
    }

    /// Winograd F(2×2, 3×3) against the direct reference: odd and even sizes (tiles cut at the bottom and
    /// right edges), SAME and VALID, several tile blocks (the 9×11 batch of 5 has 150 tiles), bias, relu
    /// and a residual; a 5×5 filter or stride 2 keeps the direct route.
    @Test(arguments: [((1, 4, 4, 8), 8, "SAME"), ((2, 7, 9, 16), 24, "SAME"), ((5, 9, 11, 8), 16, "VALID"),
                      ((3, 6, 5, 32), 64, "SAME"), ((1, 3, 3, 8), 8, "VALID"), ((1, 1, 1, 8), 8, "SAME")])
    func winogradConvolutionMatchesReference(_ setup: ((Int, Int, Int, Int), Int, String)) throws {
        let (xShape, o, padding) = setup
        let (n, h, w, c) = xShape
        var seed: UInt64 = UInt64(n * 1000 + h * 100 + w * 10 + c)
        let x = random(n * h * w * c, seed: &seed), f = random(9 * c * o, seed: &seed)
        let shift = random(o, seed: &seed)
        let kernel = try conv(strides: 1, dilations: 1, padding: padding)
        let epilogue = GEMMEpilogue(biasValues: shift.map { Double($0) }, activation: .relu)
        let winograd = FusedConv2DKernel(conv: kernel, filter: Tensor(f, shape: [3, 3, c, o]), epilogue: epilogue)
        let direct = FusedConv2DKernel(conv: kernel, filter: Tensor(f, shape: [3, 3, c, o]), epilogue: epilogue, winograd: false)
        guard PackedWeights.isSupported else {
            #expect(winograd.packed == nil)
            return
        }
        #expect(winograd.packed?.isWinograd == true)
        #expect(direct.packed?.isWinograd == false)
        let expected = referenceConvolution(x, xShape, f, (3, 3, c, o), stride: 1, dilation: 1, same: padding == "SAME",
                                            scale: [Float](repeating: 1, count: o), shift: shift, relu: true)
        let image = Tensor(x, shape: [n, h, w, c])
        let result = try winograd.run([image])[0]
        #expect(result.shape == expected.shape)
        // Sums of 9·c products: rounding grows with the largest outputs, not with each output.
        let scale = expected.values.map(abs).max() ?? 1
        #expect(closeAtScale(result.scalars(as: Float.self), expected.values, scale: scale))
        #expect(closeAtScale(result.scalars(as: Float.self), try direct.run([image])[0].scalars(as: Float.self), scale: scale))

        let residualKernel = FusedConv2DKernel(conv: kernel, filter: Tensor(f, shape: [3, 3, c, o]), epilogue: epilogue,
                                               addsResidual: true)
        let residual = Tensor(random(expected.shape.elementCount, seed: &seed), shape: expected.shape)
        let withResidual = try residualKernel.run([image, residual])[0].scalars(as: Float.self)
        let unfused = referenceConvolution(x, xShape, f, (3, 3, c, o), stride: 1, dilation: 1, same: padding == "SAME",
                                           scale: [Float](repeating: 1, count: o), shift: shift, relu: false).values
        let summed = zip(unfused, residual.scalars(as: Float.self)).map { max($0 + $1, 0) }
        #expect(closeAtScale(withResidual, summed, scale: scale))
    }

    /// A packed MatMul keeps no other copy of its weights: they can be rebuilt exactly from the panels, and
    /// operands the packed kernel cannot take fail with MatMul's own message.
    @Test(arguments: [false, true])
    func packedMatMulKeepsOnlyThePackedCopy(_ transposed: Bool) throws {
        var seed: UInt64 = transposed ? 5 : 6
        let shape: Shape = transposed ? [21, 37] : [37, 21]
        let weights = Tensor(random(37 * 21, seed: &seed), shape: shape)
        let matMul = MatMulKernel(transposeA: false, transposeB: transposed)
        let fused = FusedMatMulKernel(matMul: matMul, weights: weights, epilogue: GEMMEpilogue(biasValues: [], activation: .none))
        guard let packed = fused.packed else {
            #expect(!PackedWeights.isSupported)
            return
        }
        #expect(packed.matrix(transposed: transposed)?.shape == shape)
        #expect(fused.weights?.scalars(as: Float.self) == weights.scalars(as: Float.self))
        for operand in [Tensor(random(2 * 36, seed: &seed), shape: [2, 36]), Tensor([Double](repeating: 1, count: 37), shape: [1, 37]),
                        Tensor(random(37, seed: &seed), shape: [37])] {
            var expected = ""
            do { _ = try matMul.run([operand, weights]) } catch { expected = error.message }
            #expect(!expected.isEmpty)
            #expect(throws: ServingError.self) { _ = try fused.run([operand]) }
            do { _ = try fused.run([operand]) } catch { #expect(error.message == expected) }
        }
    }

    /// Keras exports `serve` and `serving_default` over one function: their fused steps use the same packed
    /// weights instead of one copy each.
    @Test func signaturesOfOneFunctionSharePackedWeights() throws {
        let bundle = try SavedModelBundle.load(directory: Fixtures.modelsDirectory + "/residual_block_keras3/1")
        let model = try CompiledModel.compile(bundle)
        func packed(_ key: String) throws -> [ObjectIdentifier] {
            try #require(model.signatures[key]).plan.steps.compactMap { step -> PackedWeights? in
                (step.kernel as? FusedConv2DKernel)?.packed ?? (step.kernel as? FusedMatMulKernel)?.packed
            }.map(ObjectIdentifier.init)
        }
        let serve = try packed("serve"), servingDefault = try packed("serving_default")
        guard PackedWeights.isSupported else {
            #expect(serve.isEmpty)
            return
        }
        #expect(serve.count == 5)
        #expect(Set(serve).count == 5)
        #expect(serve == servingDefault)
    }

    @Test func otherConvolutionsKeepTheDirectRoute() throws {
        var seed: UInt64 = 3
        let strided = FusedConv2DKernel(conv: try conv(strides: 2, dilations: 1, padding: "SAME"),
                                        filter: Tensor(random(9 * 8 * 8, seed: &seed), shape: [3, 3, 8, 8]),
                                        epilogue: GEMMEpilogue(biasValues: [], activation: .none))
        let wide = FusedConv2DKernel(conv: try conv(strides: 1, dilations: 1, padding: "SAME"),
                                     filter: Tensor(random(25 * 8 * 8, seed: &seed), shape: [5, 5, 8, 8]),
                                     epilogue: GEMMEpilogue(biasValues: [], activation: .none))
        let narrow = FusedConv2DKernel(conv: try conv(strides: 1, dilations: 1, padding: "SAME"),
                                       filter: Tensor(random(9 * 3 * 8, seed: &seed), shape: [3, 3, 3, 8]),
                                       epilogue: GEMMEpilogue(biasValues: [], activation: .none))
        for kernel in [strided, wide, narrow] { #expect(kernel.packed?.isWinograd != true) }
    }

    @Test(arguments: [(1, 5, 3), (2, 40, 17), (4, 784, 37), (6, 16, 16), (8, 64, 256), (13, 300, 40), (64, 9, 1)])
    func packedMatMulMatchesOpenBLAS(_ setup: (Int, Int, Int)) throws {
        let (m, k, n) = setup
        var seed = UInt64(m * 1000 + k + n)
        let a = Tensor(random(m * k, seed: &seed), shape: [m, k])
        for transposed in [false, true] {
            let values = random(k * n, seed: &seed)
            let weights = Tensor(values, shape: transposed ? [n, k] : [k, n])
            let matMul = MatMulKernel(transposeA: false, transposeB: transposed)
            let bias = random(n, seed: &seed)
            let expected = try UnaryKernel<Relu6Function>(op: "Relu6").run([
                try BiasAddKernel(channelsFirst: false).run([try matMul.run([a, weights])[0], Tensor(bias, shape: [n])])[0],
            ])[0]
            let fused = FusedMatMulKernel(matMul: matMul, weights: weights,
                                          epilogue: GEMMEpilogue(bias: Tensor(bias, shape: [n]), activation: .relu6))
            #expect(fused.packed != nil || !PackedWeights.isSupported)
            let result = try fused.run([a])[0]
            #expect(result.shape == [m, n])
            // Sums of up to 784 products in another order: compare at 1e-4.
            #expect(close(result.scalars(as: Float.self), expected.scalars(as: Float.self), tolerance: 1e-4))
        }
    }

    @Test func packedEpiloguesKeepNaNAndApplySigmoidAfter() throws {
        let a = Tensor([Float(-1), 2, 3, -4, 0.5, 1], shape: [3, 2])
        let weights = Tensor([Float(1), 0, 0, 1], shape: [2, 2])
        let bias = Tensor([Float.nan, 0.5], shape: [2])
        let matMul = MatMulKernel(transposeA: false, transposeB: false)
        let relu = try FusedMatMulKernel(matMul: matMul, weights: weights, epilogue: GEMMEpilogue(bias: bias, activation: .relu))
            .run([a])[0].scalars(as: Float.self)
        #expect(relu.count == 6)
        #expect([relu[0], relu[2], relu[4]].allSatisfy { $0.isNaN })
        #expect([relu[1], relu[3], relu[5]] == [2.5, 0, 1.5])
        let sigmoid = try FusedMatMulKernel(matMul: matMul, weights: weights, epilogue: GEMMEpilogue(bias: nil, activation: .sigmoid))
            .run([a])[0].scalars(as: Float.self)
        #expect(close(sigmoid, [-1, 2, 3, -4, 0.5, 1].map { 1 / (1 + exp(-$0)) }))
    }

    @Test func batchNormalisationAfterConvolutionFoldsIntoOneStep() throws {
        var seed: UInt64 = 5
        let filter = Tensor(random(3 * 3 * 2 * 4, seed: &seed), shape: [3, 3, 2, 4])
        let multiplier = Tensor(random(4, seed: &seed), shape: [4])
        let offset = Tensor(random(4, seed: &seed), shape: [4])
        let kernel = try conv(strides: 1, dilations: 1, padding: "SAME")
        // slots: 0 image, 1 filter, 2 conv, 3 multiplier, 4 scaled, 5 offset, 6 shifted, 7 relu
        let steps = [
            PlanStep(kernel: kernel, inputs: [0, 1], outputs: [2], releases: [], location: "conv"),
            PlanStep(kernel: BinaryKernel<MultiplyFunction>(op: "Mul"), inputs: [2, 3], outputs: [4], releases: [], location: "mul"),
            PlanStep(kernel: BinaryKernel<AddFunction>(op: "AddV2"), inputs: [5, 4], outputs: [6], releases: [], location: "add"),
            PlanStep(kernel: UnaryKernel<ReluFunction>(op: "Relu"), inputs: [6], outputs: [7], releases: [], location: "relu"),
        ]
        let fused = EpilogueFusion.fuse(steps, constants: PlanConstants(tensors: [1: filter, 3: multiplier, 5: offset]), protected: [7])
        #expect(fused.count == 1)
        #expect(fused.first?.inputs == [0])
        #expect(fused.first?.outputs == [7])
        let image = Tensor(random(1 * 5 * 4 * 2, seed: &seed), shape: [1, 5, 4, 2])
        var separate = try kernel.run([image, filter])[0]
        separate = try BinaryKernel<MultiplyFunction>(op: "Mul").run([separate, multiplier])[0]
        separate = try BinaryKernel<AddFunction>(op: "AddV2").run([offset, separate])[0]
        separate = try UnaryKernel<ReluFunction>(op: "Relu").run([separate])[0]
        let result = try #require(fused.first).kernel.run([image])[0]
        #expect(close(result.scalars(as: Float.self), separate.scalars(as: Float.self)))
    }

    @Test func residualAdditionAndReluJoinTheConvolution() throws {
        var seed: UInt64 = 9
        let filter = Tensor(random(3 * 3 * 4 * 4, seed: &seed), shape: [3, 3, 4, 4])
        let multiplier = Tensor(random(4, seed: &seed), shape: [4])
        let kernel = try conv(strides: 1, dilations: 1, padding: "SAME")
        // slots: 0 image, 1 filter, 2 conv, 3 multiplier, 4 scaled, 5 shortcut (computed after the conv), 6 sum, 7 relu
        let steps = [
            PlanStep(kernel: kernel, inputs: [0, 1], outputs: [2], releases: [], location: "conv"),
            PlanStep(kernel: BinaryKernel<MultiplyFunction>(op: "Mul"), inputs: [2, 3], outputs: [4], releases: [], location: "mul"),
            PlanStep(kernel: UnaryKernel<TanhFunction>(op: "Tanh"), inputs: [0], outputs: [5], releases: [], location: "shortcut"),
            PlanStep(kernel: BinaryKernel<AddFunction>(op: "AddV2"), inputs: [5, 4], outputs: [6], releases: [], location: "add"),
            PlanStep(kernel: UnaryKernel<ReluFunction>(op: "Relu"), inputs: [6], outputs: [7], releases: [], location: "relu"),
        ]
        let fused = EpilogueFusion.fuse(steps, constants: PlanConstants(tensors: [1: filter, 3: multiplier]), protected: [7])
        #expect(fused.map(\.location) == ["shortcut", "conv + mul + add + relu"])
        let last = try #require(fused.last)
        #expect(last.inputs == [0, 5] && last.outputs == [7])
        for shape: Shape in [[2, 5, 6, 4], [1, 3, 3, 4]] {
            let image = Tensor(random(shape.elementCount, seed: &seed), shape: shape)
            let shortcut = try UnaryKernel<TanhFunction>(op: "Tanh").run([image])[0]
            var separate = try kernel.run([image, filter])[0]
            separate = try BinaryKernel<MultiplyFunction>(op: "Mul").run([separate, multiplier])[0]
            separate = try BinaryKernel<AddFunction>(op: "AddV2").run([shortcut, separate])[0]
            separate = try UnaryKernel<ReluFunction>(op: "Relu").run([separate])[0]
            let result = try last.kernel.run([image, shortcut])[0]
            #expect(result.shape == separate.shape)
            #expect(close(result.scalars(as: Float.self), separate.scalars(as: Float.self)))
            // A residual that only broadcasts to the output takes the unfused route with the same result.
            let row = Tensor(random(4, seed: &seed), shape: [4])
            let broadcast = try last.kernel.run([image, row])[0]
            var expected = try kernel.run([image, filter])[0]
            expected = try BinaryKernel<MultiplyFunction>(op: "Mul").run([expected, multiplier])[0]
            expected = try BinaryKernel<AddFunction>(op: "AddV2").run([expected, row])[0]
            expected = try UnaryKernel<ReluFunction>(op: "Relu").run([expected])[0]
            #expect(close(broadcast.scalars(as: Float.self), expected.scalars(as: Float.self)))
        }
    }

    @Test func sharedIntermediatesAreNotFused() throws {
        let filter = Tensor([Float](repeating: 0.5, count: 2 * 3), shape: [1, 1, 2, 3])
        let multiplier = Tensor([Float(1), 2, 3], shape: [3])
        let kernel = try conv(strides: 1, dilations: 1, padding: "VALID")
        let steps = [
            PlanStep(kernel: kernel, inputs: [0, 1], outputs: [2], releases: [], location: "conv"),
            PlanStep(kernel: BinaryKernel<MultiplyFunction>(op: "Mul"), inputs: [2, 3], outputs: [4], releases: [], location: "mul"),
            PlanStep(kernel: BinaryKernel<AddFunction>(op: "AddV2"), inputs: [2, 4], outputs: [5], releases: [], location: "add"),
        ]
        let fused = EpilogueFusion.fuse(steps, constants: PlanConstants(tensors: [1: filter, 3: multiplier]), protected: [5])
        // The convolution output is read twice, so the Mul stays a separate step.
        #expect(fused.map(\.location).contains("mul"))
        #expect(fused.count == 3)
    }
}

@Suite struct ResidualReluFusionTests {
    @Test func additionFollowedByReluBecomesOneStep() throws {
        let steps = [
            PlanStep(kernel: BinaryKernel<AddFunction>(op: "AddV2"), inputs: [0, 1], outputs: [2], releases: [], location: "add"),
            PlanStep(kernel: UnaryKernel<ReluFunction>(op: "Relu"), inputs: [2], outputs: [3], releases: [], location: "relu"),
        ]
        let fused = EpilogueFusion.fuse(steps, constants: PlanConstants(tensors: [:]), protected: [3])
        #expect(fused.count == 1)
        let step = try #require(fused.first)
        #expect(step.inputs == [0, 1] && step.outputs == [3])
        let a = Tensor([Float(1), -2, .nan, 4, -0.5, 0], shape: [2, 3])
        let b = Tensor([Float(-3), 1, 0.25], shape: [3])
        let result = try step.kernel.run([a, b])[0].scalars(as: Float.self)
        #expect(result[2].isNaN)
        #expect(result[0] == 0 && result[1] == 0 && result[3] == 1 && result[4] == 0.5 && result[5] == 0.25)
        // An addition read by another step as well keeps its own output.
        let shared = steps + [PlanStep(kernel: IdentityKernel(), inputs: [2], outputs: [4], releases: [], location: "copy")]
        #expect(EpilogueFusion.fuse(shared, constants: PlanConstants(tensors: [:]), protected: [3, 4]).count == 3)
    }
}
