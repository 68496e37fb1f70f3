import Foundation
import SavedModel
import TFProtos
import Testing

/// A version with `assets.extra/tf_serving_warmup_requests` replays them before it serves; a failing
/// request fails the load with a message naming it, and the version never serves — unless
/// `--enable_model_warmup=false` skips the file.
@Suite(.serialized) struct WarmupEndToEndTests {
    /// A copy of the TF1 parse_example fixture with `logs` as its warmup file; returns the base path.
    private func modelWithWarmup(_ logs: [Tensorflow_Serving_PredictionLog]) throws -> URL {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("warmup-\(UUID().uuidString)")
        let version = base.appendingPathComponent("1")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: ServerProcess.packageRoot.appendingPathComponent("Tests/Fixtures/models/parse_example_tf1/1"), to: version)
        let extra = version.appendingPathComponent("assets.extra")
        try FileManager.default.createDirectory(at: extra, withIntermediateDirectories: true)
        try Data(try WarmupRecords.file(logs)).write(to: extra.appendingPathComponent("tf_serving_warmup_requests"))
        return base
    }

    private var example: Tensorflow_Example {
        var example = Tensorflow_Example()
        var x = Tensorflow_Feature()
        x.floatList.value = [0.5, -1, 2, 0.25]
        example.features.feature["x"] = x
        return example
    }

    @Test func warmupRunsBeforeServingAndAFailingRequestFailsTheLoad() throws {
        var predict = Tensorflow_Serving_PredictionLog()
        predict.predictLog.request.modelSpec.signatureName = "predict"
        var examples = Tensorflow_TensorProto()
        examples.dtype = .dtString
        examples.tensorShape.dim = [{ var d = Tensorflow_TensorShapeProto.Dim(); d.size = 1; return d }()]
        examples.stringVal = [try example.serializedData()]
        predict.predictLog.request.inputs["examples"] = examples
        var classify = Tensorflow_Serving_PredictionLog()
        classify.classifyLog.request.input.exampleList.examples = [example, example]
        var regress = Tensorflow_Serving_PredictionLog()
        regress.regressLog.request.modelSpec.signatureName = "regress"
        regress.regressLog.request.input.exampleList.examples = [example]
        var multi = Tensorflow_Serving_PredictionLog()
        multi.multiInferenceLog.request.tasks = ["regress", ""].map { name in
            var task = Tensorflow_Serving_InferenceTask()
            task.modelSpec.signatureName = name
            task.methodName = name.isEmpty ? "tensorflow/serving/classify" : "tensorflow/serving/regress"
            return task
        }
        multi.multiInferenceLog.request.input.exampleList.examples = [example]

        let good = try modelWithWarmup([predict, classify, regress, multi])
        defer { try? FileManager.default.removeItem(at: good) }
        let server = try ServerProcess(arguments: ["--model_name=w", "--model_base_path=\(good.path)"])
        defer { _ = server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        try waitUntilAvailable(url, model: "w")
        let body = Data(#"{"examples": [{"x": [0.5, -1.0, 2.0, 0.25]}]}"#.utf8)
        #expect(try curl("\(url)/v1/models/w:classify", http2: false, method: "POST", body: body).status == 200)
        #expect(server.stop() == 0, "server log:\n\(server.log)")

        var wrong = multi
        wrong.multiInferenceLog.request.tasks[1].modelSpec.signatureName = "nope"
        let bad = try modelWithWarmup([classify, wrong])
        defer { try? FileManager.default.removeItem(at: bad) }
        let failing = try ServerProcess(arguments: ["--model_name=w", "--model_base_path=\(bad.path)", "--max_num_load_retries=0"])
        defer { _ = failing.stop() }
        let failingURL = "http://127.0.0.1:\(failing.port)"
        let deadline = Date().addingTimeInterval(60)
        var message = "", state = ""
        while Date() < deadline, state != "END" {
            let status = try curl("\(failingURL)/v1/models/w", http2: false)
            let versions = ((status.json as? [String: Any])?["model_version_status"] as? [[String: Any]]) ?? []
            state = (versions.first?["state"] as? String) ?? ""
            message = ((versions.first?["status"] as? [String: Any])?["error_message"] as? String) ?? ""
            if state != "END" { usleep(50_000) }
        }
        #expect(message.contains("warmup request 2 of 2 failed: no signature 'nope'"), "\(message)")
        let refused = try curl("\(failingURL)/v1/models/w:classify", http2: false, method: "POST", body: body)
        #expect(refused.status != 200)
        _ = failing.stop()

        let skipping = try ServerProcess(arguments: ["--model_name=w", "--model_base_path=\(bad.path)", "--enable_model_warmup=false"])
        defer { _ = skipping.stop() }
        let skippingURL = "http://127.0.0.1:\(skipping.port)"
        try waitUntilAvailable(skippingURL, model: "w")
        #expect(try curl("\(skippingURL)/v1/models/w:classify", http2: false, method: "POST", body: body).status == 200)
    }
}
