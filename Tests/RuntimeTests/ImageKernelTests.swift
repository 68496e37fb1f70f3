@testable import Runtime
import Tensors
import Testing

/// Image kernels against values TensorFlow 2.21 produced for the same inputs.
@Suite struct ImageKernelTests {
    private func kernel(_ op: String, _ values: [String: NodeAttr] = [:]) throws -> any Kernel {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        return try factory(AttrReader(attrs: values, defaults: definition.defaults, location: "node 'test'"))
    }

    private func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
    }

    private func transformed(_ interpolation: String, _ mode: String, _ parameters: [Float]) throws -> [Float] {
        let kernel = try kernel("ImageProjectiveTransformV3", [
            "dtype": .type(DType.float32.rawValue), "interpolation": .string(Array(interpolation.utf8)),
            "fill_mode": .string(Array(mode.utf8)),
        ])
        let image = Tensor((1...12).map { Float($0) }, shape: [1, 3, 4, 1])
        let result = try kernel.run([image, Tensor(parameters, shape: [1, 8]), Tensor([Int32(3), 5], shape: [2]),
                                     Tensor([Float(-1)], shape: [])])[0]
        #expect(result.shape == [1, 3, 5, 1])
        return result.scalars(as: Float.self)
    }

    @Test func projectiveTransformMatchesTensorFlowInEveryMode() throws {
        let t: [Float] = [1.3, 0.4, -1.7, -0.3, 0.9, 1.2, 0.05, -0.02]
        let expected: [String: [Float]] = [
            "NEAREST REFLECT": [6, 5, 6, 3, 4, 9, 9, 6, 7, 8, 9, 9, 11, 12, 12],
            "NEAREST WRAP": [7, 8, 6, 3, 4, 4, 12, 6, 7, 5, 4, 1, 3, 12, 9],
            "NEAREST CONSTANT": [-1, 5, 6, 3, 4, -1, 9, 6, 7, 8, -1, -1, 11, 12, -1],
            "NEAREST NEAREST": [5, 5, 6, 3, 4, 9, 9, 6, 7, 8, 9, 9, 11, 12, 12],
            "BILINEAR REFLECT": [6.5, 4.4285717, 4.0, 3.9565215, 3.9166663, 9.3265305, 7.990291, 7.759259, 7.5486727,
                                 7.050847, 8.5, 9.396039, 10.603773, 11.27027, 10.206897],
            "BILINEAR WRAP": [8.1, 7.4285717, 4.0, 3.9565215, 3.9166663, 3.6734693, 10.99029, 7.759259, 7.5486727,
                              4.050847, 4.5, 1.3960395, 2.6037736, 11.27027, 7.206897],
            "BILINEAR CONSTANT": [-1.0, 2.360544, 4.0, 3.9565215, 3.9166663, -1.0, 7.990290, 7.759259, 7.5486727,
                                  4.594659, -1.0, 2.396725, 7.5386238, 11.27027, 2.2847774],
            "BILINEAR NEAREST": [5.8, 4.4285717, 4.0, 3.9565215, 3.9166663, 9.0, 7.990291, 7.759259, 7.5486727,
                                 7.050847, 9.0, 9.396039, 10.603773, 11.27027, 10.206897],
        ]
        for (key, values) in expected {
            let parts = key.split(separator: " ").map(String.init)
            #expect(close(try transformed(parts[0], parts[1], t), values), "\(key)")
        }
        let far: [Float] = [2.5, 0, -6, 0, 2.5, -5, 0, 0]
        #expect(try transformed("NEAREST", "REFLECT", far) == [7, 8, 5, 7, 8, 11, 12, 9, 11, 12, 3, 4, 1, 3, 4])
        #expect(try transformed("NEAREST", "WRAP", far) == [12, 12, 12, 11, 9, 12, 12, 12, 11, 9, 4, 4, 4, 3, 1])
    }

    @Test func projectiveTransformRejectsBadOperands() throws {
        #expect(throws: ServingError.self) {
            _ = try kernel("ImageProjectiveTransformV3", ["dtype": .type(DType.float32.rawValue),
                                                          "interpolation": .string(Array("BICUBIC".utf8))])
        }
        let nearest = try kernel("ImageProjectiveTransformV3", ["dtype": .type(DType.float32.rawValue),
                                                                "interpolation": .string(Array("NEAREST".utf8))])
        let image = Tensor([Float](repeating: 0, count: 8), shape: [2, 2, 2, 1])
        #expect(throws: ServingError.self) {
            _ = try nearest.run([image, Tensor([Float](repeating: 0, count: 24), shape: [3, 8]),
                                Tensor([Int32(2), 2], shape: [2]), Tensor([Float(0)], shape: [])])
        }
    }

    @Test func colorSpacesMatchTensorFlow() throws {
        let rgb: [Float] = [0.2, 0.5, 0.1, 0.9, 0.1, 0.3, 0.3, 0.3, 0.3, 0, 0, 0, 0.1, 0.2, 0.7, 0.5, 0.1, 0.5]
        let hsv = try kernel("RGBToHSV").run([Tensor(rgb, shape: [2, 3, 3])])[0]
        #expect(hsv.shape == [2, 3, 3])
        #expect(close(hsv.scalars(as: Float.self), [0.29166669, 0.8, 0.5, 0.95833331, 0.88888884, 0.9, 0, 0, 0.3, 0, 0, 0,
                                                    0.6388889, 0.8571428, 0.7, 0.8333333, 0.8, 0.5]))
        let back = try kernel("HSVToRGB").run([Tensor([Float(0.95), 0.5, 0.8, 1.2, 0.3, 0.6], shape: [2, 3])])[0]
        #expect(close(back.scalars(as: Float.self), [0.8, 0.4, 0.52000010, 0.6, 0.42000002, 0.42000002]))
        #expect(throws: ServingError.self) { _ = try kernel("RGBToHSV").run([Tensor([Float(1), 2], shape: [1, 2])]) }
    }
}
