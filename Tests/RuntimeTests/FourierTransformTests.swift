import Foundation
@testable import Runtime
import Tensors
import Testing

/// RFFT of real signals (cropped or zero-padded to the transform length), and Real/Imag of its result.
@Suite struct FourierTransformTests {
    private func kernel(_ op: String) throws -> any Kernel {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        return try factory(AttrReader(attrs: [:], defaults: definition.defaults, location: "node 'test'"))
    }

    /// (real, imaginary) parts of RFFT(signal) for `length`.
    private func transform(_ signal: [Float], shape: Shape, length: Int32) throws -> (shape: Shape, real: [Float], imaginary: [Float]) {
        let spectrum = try kernel("RFFT").run([Tensor(signal, shape: shape), Tensor([length], shape: [1])])[0]
        #expect(spectrum.dtype == .complex64)
        let real = try kernel("Real").run([spectrum])[0]
        let imaginary = try kernel("Imag").run([spectrum])[0]
        #expect(real.dtype == .float32 && real.shape == spectrum.shape && imaginary.shape == spectrum.shape)
        return (spectrum.shape, real.scalars(as: Float.self), imaginary.scalars(as: Float.self))
    }

    private func close(_ actual: [Float], _ expected: [Float]) -> Bool {
        actual.count == expected.count && zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 }
    }

    @Test func powerOfTwoLengthsKeepTheNonNegativeFrequencies() throws {
        let result = try transform([1, 2, 3, 4], shape: [4], length: 4)
        #expect(result.shape == [3])
        #expect(close(result.real, [10, -2, -2]))
        #expect(close(result.imaginary, [0, 2, 0]))
    }

    @Test func otherLengthsCropOrPadEachRow() throws {
        // Rows [1, 2, 3, 4] and [0, 1, 0, 0] cropped to 3 samples.
        let cropped = try transform([1, 2, 3, 4, 0, 1, 0, 0], shape: [2, 4], length: 3)
        #expect(cropped.shape == [2, 2])
        let root3 = Float(3).squareRoot() / 2
        #expect(close(cropped.real, [6, -1.5, 1, -0.5]))
        #expect(close(cropped.imaginary, [0, root3, 0, -root3]))
        // [1, 2] zero-padded to 6 samples: 1 + 2·e^(-2πik/6).
        let padded = try transform([1, 2], shape: [1, 2], length: 6)
        #expect(padded.shape == [1, 4])
        #expect(close(padded.real, [3, 2, 0, -1]))
        #expect(close(padded.imaginary, [0, -2 * root3, -2 * root3, 0]))
    }

    @Test func badLengthsAndTypesAreRefused() throws {
        let rfft = try kernel("RFFT")
        #expect(throws: ServingError.self) { try rfft.run([Tensor([Float(1)], shape: [1]), Tensor([Int32(0)], shape: [1])]) }
        #expect(throws: ServingError.self) { try rfft.run([Tensor(scalar: Float(1)), Tensor([Int32(2)], shape: [1])]) }
        #expect(throws: ServingError.self) { try rfft.run([Tensor([Int32(1)], shape: [1]), Tensor([Int32(2)], shape: [1])]) }
        #expect(throws: ServingError.self) { try kernel("Real").run([Tensor([Float(1)], shape: [1])]) }
    }
}
