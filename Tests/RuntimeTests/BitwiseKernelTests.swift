@testable import Runtime
import Tensors
import Testing

/// Bitwise kernels against TensorFlow's results, including its clamping of shift counts.
@Suite struct BitwiseKernelTests {
    private func run(_ op: String, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        return try factory(AttrReader(attrs: [:], defaults: definition.defaults, location: "node 'test'")).run([a, b])[0]
    }

    @Test func shiftsClampTheirCountsLikeTensorFlow() throws {
        let left = try run("LeftShift", Tensor([Int32(1), 1, -3, 5], shape: [4]), Tensor([Int32(40), -1, 2, 31], shape: [4]))
        #expect(left.scalars(as: Int32.self) == [-2_147_483_648, 1, -12, -2_147_483_648])
        let right = try run("RightShift", Tensor([Int32(-64), 64, -1, 7], shape: [4]), Tensor([Int32(40), -1, 3, 1], shape: [4]))
        #expect(right.scalars(as: Int32.self) == [-1, 64, -1, 3])
        #expect(try run("LeftShift", Tensor([UInt8(200)], shape: [1]), Tensor([UInt8(9)], shape: [1])).scalars(as: UInt8.self) == [0])
    }

    @Test func logicalOperationsBroadcast() throws {
        let x = Tensor([Int64(0b1100), 0b1010, 0b0110, 0b0001], shape: [2, 2])
        #expect(try run("BitwiseAnd", x, Tensor([Int64(0b1000), 0b0010], shape: [2])).scalars(as: Int64.self) == [8, 2, 0, 0])
        #expect(try run("BitwiseOr", x, Tensor([Int64(1)], shape: [])).scalars(as: Int64.self) == [13, 11, 7, 1])
        #expect(try run("BitwiseXor", x, x).scalars(as: Int64.self) == [0, 0, 0, 0])
        #expect(throws: ServingError.self) { _ = try run("BitwiseAnd", Tensor([Float(1)], shape: [1]), Tensor([Float(1)], shape: [1])) }
        #expect(throws: ServingError.self) { _ = try run("BitwiseAnd", x, Tensor([Int64(1), 2, 3], shape: [3])) }
    }

    @Test func bitcastReinterpretsBytesAndAdjustsTheLastAxis() throws {
        let definition = try #require(OpDefTable.definition("Bitcast"))
        func bitcast(_ x: Tensor, to type: DType) throws -> Tensor {
            let factory = try #require(definition.makeKernel)
            return try factory(AttrReader(attrs: ["type": .type(type.rawValue)], defaults: [:], location: "node 'test'")).run([x])[0]
        }
        let floats = Tensor([Float(1), -2], shape: [2])
        #expect(try bitcast(floats, to: .int32).scalars(as: Int32.self) == [0x3F80_0000, Int32(bitPattern: 0xC000_0000)])
        let halves = try bitcast(floats, to: .uint16)
        #expect(halves.shape == [2, 2])
        #expect(halves.scalars(as: UInt16.self) == [0, 0x3F80, 0, 0xC000])
        #expect(try bitcast(halves, to: .float32).scalars(as: Float.self) == [1, -2])
        #expect(throws: ServingError.self) { _ = try bitcast(Tensor([UInt16(1), 2, 3], shape: [3]), to: .float32) }
    }
}
