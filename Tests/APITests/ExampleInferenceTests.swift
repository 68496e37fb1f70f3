import Foundation
import NIOCore
import SwiftProtobuf
import TFProtos
import Tensors
import Testing
import Transport
@testable import API

/// Classify and Regress over REST and gRPC: how examples are built and fed, and how outputs become results.
@Suite struct ExampleInferenceTests {
    static let classify = SignatureSpec(
        name: "serving_default", methodName: "tensorflow/serving/classify",
        inputs: ["inputs": Fixtures.spec(.string, [-1], tensor: "tf_example:0")],
        outputs: ["classes": Fixtures.spec(.string, [-1, 2], tensor: "classes:0"),
                  "scores": Fixtures.spec(.float32, [-1, 2], tensor: "scores:0")])
    static let regress = SignatureSpec(
        name: "regress", methodName: "tensorflow/serving/regress",
        inputs: ["inputs": Fixtures.spec(.string, [-1], tensor: "tf_example:0")],
        outputs: ["outputs": Fixtures.spec(.float32, [-1, 1], tensor: "prediction:0")])

    /// Reads every serialized example: classes are its feature names in order, scores the first value of
    /// `a` and of `b` (0 when missing); the regression is `a + b`.
    static let model: @Sendable (String, [String: Tensor]) -> Result<[String: Tensor], ServingError> = { signature, inputs in
        guard let serialized = inputs["inputs"]?.strings else { return .failure(.invalidArgument("no inputs")) }
        var classes: [[UInt8]] = [], scores: [Float] = [], sums: [Float] = []
        for bytes in serialized {
            guard let example = try? Tensorflow_Example(serializedBytes: bytes) else { return .failure(.invalidArgument("not an Example")) }
            func first(_ name: String) -> Float {
                switch example.features.feature[name]?.kind {
                case .floatList(let list)?: list.value.first ?? 0
                case .int64List(let list)?: Float(list.value.first ?? 0)
                case .bytesList(let list)?: Float(list.value.first?.count ?? 0)
                case nil: 0
                }
            }
            classes += ["a", "b"].map { Array($0.utf8) }
            scores += [first("a"), first("b")]
            sums.append(first("a") + first("b"))
        }
        let count = serialized.count
        if signature == "regress" { return .success(["outputs": Tensor(sums, shape: [count, 1])]) }
        return .success(["classes": Tensor(strings: classes, shape: [count, 2]), "scores": Tensor(scores, shape: [count, 2])])
    }

    func makeRouter(
        behaviour: @escaping @Sendable (String, [String: Tensor]) -> Result<[String: Tensor], ServingError> = Self.model
    ) -> (APIRouter, FakeServable) {
        let servable = FakeServable(
            signatures: ["serving_default": Self.classify, "regress": Self.regress, "predict": Fixtures.floatSignature],
            behaviour: behaviour)
        return (APIRouter(backend: FakeBackend(servable: servable)), servable)
    }

    @Test func restClassifyMergesTheContextIntoEveryExample() throws {
        let (router, servable) = makeRouter()
        let body = #"{"context": {"a": 1.5, "b": [7, 8]}, "examples": [{"b": 2}, {"a": [0.25], "c": "xyz"}, {}]}"#
        let response = try #require(send(router, request("POST", "/v1/models/m:classify", body: body)))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == #"{"results":[[["a",1.5],["b",2.0]],[["a",0.25],["b",7.0]],[["a",1.5],["b",7.0]]]}"#)
        let fed = try #require(servable.calls.withLock { $0.first?.inputs["inputs"] })
        #expect(fed.shape == [3])
        let second = try Tensorflow_Example(serializedBytes: try #require(fed.strings?[1]))
        #expect(second.features.feature["c"]?.bytesList.value == [Data("xyz".utf8)])
        #expect(second.features.feature["b"]?.int64List.value == [7, 8])
    }

    @Test func restRegressAnswersOneValuePerExample() throws {
        let (router, _) = makeRouter()
        let body = #"{"signature_name": "regress", "examples": [{"a": 1.5, "b": true}, {"a": {"b64": "AAA="}}]}"#
        let response = try #require(send(router, request("POST", "/v1/models/m/versions/3:regress", body: body)))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == #"{"results":[2.5,2.0]}"#)
    }

    @Test(arguments: [
        (#"{"signature_name": "regress"}"#, "When method is classify, key 'examples' is expected and was not found"),
        (#"{"examples": []}"#, "'examples' value is an empty array"),
        (#"{"examples": {"a": 1}}"#, "Expecting 'examples' value to be an list/array"),
        (#"{"examples": [[1]]}"#, "Example must be JSON object but got JSON array"),
        (#"{"examples": [{"a": [1.5, "x"]}]}"#, "Unexpected element type in feature: a expecting type: float"),
        (#"{"examples": [{"a": [1, 2.5]}]}"#, "Unexpected element type in feature: a expecting type: int64"),
        (#"{"examples": [{"a": null}]}"#, "Feature: a has element with unexpected JSON type: null"),
        (#"{"examples": [{"a": [[1]]}]}"#, "Feature: a has element with unexpected JSON type: array"),
        (#"{"examples": [{"a": {"x": "y"}}]}"#, "Feature: a has element with unexpected JSON type: object"),
        (#"{"examples": [{"a": {"b64": "%%%"}}]}"#, "Feature: a has a 'b64' value that is not valid base64"),
        (#"{"examples": [{"a": 18446744073709551615}]}"#, "Feature: a has uint64 element. Only int64 is supported."),
        (#"{"examples": [{"a": 1e60}]}"#, "Feature: a has the number 1e60, which a float cannot hold"),
        (#"{"signature_name": "regress", "examples": [{"a": 1}]}"#,
         "Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/regress"),
        (#"{"signature_name": "nope", "examples": [{"a": 1}]}"#, "No signature was found with the name: nope"),
    ])
    func badClassifyBodiesAre400(_ body: String, _ message: String) throws {
        let (router, servable) = makeRouter()
        let response = try #require(send(router, request("POST", "/v1/models/m:classify", body: body)))
        #expect(response.status == 400)
        #expect(response.errorMessage == message)
        #expect(servable.callCount == 0)
    }

    /// Every truncation of a valid body, and every byte of it replaced by a structural character, either
    /// decodes or fails as INVALID_ARGUMENT.
    @Test func damagedBodiesFailCleanly() {
        let body = Array(#"{"signature_name": "s", "context": {"c": [1, 2]}, "examples": [{"a": [1.5, -2e3], "b": "x\n", "d": {"b64": "AAA="}}, {"e": [true, 7]}]}"#.utf8)
        func outcome(_ bytes: [UInt8]) -> StatusCode? {
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            do {
                _ = try ExampleJSON.decode(buffer, method: "classify", maxDepth: 64)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(outcome(body) == nil)
        for length in 0..<body.count {
            #expect(outcome(Array(body[..<length])) == .invalidArgument, "first \(length) bytes")
        }
        for index in body.indices {
            for replacement in Array("\"{}[],:0-ex".utf8) + [0, 0xFF] {
                var damaged = body
                damaged[index] = replacement
                let code = outcome(damaged)
                #expect(code == nil || code == .invalidArgument, "byte \(index) = \(replacement)")
            }
        }
    }

    @Test func outputsOfTheWrongShapeAre400() throws {
        let (router, _) = makeRouter { signature, inputs in
            let count = inputs["inputs"]?.shape[0] ?? 0
            let values = [Float](repeating: 0.5, count: 2 * count)
            if signature == "regress" { return .success(["outputs": Tensor(values, shape: [count, 2])]) }
            return .success(["scores": Tensor(values, shape: [2 * count])])
        }
        let response = try #require(send(router, request("POST", "/v1/models/m:classify", body: #"{"examples": [{"a": 1}]}"#)))
        #expect(response.status == 400)
        #expect(response.errorMessage == "Expected Tensor shape: [batch_size num_classes] but got [2]")
        let body = #"{"signature_name": "regress", "examples": [{"a": 1}]}"#
        let wide = try #require(send(router, request("POST", "/v1/models/m:regress", body: body)))
        #expect(wide.status == 400)
        #expect(wide.errorMessage == "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [1,2]")
    }

    @Test func grpcClassifyAndRegress() throws {
        let (router, _) = makeRouter()
        var context = Tensorflow_Example()
        context.features.feature["a"] = feature(floats: [3])
        var first = Tensorflow_Example(), second = Tensorflow_Example()
        first.features.feature["b"] = feature(floats: [0.5])
        second.features.feature["a"] = feature(floats: [-1])
        var request = Tensorflow_Serving_ClassificationRequest()
        request.modelSpec.name = "m"
        request.input.exampleListWithContext.context = context
        request.input.exampleListWithContext.examples = [first, second]
        let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Classify", request)))
        #expect(answer.status == 0, "\(answer.message ?? "")")
        let response = try answer.decode(Tensorflow_Serving_ClassificationResponse.self)
        #expect(response.modelSpec.name == "m" && response.modelSpec.version.value == 3)
        #expect(response.modelSpec.signatureName == "serving_default")
        #expect(response.result.classifications.map { $0.classes.map(\.score) } == [[3, 0.5], [-1, 0]])
        #expect(response.result.classifications.map { $0.classes.map(\.label) } == [["a", "b"], ["a", "b"]])

        var regression = Tensorflow_Serving_RegressionRequest()
        regression.modelSpec.name = "m"
        regression.modelSpec.signatureName = "regress"
        regression.input.exampleList.examples = [first, second]
        let regressed = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Regress", regression)))
        #expect(regressed.status == 0, "\(regressed.message ?? "")")
        #expect(try regressed.decode(Tensorflow_Serving_RegressionResponse.self).result.regressions.map(\.value) == [0.5, -1])

        regression.input.exampleList.examples = []
        let empty = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Regress", regression)))
        #expect(empty.status == 3)
        #expect(empty.message == "Input is empty.")
        regression.modelSpec.signatureName = "predict"
        regression.input.exampleList.examples = [first]
        let predict = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Regress", regression)))
        #expect(predict.status == 3)
        #expect(predict.message == "Expected regression signature method_name to be tensorflow/serving/regress. Was: tensorflow/serving/predict")
    }

    private func task(_ signature: String, _ method: String, model: String = "m") -> Tensorflow_Serving_InferenceTask {
        var task = Tensorflow_Serving_InferenceTask()
        task.modelSpec.name = model
        task.modelSpec.signatureName = signature
        task.methodName = method
        return task
    }

    @Test func grpcMultiInferenceRunsEveryTaskOnTheSameExamples() throws {
        let (router, servable) = makeRouter()
        var first = Tensorflow_Example(), second = Tensorflow_Example()
        first.features.feature["a"] = feature(floats: [2])
        first.features.feature["b"] = feature(floats: [0.5])
        second.features.feature["b"] = feature(floats: [-4])
        var request = Tensorflow_Serving_MultiInferenceRequest()
        request.tasks = [task("regress", "tensorflow/serving/regress"), task("", "tensorflow/serving/classify")]
        request.input.exampleList.examples = [first, second]
        let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/MultiInference", request)))
        #expect(answer.status == 0, "\(answer.message ?? "")")
        let response = try answer.decode(Tensorflow_Serving_MultiInferenceResponse.self)
        #expect(response.results.map(\.modelSpec.signatureName) == ["regress", "serving_default"])
        #expect(response.results.allSatisfy { $0.modelSpec.name == "m" && $0.modelSpec.version.value == 3 })
        #expect(response.results.first?.regressionResult.regressions.map(\.value) == [2.5, -4])
        #expect(response.results.last?.classificationResult.classifications.map { $0.classes.map(\.score) } == [[2, 0.5], [0, -4]])
        #expect(servable.calls.withLock { $0.map(\.signature).sorted() } == ["regress", "serving_default"])
    }

    @Test func grpcMultiInferenceChecksTasksAsTFServingDoes() throws {
        let other = SignatureSpec(
            name: "other", methodName: "tensorflow/serving/classify",
            inputs: ["inputs": Fixtures.spec(.string, [-1], tensor: "other_examples:0")],
            outputs: ["scores": Fixtures.spec(.float32, [-1, 2], tensor: "scores:0")])
        let servable = FakeServable(
            signatures: ["serving_default": Self.classify, "regress": Self.regress, "predict": Fixtures.floatSignature, "other": other],
            behaviour: Self.model)
        let router = APIRouter(backend: FakeBackend(servable: servable))
        var example = Tensorflow_Example()
        example.features.feature["a"] = feature(floats: [1])
        let classify = "tensorflow/serving/classify", regress = "tensorflow/serving/regress"
        let cases: [([Tensorflow_Serving_InferenceTask], Int, String)] = [
            ([], 3, "Expected at least one task"),
            ([task("regress", regress), task("", classify, model: "")], 3, "Found ModelSpec with an empty model name."),
            ([task("regress", regress), task("", classify, model: "n")], 3,
             "All ModelSpecs in a MultiInferenceRequest must access the same model name."),
            ([task("", classify), task("serving_default", classify)], 3, "Duplicate evaluation of signature: serving_default"),
            ([task("nope", classify)], 3, "Requested signature not found in model graph: nope"),
            ([task("predict", "tensorflow/serving/predict")], 12, "Unsupported signature method_name: tensorflow/serving/predict"),
            ([task("regress", classify)], 3,
             "Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/regress"),
            ([task("regress", regress), task("other", classify)], 3, "Input tensor must be the same for all Signatures."),
        ]
        for (tasks, status, message) in cases {
            var request = Tensorflow_Serving_MultiInferenceRequest()
            request.tasks = tasks
            request.input.exampleList.examples = [example]
            let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/MultiInference", request)))
            #expect(answer.status == status, "\(message)")
            #expect(answer.message == message)
        }
        #expect(servable.callCount == 0)

        var empty = Tensorflow_Serving_MultiInferenceRequest()
        empty.tasks = [task("regress", regress)]
        let noExamples = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/MultiInference", empty)))
        #expect(noExamples.status == 3)
        #expect(noExamples.message == "Input is empty.")
    }

    /// One failing task fails the whole request with that task's error.
    @Test func grpcMultiInferenceFailsWithTheFailingTask() throws {
        let (router, _) = makeRouter { signature, inputs in
            signature == "regress" ? .failure(.invalidArgument("regression broke")) : Self.model(signature, inputs)
        }
        var example = Tensorflow_Example()
        example.features.feature["a"] = feature(floats: [1])
        var request = Tensorflow_Serving_MultiInferenceRequest()
        request.tasks = [task("", "tensorflow/serving/classify"), task("regress", "tensorflow/serving/regress")]
        request.input.exampleList.examples = [example]
        let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/MultiInference", request)))
        #expect(answer.status == 3)
        #expect(answer.message == "regression broke")
    }

    private func feature(floats: [Float]) -> Tensorflow_Feature {
        var feature = Tensorflow_Feature()
        feature.floatList.value = floats
        return feature
    }
}
