@testable import Runtime
import Tensors
import Testing

/// Stateless random ops against values TensorFlow 2.21's CPU kernels produced for the same seeds.
@Suite struct StatelessRandomTests {
    private func kernel(_ op: String, dtype: DType? = nil) throws -> any Kernel {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        let attrs = dtype.map { ["dtype": NodeAttr.type($0.rawValue)] } ?? [:]
        return try factory(AttrReader(attrs: attrs, defaults: definition.defaults, location: "node 'test'"))
    }

    private func keyCounter(_ seed: [Int32]) throws -> [Tensor] {
        try kernel("StatelessRandomGetKeyCounter").run([Tensor(seed, shape: [seed.count])])
    }

    private func v2(_ op: String, _ shape: [Int32], seed: [Int32], dtype: DType = .float32, extra: [Tensor] = []) throws -> Tensor {
        let state = try keyCounter(seed)
        return try kernel(op, dtype: dtype).run([Tensor(shape, shape: [shape.count]), state[0], state[1], Tensor([Int32(3)], shape: [])] + extra)[0]
    }

    private func bits(_ tensor: Tensor) -> [UInt32] { tensor.scalars(as: Float.self).map(\.bitPattern) }

    @Test func keyAndCounterMatchTensorFlow() throws {
        let state = try keyCounter([1, 2])
        #expect(state[0].scalars(as: UInt64.self) == [0x9085_02C9_6D2F_7FBA])
        #expect(state[1].scalars(as: UInt64.self) == [0, 0xF773_4320_619C_B60B])
    }

    @Test func floatDistributionsMatchTensorFlowBitForBit() throws {
        #expect(bits(try v2("StatelessRandomUniformV2", [6], seed: [1, 2]))
            == [0x3F58_1458, 0x3E44_A788, 0x3F7F_087C, 0x3E24_3C98, 0x3E8B_424C, 0x3F26_3B8A])
        let normal: [UInt32] = [0xBE32_1BB6, 0x3FD6_0FB8, 0x3EB2_435C, 0xBFDA_1917, 0xBF1D_85EA]
        #expect(bits(try v2("StatelessRandomNormalV2", [5], seed: [3, 4])) == normal)
        let v1 = try kernel("StatelessRandomNormal").run([Tensor([Int32(5)], shape: [1]), Tensor([Int64(3), 4], shape: [2])])[0]
        #expect(bits(v1) == normal)
        #expect(bits(try v2("StatelessTruncatedNormalV2", [6], seed: [5, 6]))
            == [0x3F83_11EC, 0xBF09_EE0C, 0x3FA3_C868, 0x3F69_797B, 0xBFC8_3CF8, 0x3FD5_DDA6])
        let long = try v2("StatelessTruncatedNormalV2", [1000], seed: [5, 6])
        #expect(Array(bits(long).suffix(3)) == [0x3E84_B362, 0xBFA1_1244, 0x3FB4_92A9])
        let half = try v2("StatelessRandomNormalV2", [4], seed: [3, 4], dtype: .float16)
        #expect(half.elements(UInt16.self).map { $0 } == [45457, 16048, 13714, 48849])
    }

    @Test func doubleDistributionsMatchTensorFlow() throws {
        #expect(try v2("StatelessRandomUniformV2", [3], seed: [1, 2], dtype: .float64).scalars(as: Double.self)
            == [0.7524837538451801, 0.9697857725627486, 0.17592233912897481])
        #expect(try v2("StatelessRandomNormalV2", [3], seed: [1, 2], dtype: .float64).scalars(as: Double.self)
            == [-0.1423118100189212, 0.7406072461585091, -1.469047669443883])
        #expect(try v2("StatelessTruncatedNormalV2", [3], seed: [1, 2], dtype: .float64).scalars(as: Double.self)
            == [-0.1423118100189212, 0.7406072461585091, -0.552387756244845])
    }

    @Test func integersMatchTensorFlow() throws {
        let int32 = try v2("StatelessRandomUniformIntV2", [5], seed: [7, 8], dtype: .int32,
                           extra: [Tensor([Int32(-5)], shape: []), Tensor([Int32(10)], shape: [])])
        #expect(int32.scalars(as: Int32.self) == [4, 8, -1, 5, -1])
        let int64 = try v2("StatelessRandomUniformIntV2", [3], seed: [7, 8], dtype: .int64,
                           extra: [Tensor([Int64(-5)], shape: []), Tensor([Int64(1_000_000_000_000)], shape: [])])
        #expect(int64.scalars(as: Int64.self) == [438_511_952_042, 603_570_982_419, 131_865_554_031])
        #expect(throws: ServingError.self) {
            _ = try v2("StatelessRandomUniformIntV2", [3], seed: [7, 8], dtype: .int32,
                       extra: [Tensor([Int32(4)], shape: []), Tensor([Int32(4)], shape: [])])
        }
    }

    @Test func gammaMatchesTensorFlow() throws {
        let state = try keyCounter([1, 2])
        let gamma = try kernel("StatelessRandomGammaV3", dtype: .float32)
        let algorithm = Tensor([Int32(1)], shape: [])
        let flat = try gamma.run([Tensor([Int32(6)], shape: [1]), state[0], state[1], algorithm,
                                  Tensor([Float(0.5), 1, 2, 3.5, 0.2, 7], shape: [6])])[0]
        #expect(bits(flat) == [0x3D89_1EFA, 0x3FDC_1254, 0x4055_8122, 0x407A_0C6F, 0x3B94_C599, 0x40CA_26FC])
        let shared = try gamma.run([Tensor([Int32(2), 3], shape: [2]), state[0], state[1], algorithm,
                                    Tensor([Float(0.5), 1, 2], shape: [3])])[0]
        #expect(bits(shared) == [0x3D89_1EFA, 0x400F_EB47, 0x4010_C47C, 0x3F20_D40A, 0x3FF2_5E82, 0x3FBF_5E70])
        let seeded = try kernel("StatelessRandomGammaV2", dtype: .float64).run([
            Tensor([Int32(3)], shape: [1]), Tensor([Int64(4), 5], shape: [2]), Tensor([0.3, 1.5, 9.0], shape: [3]),
        ])[0]
        #expect(seeded.scalars(as: Double.self) == [0.4153512005653209, 0.020283059508823184, 7.602584181340087])
        #expect(throws: ServingError.self) {
            _ = try gamma.run([Tensor([Int32(2), 3], shape: [2]), state[0], state[1], algorithm, Tensor([Float(0.5), 1], shape: [2])])
        }
    }

    @Test func rejectsMalformedState() throws {
        #expect(throws: ServingError.self) { _ = try keyCounter([1]) }
        let state = try keyCounter([1, 2])
        #expect(throws: ServingError.self) {
            _ = try kernel("StatelessRandomUniformV2").run([Tensor([Int32(2)], shape: [1]), state[0], state[1], Tensor([Int32(2)], shape: [])])
        }
        #expect(throws: ServingError.self) {
            _ = try kernel("StatelessRandomUniformV2").run([Tensor([Int32(2)], shape: [1]), state[1], state[1], Tensor([Int32(1)], shape: [])])
        }
    }
}
