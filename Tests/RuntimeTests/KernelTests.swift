import Foundation
@testable import Runtime
import Tensors
import Testing

@Suite struct KernelTests {
    private func random(_ count: Int, seed: inout UInt64) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 40) % 2000 - 1000) / 250
        }
    }

    @Test(arguments: [(false, false, 5), (true, false, 5), (false, true, 5), (true, true, 5),
                      (false, false, 1), (true, false, 1), (false, true, 1), (true, true, 1)])
    func matMulMatchesNaiveLoop(_ transposes: (Bool, Bool, Int)) throws {
        let (ta, tb, m) = transposes
        let k = 7, n = 3
        var seed: UInt64 = 42
        let a = random(m * k, seed: &seed), b = random(k * n, seed: &seed)
        let aShape: Shape = ta ? [k, m] : [m, k]
        let bShape: Shape = tb ? [n, k] : [k, n]
        let result = try MatMulKernel(transposeA: ta, transposeB: tb).run([Tensor(a, shape: aShape), Tensor(b, shape: bShape)])[0]
        #expect(result.shape == [m, n])
        let values = result.scalars(as: Float.self)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let av = ta ? a[p * m + i] : a[i * k + p]
                    let bv = tb ? b[j * k + p] : b[p * n + j]
                    sum += av * bv
                }
                #expect(abs(values[i * n + j] - sum) <= 1e-4 * max(1, abs(sum)))
            }
        }
    }

    @Test func matMulDoubleAndInteger() throws {
        let a = Tensor([1.0, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([7.0, 8, 9, 10, 11, 12], shape: [3, 2])
        let d = try MatMulKernel(transposeA: false, transposeB: false).run([a, b])[0]
        #expect(d.scalars(as: Double.self) == [58, 64, 139, 154])
        let ia = Tensor([Int32(1), 2, 3, 4, 5, 6], shape: [2, 3])
        let ib = Tensor([Int32(7), 8, 9, 10, 11, 12], shape: [3, 2])
        let i = try MatMulKernel(transposeA: false, transposeB: false).run([ia, ib])[0]
        #expect(i.scalars(as: Int32.self) == [58, 64, 139, 154])
    }

    @Test func matMulRejectsMismatchedDimensions() {
        let a = Tensor([Float](repeating: 1, count: 6), shape: [2, 3])
        #expect(throws: ServingError.self) {
            _ = try MatMulKernel(transposeA: false, transposeB: false).run([a, a])
        }
    }

    @Test func softmaxRowsSumToOneAndMatchFormula() throws {
        let logits: [Float] = [1, 2, 3, -1, 0, 1000, 0.5, 0.5, 0.5]
        let result = try SoftmaxKernel(logarithmic: false).run([Tensor(logits, shape: [3, 3])])[0]
        let values = result.scalars(as: Float.self)
        for row in 0..<3 {
            let slice = Array(logits[(row * 3)..<(row * 3 + 3)])
            let maximum = slice.max() ?? 0
            let exps = slice.map { Foundation.exp(Double($0 - maximum)) }
            let total = exps.reduce(0, +)
            var sum: Float = 0
            for j in 0..<3 {
                sum += values[row * 3 + j]
                #expect(abs(Double(values[row * 3 + j]) - exps[j] / total) < 1e-6)
            }
            #expect(abs(sum - 1) < 1e-6)
        }
    }

    @Test func biasAddBroadcastsOverChannels() throws {
        let value = Tensor((0..<12).map(Float.init), shape: [2, 2, 3])
        let bias = Tensor([Float(100), 200, 300], shape: [3])
        let last = try BiasAddKernel(channelsFirst: false).run([value, bias])[0]
        #expect(last.scalars(as: Float.self) == (0..<12).map { Float($0) + [100, 200, 300][$0 % 3] })
        let channelsFirst = Tensor((0..<12).map(Float.init), shape: [2, 3, 2])
        let first = try BiasAddKernel(channelsFirst: true).run([channelsFirst, bias])[0]
        #expect(first.scalars(as: Float.self) == (0..<12).map { Float($0) + [100, 200, 300][($0 / 2) % 3] })
        #expect(throws: ServingError.self) {
            _ = try BiasAddKernel(channelsFirst: false).run([value, Tensor([Float(1), 2], shape: [2])])
        }
    }

    @Test func binaryBroadcasting() throws {
        let a = Tensor([Float(1), 2, 3], shape: [3, 1])
        let b = Tensor([Float(10), 20], shape: [1, 2])
        let sum = try BinaryKernel<AddFunction>(op: "AddV2").run([a, b])[0]
        #expect(sum.shape == [3, 2])
        #expect(sum.scalars(as: Float.self) == [11, 21, 12, 22, 13, 23])
        let scaled = try BinaryKernel<MultiplyFunction>(op: "Mul").run([Tensor(scalar: Float(2)), a])[0]
        #expect(scaled.scalars(as: Float.self) == [2, 4, 6])
        let diff = try BinaryKernel<SubtractFunction>(op: "Sub").run([Tensor([Float(5), 6, 7, 8], shape: [2, 2]), Tensor([Float(1), 2], shape: [2])])[0]
        #expect(diff.scalars(as: Float.self) == [4, 4, 6, 6])
        let quotient = try BinaryKernel<DivideFunction>(op: "RealDiv").run([Tensor([Int32(7), Int32.min], shape: [2]), Tensor([Int32(0), -1], shape: [2])])[0]
        #expect(quotient.scalars(as: Int32.self) == [0, Int32.min])
        #expect(throws: ServingError.self) {
            _ = try BinaryKernel<AddFunction>(op: "AddV2").run([Tensor([Float(1), 2, 3], shape: [3]), Tensor([Float(1), 2], shape: [2])])
        }
    }

    @Test func activations() throws {
        let x = Tensor([Float(-2), -0.5, 0, 3, 8], shape: [5])
        #expect(try UnaryKernel<ReluFunction>(op: "Relu").run([x])[0].scalars(as: Float.self) == [0, 0, 0, 3, 8])
        #expect(try UnaryKernel<Relu6Function>(op: "Relu6").run([x])[0].scalars(as: Float.self) == [0, 0, 0, 3, 6])
        #expect(try UnaryKernel<SoftsignFunction>(op: "Softsign").run([x])[0].scalars(as: Float.self)
            == [-2 / Float(3), -0.5 / Float(1.5), 0, 0.75, 8 / Float(9)])
        let sigmoid = try UnaryKernel<SigmoidFunction>(op: "Sigmoid").run([x])[0].scalars(as: Float.self)
        let tanh = try UnaryKernel<TanhFunction>(op: "Tanh").run([x])[0].scalars(as: Float.self)
        for (index, value) in x.scalars(as: Float.self).enumerated() {
            #expect(abs(sigmoid[index] - 1 / (1 + Foundation.exp(-value))) < 1e-6)
            #expect(abs(tanh[index] - Foundation.tanh(value)) < 1e-6)
        }
    }

    @Test func reshapeShapeAndCast() throws {
        let x = Tensor((0..<6).map(Float.init), shape: [2, 3])
        let reshaped = try ReshapeKernel().run([x, Tensor([Int32(-1), 2], shape: [2])])[0]
        #expect(reshaped.shape == [3, 2])
        #expect(throws: ServingError.self) { _ = try ReshapeKernel().run([x, Tensor([Int32(4), -1], shape: [2])]) }
        #expect(throws: ServingError.self) { _ = try ReshapeKernel().run([x, Tensor([Int32(-1), -1], shape: [2])]) }
        let shape = try ShapeKernel(outputType: .int64).run([x])[0]
        #expect(shape.scalars(as: Int64.self) == [2, 3])
        let floats = Tensor([Float(1.9), -1.9, .nan, 1e20], shape: [4])
        let ints = try CastKernel(destination: .int32).run([floats])[0]
        #expect(ints.scalars(as: Int32.self) == [1, -1, 0, Int32.max])
        let back = try CastKernel(destination: .float64).run([Tensor([Int64(3), -4], shape: [2])])[0]
        #expect(back.scalars(as: Double.self) == [3, -4])
        let bools = try CastKernel(destination: .bool).run([Tensor([Float(0), 2], shape: [2])])[0]
        #expect(bools.scalars(as: Bool.self) == [false, true])
    }
}
