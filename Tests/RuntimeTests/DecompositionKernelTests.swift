import Foundation
@testable import Runtime
import Tensors
import Testing

/// Matrix decompositions, special functions, complex transforms and the smaller kernels the coverage
/// generator found missing: properties that hold for any correct answer, and TensorFlow's values where
/// the answer is unique.
@Suite struct DecompositionKernelTests {
    private func kernel(_ op: String, _ attrs: [String: NodeAttr] = [:]) throws -> any Kernel {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        return try factory(AttrReader(attrs: attrs, defaults: definition.defaults, location: "node 'test'"))
    }

    /// Row-major product of an r×k and a k×c matrix.
    private func multiply(_ a: [Double], _ b: [Double], _ r: Int, _ k: Int, _ c: Int) -> [Double] {
        (0..<(r * c)).map { index in (0..<k).reduce(0.0) { $0 + a[(index / c) * k + $1] * b[$1 * c + index % c] } }
    }

    private func transpose(_ a: [Double], _ r: Int, _ c: Int) -> [Double] {
        (0..<(r * c)).map { index in a[(index % r) * c + index / r] }
    }

    private func identity(_ n: Int) -> [Double] { (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 } }

    private func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    private func values(_ tensor: Tensor) -> [Double] { tensor.scalars(as: Double.self) }

    @Test(arguments: [(3, 2, false), (3, 2, true), (2, 3, false), (2, 3, true)])
    func svdFactorsReconstructTheMatrixWithOrthonormalVectors(rows: Int, columns: Int, full: Bool) throws {
        let a: [Double] = rows == 3 ? [1, 2, 3, 4, 5, 7] : [2, -1, 0, 1, 3, 4]
        let outputs = try kernel("Svd", ["full_matrices": .bool(full)]).run([Tensor(a, shape: [rows, columns])])
        let p = min(rows, columns), uColumns = full ? rows : p, vColumns = full ? columns : p
        #expect(outputs[0].shape == [p] && outputs[1].shape == [rows, uColumns] && outputs[2].shape == [columns, vColumns])
        let s = values(outputs[0]), u = values(outputs[1]), v = values(outputs[2])
        #expect(s == s.sorted(by: >))
        #expect(close(multiply(transpose(u, rows, uColumns), u, uColumns, rows, uColumns), identity(uColumns)))
        #expect(close(multiply(transpose(v, columns, vColumns), v, vColumns, columns, vColumns), identity(vColumns)))
        var scaled = [Double](repeating: 0, count: rows * p)
        for i in 0..<rows { for j in 0..<p { scaled[i * p + j] = u[i * uColumns + j] * s[j] } }
        let thinV = (0..<(columns * p)).map { v[($0 / p) * vColumns + $0 % p] }
        #expect(close(multiply(scaled, transpose(thinV, columns, p), rows, p, columns), a))
    }

    @Test func svdOfARankDeficientMatrixCompletesTheLeftVectors() throws {
        let outputs = try kernel("Svd", ["full_matrices": .bool(true)]).run([Tensor([1.0, 2, 2, 4, 3, 6], shape: [3, 2])])
        let s = values(outputs[0]), u = values(outputs[1])
        #expect(close(s, [(70.0).squareRoot(), 0], 1e-12))
        #expect(close(multiply(transpose(u, 3, 3), u, 3, 3, 3), identity(3)))
        let singular = try kernel("Svd", ["compute_uv": .bool(false)]).run([Tensor([Float(3), 0, 0, -4], shape: [2, 2])])
        #expect(singular[0].scalars(as: Float.self) == [4, 3] && singular[1].elementCount == 0)
    }

    @Test func symmetricEigenvaluesAscendAndReadTheLowerTriangle() throws {
        // The upper triangle (99) is ignored, as TensorFlow's solver does.
        let a: [Double] = [2, 99, 99, 1, 3, 99, 0, 1, 4]
        let outputs = try kernel("SelfAdjointEigV2").run([Tensor(a, shape: [3, 3])])
        let e = values(outputs[0]), v = values(outputs[1])
        #expect(e == e.sorted())
        let symmetric: [Double] = [2, 1, 0, 1, 3, 1, 0, 1, 4]
        var diagonal = [Double](repeating: 0, count: 9)
        for i in 0..<3 { diagonal[i * 3 + i] = e[i] }
        #expect(close(multiply(symmetric, v, 3, 3, 3), multiply(v, diagonal, 3, 3, 3)))
        #expect(close(e, [3 - (3.0).squareRoot(), 3, 3 + (3.0).squareRoot()], 1e-12))
        #expect(throws: ServingError.self) { try kernel("SelfAdjointEigV2").run([Tensor([1.0, 2], shape: [1, 2])]) }
    }

    @Test func qrTakesTheHouseholderSignsOfTensorFlow() throws {
        let outputs = try kernel("Qr").run([Tensor([3.0, 1, 4, 2], shape: [2, 2])])
        let q = values(outputs[0]), r = values(outputs[1])
        #expect(close(r, [-5, -2.2, 0, 0.4], 1e-12))
        #expect(close(multiply(q, r, 2, 2, 2), [3, 1, 4, 2]))
        let full = try kernel("Qr", ["full_matrices": .bool(true)]).run([Tensor([1.0, 2, 3, 4, 5, 6], shape: [3, 2])])
        #expect(full[0].shape == [3, 3] && full[1].shape == [3, 2])
        #expect(close(multiply(transpose(values(full[0]), 3, 3), values(full[0]), 3, 3, 3), identity(3)))
        #expect(close(multiply(values(full[0]), values(full[1]), 3, 3, 2), [1, 2, 3, 4, 5, 6]))
    }

    @Test func luPivotsOnTheLargestEntryAndReturnsThePermutation() throws {
        let outputs = try kernel("Lu").run([Tensor([1.0, 2, 4, 3], shape: [2, 2])])
        #expect(close(values(outputs[0]), [4, 3, 0.25, 1.25], 1e-12))
        #expect(outputs[1].scalars(as: Int32.self) == [1, 0])
        let wide = try kernel("Lu", ["output_idx_type": .type(DType.int64.rawValue)]).run([Tensor([0.0, 0, 0, 0], shape: [2, 2])])
        #expect(wide[1].scalars(as: Int64.self) == [0, 1], "a singular matrix is factored, not refused")
        #expect(throws: ServingError.self) { try kernel("Lu").run([Tensor([1.0, 2], shape: [1, 2])]) }
    }

    @Test func besselFunctionsMatchTensorFlowOnBothSidesOfTheSeriesLimit() throws {
        let x = Tensor([0, 1, -1, 39.9, 40.1, 100], shape: [6])
        let expected: [String: [Double]] = [
            "BesselI0": [1.0, 1.2660658777520082, 1.2660658777520082, 1.3494336349805656e+16, 1.6440602390739424e+16, 1.073751707131074e+42],
            "BesselI0e": [1.0, 0.46575960759364043, 0.46575960759364043, 0.06335803550042245, 0.06319882471018294, 0.03994437929909669],
            "BesselI1": [0.0, 0.565159103992485, -0.565159103992485, 1.3324147201752778e+16, 1.6234296142824248e+16, 1.0683693903381627e+42],
            "BesselI1e": [0.0, 0.20791041534970844, -0.20791041534970844, 0.06255897063316232, 0.06240576907336814, 0.039744153025130256],
        ]
        for (op, wanted) in expected {
            #expect(close(values(try kernel(op).run([x])[0]), wanted, 1e-12), "\(op)")
        }
        let infinite = try kernel("BesselI0").run([Tensor([-Double.infinity], shape: [1])])[0]
        #expect(values(infinite) == [.infinity])
    }

    @Test func nextAfterStepsOneRepresentableValue() throws {
        let result = try kernel("NextAfter").run([Tensor([Float(1), 1, 0, 2, .nan], shape: [5]), Tensor([Float(2), 0, -1, 2, 0], shape: [5])])[0]
        let floats = result.scalars(as: Float.self)
        #expect(Array(floats.prefix(4)) == [Float(1).nextUp, Float(1).nextDown, -Float.leastNonzeroMagnitude, 2])
        #expect(floats[4].isNaN)
    }

    @Test func sparseCrossEntropyGivesLossAndGradientAndNamesABadLabel() throws {
        let outputs = try kernel("SparseSoftmaxCrossEntropyWithLogits").run([
            Tensor([0.0, 0, Foundation.log(2.0), 1, 1, 1], shape: [2, 3]), Tensor([Int32(2), 0], shape: [2]),
        ])
        #expect(close(values(outputs[0]), [Foundation.log(2.0), Foundation.log(3.0)], 1e-12))
        let third = 1.0 / 3
        let gradient: [Double] = [0.25, 0.25, -0.5, third - 1, third, third]
        #expect(close(values(outputs[1]), gradient, 1e-12))
        let error = #expect(throws: ServingError.self) {
            try kernel("SparseSoftmaxCrossEntropyWithLogits").run([Tensor([1.0, 2], shape: [1, 2]), Tensor([Int64(2)], shape: [1])])
        }
        #expect(error?.message.contains("label value of 2 which is outside the valid range of [0, 2)") == true, "\(error?.message ?? "")")
    }

    private func complex(_ pairs: [Float], _ shape: Shape) throws -> Tensor {
        let count = pairs.count / 2
        let real = Tensor((0..<count).map { pairs[2 * $0] }, shape: shape), imaginary = Tensor((0..<count).map { pairs[2 * $0 + 1] }, shape: shape)
        return try kernel("Complex").run([real, imaginary])[0]
    }

    private func pairs(_ tensor: Tensor) throws -> [Float] {
        let real = try kernel("Real").run([tensor])[0].scalars(as: Float.self), imaginary = try kernel("Imag").run([tensor])[0].scalars(as: Float.self)
        return zip(real, imaginary).flatMap { [$0, $1] }
    }

    private func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 } }

    @Test func complexTransformsInvertEachOther() throws {
        let signal = try complex([1, 0, 2, -1, 0, 3, -2, 1, 5, 0], [5])
        let spectrum = try kernel("FFT").run([signal])[0]
        #expect(close(Array(try pairs(spectrum).prefix(2)), [6, 3]), "the first bin sums the signal")
        #expect(close(try pairs(try kernel("IFFT").run([spectrum])[0]), try pairs(signal)))
        let image = try complex([1, 0, 2, 0, 3, 0, 4, 0], [2, 2])
        #expect(close(try pairs(try kernel("FFT2D").run([image])[0]), [10, 0, -2, 0, -4, 0, 0, 0]))
        #expect(close(try pairs(try kernel("IFFT2D").run([try kernel("FFT2D").run([image])[0]])[0]), try pairs(image)))
    }

    @Test func inverseRealTransformMatchesTensorFlowAndUndoesTheForwardOne() throws {
        let spectrum = try complex([1, 0, 2, -1, 3, 0.5], [1, 3])
        let signal = try kernel("IRFFT").run([spectrum, Tensor([Int32(5)], shape: [1])])[0]
        #expect(signal.shape == [1, 5])
        #expect(close(signal.scalars(as: Float.self), [2.2, -0.260741263628006, 0.3489322066307068, -0.5017186403274536, -0.7864724397659302]))
        let samples: [Float] = [1, -2, 3, 0.5, 4, -1]
        let forward = try kernel("RFFT").run([Tensor(samples, shape: [6]), Tensor([Int32(6)], shape: [1])])[0]
        #expect(close(try kernel("IRFFT").run([forward, Tensor([Int32(6)], shape: [1])])[0].scalars(as: Float.self), samples))
    }

    @Test func complexArithmeticAndCasts() throws {
        let a = try complex([1, 2, 0, 1], [2]), b = try complex([3, 4, 0, 1], [2])
        #expect(close(try pairs(try kernel("Mul").run([a, b])[0]), [-5, 10, -1, 0]))
        #expect(close(try pairs(try kernel("AddV2").run([a, b])[0]), [4, 6, 0, 2]))
        #expect(close(try pairs(try kernel("RealDiv").run([b, a])[0]), [2.2, -0.4, 1, 0]))
        let cast = try kernel("Cast", ["DstT": .type(DType.complex64.rawValue)]).run([Tensor([Int32(3), -1], shape: [2])])[0]
        #expect(close(try pairs(cast), [3, 0, -1, 0]))
        let back = try kernel("Cast", ["DstT": .type(DType.float32.rawValue)]).run([a])[0]
        #expect(back.scalars(as: Float.self) == [1, 0])
        #expect(throws: ServingError.self) { try kernel("Maximum").run([a, b]) }
    }

    @Test func dynamicUpdateSliceClampsItsStart() throws {
        let x = Tensor([Float](repeating: 0, count: 6), shape: [2, 3])
        let result = try kernel("XlaDynamicUpdateSlice").run([x, Tensor([Float(7), 8], shape: [1, 2]), Tensor([Int32(1), 5], shape: [2])])[0]
        #expect(result.scalars(as: Float.self) == [0, 0, 0, 0, 7, 8])
        #expect(throws: ServingError.self) {
            try kernel("XlaDynamicUpdateSlice").run([x, Tensor([Float](repeating: 1, count: 4), shape: [1, 4]), Tensor([Int32(0), 0], shape: [2])])
        }
    }

    @Test func greedyDecoderDropsBlanksAndMergesRepeats() throws {
        // max_time 4, batch 2, classes 3 (blank = 2): sequence 0 takes classes 0, 0, 2, 1; sequence 1 stops after 2 steps.
        let steps: [[Float]] = [[5, 1, 0, 0, 4, 1], [5, 0, 1, 1, 0, 3], [0, 1, 6, 2, 0, 0], [1, 7, 0, 0, 0, 9]]
        let logits = Tensor(steps.flatMap { $0 }, shape: [4, 2, 3])
        let merged = try kernel("CTCGreedyDecoder", ["merge_repeated": .bool(true)]).run([logits, Tensor([Int32(4), 2], shape: [2])])
        #expect(merged[0].scalars(as: Int64.self) == [0, 0, 0, 1, 1, 0])
        #expect(merged[1].scalars(as: Int64.self) == [0, 1, 1])
        #expect(merged[2].scalars(as: Int64.self) == [2, 2])
        #expect(merged[3].scalars(as: Float.self) == [-23, -7])
        let unmerged = try kernel("CTCGreedyDecoder").run([logits, Tensor([Int32(4), 2], shape: [2])])
        #expect(unmerged[1].scalars(as: Int64.self) == [0, 0, 1, 1])
        #expect(throws: ServingError.self) { try kernel("CTCGreedyDecoder").run([logits, Tensor([Int32(5), 2], shape: [2])]) }
    }

    @Test func imagePatchesFlattenEachWindowIntoDepth() throws {
        let image = Tensor((1...9).map(Float.init), shape: [1, 3, 3, 1])
        let attrs: [String: NodeAttr] = [
            "ksizes": .list([.int(1), .int(2), .int(2), .int(1)]), "strides": .list([.int(1), .int(2), .int(2), .int(1)]),
            "rates": .list([.int(1), .int(1), .int(1), .int(1)]), "padding": .string(Array("SAME".utf8)),
        ]
        let same = try kernel("ExtractImagePatches", attrs).run([image])[0]
        #expect(same.shape == [1, 2, 2, 4])
        #expect(same.scalars(as: Float.self) == [1, 2, 4, 5, 3, 0, 6, 0, 7, 8, 0, 0, 9, 0, 0, 0])
        var valid = attrs
        valid["padding"] = .string(Array("VALID".utf8))
        #expect(try kernel("ExtractImagePatches", valid).run([image])[0].shape == [1, 1, 1, 4])
        var bad = attrs
        bad["strides"] = .list([.int(1), .int(0), .int(1), .int(1)])
        #expect(throws: ServingError.self) { try kernel("ExtractImagePatches", bad) }
    }

    @Test func emptyIsZeroFilled() throws {
        let empty = try kernel("Empty", ["dtype": .type(DType.float32.rawValue)]).run([Tensor([Int32(2), 3], shape: [2])])[0]
        #expect(empty.shape == [2, 3] && empty.scalars(as: Float.self) == [Float](repeating: 0, count: 6))
    }
}
