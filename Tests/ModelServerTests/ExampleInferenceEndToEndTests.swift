import Foundation
import TFProtos
import Testing

/// `:classify` and `:regress` on a TF1 model whose signatures parse serialized tf.Example protos, against
/// the outputs TensorFlow gave for the same examples.
@Suite(.serialized) struct ExampleInferenceEndToEndTests {
    private struct Case {
        var signature: String
        /// The examples as the REST API takes them.
        var examples: [[String: Any]]
        var outputs: [String: [Any]]
    }

    private static func cases() throws -> [Case] {
        let url = ServerProcess.packageRoot.appendingPathComponent("Tests/Fixtures/models/parse_example_tf1.json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try #require(root["cases"] as? [[String: Any]]).map { entry in
            let input = try #require((entry["inputs"] as? [String: [String: Any]])?.values.first)
            let encoded = try #require(input["values"] as? [String])
            let examples = try encoded.map { text -> [String: Any] in
                let example = try Tensorflow_Example(serializedBytes: [UInt8](try #require(Data(base64Encoded: text))))
                return example.features.feature.mapValues { feature -> Any in
                    switch feature.kind {
                    case .floatList(let list)?: list.value.map(Double.init)
                    case .int64List(let list)?: list.value
                    case .bytesList(let list)?: list.value.map { String(decoding: $0, as: UTF8.self) }
                    case nil: [Int]()
                    }
                }
            }
            let outputs = try #require(entry["outputs"] as? [String: [String: Any]]).mapValues { tensor in
                try #require(tensor["values"] as? [Any])
            }
            return Case(signature: try #require(entry["signature"] as? String), examples: examples, outputs: outputs)
        }
    }

    @Test func classifyAndRegressMatchTensorFlow() throws {
        let modelPath = ServerProcess.packageRoot.appendingPathComponent("Tests/Fixtures/models/parse_example_tf1").path
        let server = try ServerProcess(arguments: ["--model_name=tf1", "--model_base_path=\(modelPath)"])
        defer { _ = server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        try waitUntilAvailable(base, model: "tf1")

        var checked = 0
        for fixture in try Self.cases() where fixture.signature != "predict" {
            let verb = fixture.signature == "regress" ? "regress" : "classify"
            let body = try JSONSerialization.data(withJSONObject: ["signature_name": fixture.signature, "examples": fixture.examples])
            for http2 in [false, true] {
                let answer = try curl("\(base)/v1/models/tf1:\(verb)", http2: http2, method: "POST", body: body)
                #expect(answer.status == 200, "\(answer.text)")
                let results = try #require((answer.json as? [String: Any])?["results"] as? [Any])
                #expect(results.count == fixture.examples.count)
                if verb == "regress" {
                    expectClose(try #require(results as? [Double]), try #require(fixture.outputs["outputs"] as? [Double]))
                } else {
                    let pairs = try #require(results as? [[[Any]]]).flatMap { $0 }
                    expectClose(pairs.compactMap { $0.last as? Double }, try #require(fixture.outputs["scores"] as? [Double]))
                    let labels = pairs.compactMap { $0.first as? String }
                    #expect(labels == (fixture.outputs["classes"] as? [String] ?? [String](repeating: "", count: pairs.count)))
                }
                checked += 1
            }
        }
        #expect(checked == 12)

        let wrongMethod = try curl("\(base)/v1/models/tf1:classify", http2: false, method: "POST",
                                   body: Data(#"{"signature_name": "regress", "examples": [{"x": [1.0, 2.0, 3.0, 4.0]}]}"#.utf8))
        #expect(wrongMethod.status == 400)
        #expect(wrongMethod.text.contains("Expected classification signature method_name to be tensorflow/serving/classify"))
        let badFeature = try curl("\(base)/v1/models/tf1:regress", http2: false, method: "POST",
                                  body: Data(#"{"signature_name": "regress", "examples": [{"x": [1.0, "a"]}]}"#.utf8))
        #expect(badFeature.status == 400)
        #expect(badFeature.text.contains("Unexpected element type in feature: x expecting type: float"))
        let shortFeature = try curl("\(base)/v1/models/tf1:regress", http2: false, method: "POST",
                                    body: Data(#"{"signature_name": "regress", "examples": [{"x": [1.0]}]}"#.utf8))
        #expect(shortFeature.status == 400, "\(shortFeature.text)")
        #expect(server.stop() == 0, "server log:\n\(server.log)")
    }
}
