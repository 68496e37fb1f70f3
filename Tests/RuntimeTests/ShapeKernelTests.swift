@testable import Runtime
import Tensors
import Testing

@Suite struct ShapeKernelTests {
    private let matrix = Tensor((0..<6).map(Float.init), shape: [2, 3])

    @Test func concatAlongEachAxis() throws {
        let other = Tensor([Float(10), 11, 12], shape: [1, 3])
        let rows = try ConcatKernel().run([matrix, other, Tensor(scalar: Int32(0))])[0]
        #expect(rows.shape == [3, 3])
        #expect(rows.scalars(as: Float.self) == [0, 1, 2, 3, 4, 5, 10, 11, 12])
        let column = Tensor([Float(7), 8], shape: [2, 1])
        let columns = try ConcatKernel().run([matrix, column, Tensor(scalar: Int64(-1))])[0]
        #expect(columns.scalars(as: Float.self) == [0, 1, 2, 7, 3, 4, 5, 8])
        #expect(throws: ServingError.self) { _ = try ConcatKernel().run([matrix, column, Tensor(scalar: Int32(0))]) }
    }

    @Test func packAndTranspose() throws {
        let a = Tensor([Int32(1), 2], shape: [2]), b = Tensor([Int32(3), 4], shape: [2])
        #expect(try PackKernel(axis: 0).run([a, b])[0].scalars(as: Int32.self) == [1, 2, 3, 4])
        let stacked = try PackKernel(axis: 1).run([a, b])[0]
        #expect(stacked.shape == [2, 2])
        #expect(stacked.scalars(as: Int32.self) == [1, 3, 2, 4])
        let transposed = try TransposeKernel().run([matrix, Tensor([Int32(1), 0], shape: [2])])[0]
        #expect(transposed.shape == [3, 2])
        #expect(transposed.scalars(as: Float.self) == [0, 3, 1, 4, 2, 5])
        #expect(throws: ServingError.self) { _ = try TransposeKernel().run([matrix, Tensor([Int32(0), 0], shape: [2])]) }
    }

    @Test(arguments: [[1, 0, 2], [2, 0, 1, 3], [0, 2, 1, 3], [2, 1, 0]])
    func transposeMatchesIndexArithmetic(_ permutation: [Int]) throws {
        let dims = [2, 3, 4, 5].prefix(permutation.count).map { $0 }
        let count = dims.reduce(1, *)
        let x = Tensor((0..<count).map { Int64($0) }, shape: Shape(dims))
        let result = try TransposeKernel().run([x, Tensor(permutation.map { Int32($0) }, shape: [permutation.count])])[0]
        let outputDims = permutation.map { dims[$0] }
        #expect(result.shape == Shape(outputDims))
        let strides = x.shape.strides
        var expected: [Int64] = []
        for flat in 0..<count {
            var rest = flat, source = 0
            for axis in stride(from: outputDims.count - 1, through: 0, by: -1) {
                source += (rest % outputDims[axis]) * strides[permutation[axis]]
                rest /= outputDims[axis]
            }
            expected.append(Int64(source))
        }
        #expect(result.scalars(as: Int64.self) == expected)
    }

    @Test func reductions() throws {
        let axis1 = Tensor([Int32(1)], shape: [1])
        #expect(try ReductionKernel(kind: .sum, keepDims: false, op: "Sum").run([matrix, axis1])[0].scalars(as: Float.self) == [3, 12])
        let mean = try ReductionKernel(kind: .mean, keepDims: true, op: "Mean").run([matrix, Tensor(scalar: Int32(0))])[0]
        #expect(mean.shape == [1, 3])
        #expect(mean.scalars(as: Float.self) == [1.5, 2.5, 3.5])
        let all = Tensor([Int32(0), 1], shape: [2])
        #expect(try ReductionKernel(kind: .max, keepDims: false, op: "Max").run([matrix, all])[0].scalars(as: Float.self) == [5])
        #expect(try ReductionKernel(kind: .min, keepDims: false, op: "Min").run([matrix, axis1])[0].scalars(as: Float.self) == [0, 3])
        #expect(try ReductionKernel(kind: .product, keepDims: false, op: "Prod").run([Tensor([Int64(2), 3, 4], shape: [3]), Tensor(scalar: Int32(0))])[0].scalars(as: Int64.self) == [24])
        #expect(throws: ServingError.self) { _ = try ReductionKernel(kind: .sum, keepDims: false, op: "Sum").run([matrix, Tensor(scalar: Int32(2))]) }
    }

    @Test func argMax() throws {
        let x = Tensor([Float(1), 9, 9, 4, 0, 2], shape: [2, 3])
        let rows = try ArgExtremumKernel(maximum: true, outputType: .int64).run([x, Tensor(scalar: Int32(1))])[0]
        #expect(rows.scalars(as: Int64.self) == [1, 0])
        let columns = try ArgExtremumKernel(maximum: false, outputType: .int32).run([x, Tensor(scalar: Int32(0))])[0]
        #expect(columns.scalars(as: Int32.self) == [0, 1, 1])
    }
}

@Suite struct StridedSliceTests {
    private func slice(_ x: Tensor, _ begin: [Int32], _ end: [Int32], _ strides: [Int32], begin beginMask: Int = 0,
                       end endMask: Int = 0, ellipsis: Int = 0, newAxis: Int = 0, shrink: Int = 0) throws -> Tensor {
        let kernel = StridedSliceKernel(beginMask: beginMask, endMask: endMask, ellipsisMask: ellipsis,
                                        newAxisMask: newAxis, shrinkAxisMask: shrink)
        return try kernel.run([x, Tensor(begin, shape: [begin.count]), Tensor(end, shape: [end.count]),
                               Tensor(strides, shape: [strides.count])])[0]
    }

    @Test func flattenPattern() throws {
        let shape = Tensor([Int32(5), 3, 4], shape: [3])
        let batch = try slice(shape, [0], [1], [1], shrink: 1)
        #expect(batch.shape == .scalar)
        #expect(batch.scalars(as: Int32.self) == [5])
        let rest = try slice(shape, [1], [0], [1], end: 1)
        #expect(rest.scalars(as: Int32.self) == [3, 4])
    }

    @Test func reversedAndStepped() throws {
        let x = Tensor((0..<12).map(Float.init), shape: [3, 4])
        let reversed = try slice(x, [1, 0], [0, 0], [1, -1], end: 1 | 0, ellipsis: 0, shrink: 0)
        #expect(reversed.shape == [2, 0])
        let columns = try slice(x, [0, 3], [0, 0], [1, -2], begin: 1, end: 3)
        #expect(columns.shape == [3, 2])
        #expect(columns.scalars(as: Float.self) == [3, 1, 7, 5, 11, 9])
        let lastColumn = try slice(x, [0, -1], [0, 0], [1, 1], ellipsis: 1, shrink: 2)
        #expect(lastColumn.shape == [3])
        #expect(lastColumn.scalars(as: Float.self) == [3, 7, 11])
        let expanded = try slice(x, [0, 0], [0, 0], [1, 1], ellipsis: 2, newAxis: 1)
        #expect(expanded.shape == [1, 3, 4])
        #expect(throws: ServingError.self) { _ = try slice(x, [5], [6], [1], shrink: 1) }
        #expect(throws: ServingError.self) { _ = try slice(x, [0], [1], [0]) }
    }
}
