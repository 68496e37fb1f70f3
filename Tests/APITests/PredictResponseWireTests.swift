import SavedModel
import SwiftProtobuf
import TFProtos
import Tensors
import Testing
@testable import API

/// The hand-written PredictResponse encoder against SwiftProtobuf's serialization of the same message
/// (map entries in key order).
@Suite struct PredictResponseWireTests {
    private func viaMessage(_ outputs: [(name: String, tensor: Tensor)], model: String, version: Int64, signature: String)
        throws -> [UInt8]
    {
        var response = Tensorflow_Serving_PredictResponse()
        response.modelSpec = Tensorflow_Serving_ModelSpec(modelName: model, version: version, signatureName: signature)
        for output in outputs { response.outputs[output.name] = Tensorflow_TensorProto(output.tensor) }
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return try response.serializedBytes(options: options)
    }

    private func check(_ outputs: [(name: String, tensor: Tensor)], model: String = "mlp", version: Int64 = 3,
                       signature: String = "serving_default") throws {
        let wire = PredictResponseWire.encode(outputs: outputs, modelName: model, version: version, signatureName: signature)
        #expect(wire == (try viaMessage(outputs, model: model, version: version, signature: signature)))
        let parsed = try Tensorflow_Serving_PredictResponse(serializedBytes: wire)
        #expect(parsed.modelSpec == Tensorflow_Serving_ModelSpec(modelName: model, version: version, signatureName: signature))
        #expect(parsed.outputs.count == Set(outputs.map(\.name)).count)
        for output in outputs {
            let decoded = try #require(parsed.outputs[output.name])
            #expect(decoded == Tensorflow_TensorProto(output.tensor))
        }
    }

    @Test func numericTensorsOfEveryRank() throws {
        try check([
            ("scores", Tensor([Float(1), 2.5, -3, 0.1, 1e-5, .nan], shape: [2, 3])),
            ("count", Tensor(scalar: Int64(-7))),
            ("flags", Tensor([true, false, true], shape: [3])),
            ("wide", Tensor((0..<300).map { Double($0) / 7 }, shape: [1, 300])),
        ])
    }

    @Test func emptyAndLargeShapes() throws {
        try check([("none", Tensor(zeros: .float32, shape: [0, 4])), ("big", Tensor(zeros: .int8, shape: [130, 1, 200]))])
    }

    @Test func stringsIncludingEmptyOnes() throws {
        let strings: [[UInt8]] = [Array("héllo".utf8), [], [0, 255, 10], Array(repeating: 65, count: 200)]
        try check([("text", Tensor(strings: strings, shape: [2, 2])), ("", Tensor(strings: [[]], shape: [1]))])
    }

    @Test func opaqueTensorsCarryOnlyDtypeAndShape() throws {
        try check([("handle", Tensor(dtype: .resource, shape: .scalar, storage: .opaque([])))])
    }

    @Test func modelSpecEdgeCases() throws {
        let one = [(name: "y", tensor: Tensor([Float(1)], shape: [1]))]
        try check(one, model: "", version: 0, signature: "")
        try check(one, model: "模型", version: Int64.max, signature: "sig")
        try check([], model: "m", version: 1, signature: "s")
    }
}
