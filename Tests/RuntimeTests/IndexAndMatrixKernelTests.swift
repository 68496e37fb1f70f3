import Foundation
@testable import Runtime
import Tensors
import Testing

/// Bad inputs to the index and matrix kernels fail with a message naming what was wrong.
@Suite struct IndexAndMatrixKernelTests {
    private func kernel(_ op: String, _ attrs: [String: NodeAttr] = [:]) throws -> any Kernel {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        return try factory(AttrReader(attrs: attrs, defaults: definition.defaults, location: "node 'test'"))
    }

    @Test func sparseToDensePlacesValuesAndNamesAnIndexOutOfRange() throws {
        let dense = try kernel("SparseToDense").run([
            Tensor([Int64(0), 1, 2, 0], shape: [2, 2]), Tensor([Int64(3), 2], shape: [2]),
            Tensor([Float(5), 7], shape: [2]), Tensor([Float(-1)], shape: .scalar),
        ])[0]
        #expect(dense.scalars(as: Float.self) == [-1, 5, -1, -1, 7, -1])
        let error = #expect(throws: ServingError.self) {
            try kernel("SparseToDense").run([
                Tensor([Int64(3), 0], shape: [1, 2]), Tensor([Int64(3), 2], shape: [2]),
                Tensor([Float(5)], shape: [1]), Tensor([Float(0)], shape: .scalar),
            ])
        }
        #expect(error?.message.contains("index 3 is out of range [0, 3)") == true, "\(error?.message ?? "")")
    }

    @Test func choleskyRefusesAMatrixThatIsNotPositiveDefinite() throws {
        let l = try kernel("Cholesky").run([Tensor([Float(4), 2, 2, 3], shape: [2, 2])])[0]
        #expect(l.scalars(as: Float.self) == [2, 0, 1, Float(2).squareRoot()])
        #expect(throws: ServingError.self) { try kernel("Cholesky").run([Tensor([Float(1), 2, 2, 1], shape: [2, 2])]) }
        #expect(throws: ServingError.self) { try kernel("Cholesky").run([Tensor([Int32(1)], shape: [1, 1])]) }
    }
}
