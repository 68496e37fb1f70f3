import Foundation
import Synchronization
import Testing

/// Sends predictions in a loop on a background thread and records every HTTP status.
final class RequestLoop: Sendable {
    private let statuses = Mutex<[Int]>([])
    private let running = Mutex(true)
    private let finished = DispatchSemaphore(value: 0)

    init(url: String, body: Data, maxDuration: TimeInterval = 120) {
        let thread = Thread { [self] in
            let deadline = Date().addingTimeInterval(maxDuration)
            while running.withLock({ $0 }), Date() < deadline {
                let status = (try? curl(url, http2: false, method: "POST", body: body).status) ?? -1
                statuses.withLock { $0.append(status) }
            }
            finished.signal()
        }
        thread.start()
    }

    func stop() -> [Int] {
        running.withLock { $0 = false }
        _ = finished.wait(timeout: .now() + 30)
        return statuses.withLock { $0 }
    }
}

func copyDirectory(_ source: URL, to destination: URL) throws {
    let staging = destination.deletingLastPathComponent().appendingPathComponent(".staging-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: source, to: staging)
    try FileManager.default.moveItem(at: staging, to: destination)
}

func latestVersion(_ base: String, model: String) -> String? {
    guard let result = try? curl("\(base)/v1/models/\(model)/metadata", http2: false), result.status == 200,
          let spec = (result.json as? [String: Any])?["model_spec"] as? [String: Any] else { return nil }
    return spec["version"] as? String
}

func waitFor(_ what: String, timeout: TimeInterval = 60, _ condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return }
        usleep(100_000)
    }
    Issue.record("timed out waiting for \(what)")
}

@Suite(.serialized) struct RolloutTests {
    @Test func droppingAndRemovingAVersionDirectoryRollsOutAndBackWithoutAFailedRequest() throws {
        let fixtures = ServerProcess.packageRoot.appendingPathComponent("Tests/Fixtures/models")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("rollout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        try copyDirectory(fixtures.appendingPathComponent("mlp_keras3/1"), to: base.appendingPathComponent("1"))

        let server = try ServerProcess(arguments: [
            "--model_name=m", "--model_base_path=\(base.path)", "--file_system_poll_wait_seconds=1",
        ])
        defer { _ = server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        try waitUntilAvailable(url, model: "m")
        // Both versions take one float32 input of width 4, under different keys: a row-format body
        // with plain values fits either.
        let loop = RequestLoop(url: "\(url)/v1/models/m:predict", body: Data(#"{"instances": [[1, 2, 3, 4]]}"#.utf8))

        try copyDirectory(fixtures.appendingPathComponent("mlp_keras3_saved_model_save/1"),
                          to: base.appendingPathComponent("2"))
        waitFor("version 2 to serve") { latestVersion(url, model: "m") == "2" }
        let status = try curl("\(url)/v1/models/m", http2: false)
        let versions = ((status.json as? [String: Any])?["model_version_status"] as? [[String: Any]]) ?? []
        #expect(versions.first?["version"] as? String == "2")
        #expect(versions.first?["state"] as? String == "AVAILABLE")

        try FileManager.default.removeItem(at: base.appendingPathComponent("2"))
        waitFor("version 1 to serve again") { latestVersion(url, model: "m") == "1" }

        let statuses = loop.stop()
        #expect(statuses.count > 5)
        #expect(statuses.allSatisfy { $0 == 200 }, "statuses seen: \(Set(statuses))")
        #expect(server.stop() == 0)
    }

    @Test func modelConfigFileServesSeveralModelsAndReloads() throws {
        let root = ServerProcess.packageRoot
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("models.config")
        let digits = root.appendingPathComponent("examples/models/digits").path
        let mlp = root.appendingPathComponent("Tests/Fixtures/models/mlp_tf_module").path
        func writeConfig(_ models: [(String, String)]) throws {
            let entries = models.map { name, path in
                "config { name: \"\(name)\" base_path: \"\(path)\" model_platform: \"tensorflow\" version_labels { key: \"stable\" value: 1 } }"
            }
            try ("model_config_list {\n" + entries.joined(separator: "\n") + "\n}\n").write(to: configPath, atomically: true, encoding: .utf8)
        }
        try writeConfig([("digits", digits)])

        let server = try ServerProcess(arguments: [
            "--model_config_file=\(configPath.path)", "--model_config_file_poll_wait_seconds=1",
        ])
        defer { _ = server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        try waitUntilAvailable(url, model: "digits")
        let request = try Data(contentsOf: root.appendingPathComponent("examples/requests/digits.json"))
        #expect(try curl("\(url)/v1/models/digits/labels/stable:predict", http2: true, method: "POST", body: request).status == 200)

        try writeConfig([("digits", digits), ("mlp", mlp)])
        try waitUntilAvailable(url, model: "mlp")
        let logits = try curl("\(url)/v1/models/mlp:predict", http2: false, method: "POST",
                              body: Data(#"{"signature_name": "logits", "instances": [[1, 2, 3, 4]]}"#.utf8))
        #expect(logits.status == 200, "\(logits.text)")

        try writeConfig([("mlp", mlp)])
        waitFor("digits to be unloaded") {
            (try? curl("\(url)/v1/models/digits:predict", http2: false, method: "POST", body: request).status) == 404
        }
        #expect(server.stop() == 0)
    }

    /// Runs the server with `arguments` until it exits by itself; its exit status and output.
    private func runUntilExit(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        process.arguments = ["--host=127.0.0.1", "--port=0"] + arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func invalidConfigurationFailsAtStartWithAClearMessage() throws {
        let (status, output) = try runUntilExit(["--model_config_file=/nonexistent/models.config"])
        #expect(status != 0)
        #expect(output.contains("/nonexistent/models.config"), "\(output)")
    }

    /// A latency target without batching, or beside TF Serving's timeout mode, stops the server with
    /// the rule it breaks.
    @Test func latencyTargetNeedsAdaptiveBatching() throws {
        let parameters = FileManager.default.temporaryDirectory.appendingPathComponent("timeout-\(UUID().uuidString).config")
        try "max_batch_size { value: 8 }\nbatch_timeout_micros { value: 1000 }\n".write(to: parameters, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: parameters) }
        let cases: [([String], String)] = [
            ([], "--batching_latency_target_micros needs batching: add --enable_batching or --batching_parameters_file"),
            (["--batching_parameters_file=\(parameters.path)"],
             "a batching latency target needs adaptive batching (batch_timeout_micros 0), got batch_timeout_micros 1000"),
            (["--enable_batching", "--batching_latency_target_micros=-5"],
             "--batching_latency_target_micros must be 0 (off) or a number of microseconds"),
        ]
        let digits = ServerProcess.packageRoot.appendingPathComponent("examples/models/digits").path
        for (extra, message) in cases {
            let (status, output) = try runUntilExit(
                ["--model_name=digits", "--model_base_path=\(digits)", "--batching_latency_target_micros=500"] + extra)
            #expect(status != 0, "\(extra)")
            #expect(output.contains(message), "\(extra): \(output)")
        }
    }

    @Test func tensorByteCapMustBePositive() throws {
        let (status, output) = try runUntilExit(["--model_name=digits", "--model_base_path=/nonexistent", "--max_tensor_bytes=0"])
        #expect(status != 0)
        #expect(output.contains("--max_tensor_bytes must be at least 1"), "\(output)")
    }
}
