import Foundation
import Testing

/// `--monitoring_config_file` turns on TF Serving's Prometheus endpoint on the server's own port.
@Suite(.serialized) struct MetricsEndToEndTests {
    static let metricsPath = "/monitoring/prometheus/metrics"

    /// A monitoring config file with `text`; the caller removes it.
    private func monitoringConfig(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("monitoring-\(UUID().uuidString).config")
        try Data(text.utf8).write(to: url)
        return url
    }

    /// The value of the sample line `series value`, where `series` is the name with its labels in order.
    private func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func scrapeShowsRequestCountsLatenciesAndLoadsInTensorFlowServingNames() throws {
        let config = try monitoringConfig(#"prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }"#)
        defer { try? FileManager.default.removeItem(at: config) }
        let modelPath = ServerProcess.packageRoot.appendingPathComponent("Tests/Fixtures/models/mlp_keras3").path
        let server = try ServerProcess(arguments: [
            "--model_name=mlp", "--model_base_path=\(modelPath)", "--monitoring_config_file=\(config.path)",
        ])
        defer { _ = server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        try waitUntilAvailable(base, model: "mlp")

        let good = Data(#"{"instances": [[1,2,3,4]]}"#.utf8)
        #expect(try curl("\(base)/v1/models/mlp:predict", http2: false, method: "POST", body: good).status == 200)
        #expect(try curl("\(base)/v1/models/mlp:predict", http2: true, method: "POST", body: good).status == 200)
        let bad = try curl("\(base)/v1/models/mlp:predict", http2: false, method: "POST", body: Data(#"{"instances": [[1,2,3]]}"#.utf8))
        #expect(bad.status == 400)
        let unknown = try curl("\(base)/v1/models/nosuchmodel:predict", http2: false, method: "POST", body: good)
        #expect(unknown.status == 404)

        let scrape = try curl("\(base)\(Self.metricsPath)", http2: false)
        #expect(scrape.status == 200)
        #expect(scrape.httpVersion == "1.1")
        #expect(scrape.contentType.hasPrefix("text/plain; version=0.0.4"), "\(scrape.contentType)")
        let text = scrape.text
        #expect(text.contains("# TYPE :tensorflow:serving:request_count counter"), "\(text)")
        #expect(sample(text, #":tensorflow:serving:request_count{model_name="mlp",status="OK"}"#) == 2, "\(text)")
        #expect(sample(text, #":tensorflow:serving:request_count{model_name="mlp",status="INVALID_ARGUMENT"}"#) == 1)
        #expect(sample(text, #":tensorflow:serving:request_count{model_name="nosuchmodel",status="NOT_FOUND"}"#) == 1)

        #expect(text.contains("# TYPE :tensorflow:serving:request_latency histogram"))
        let latency = #"model_name="mlp",API="Predict",entrypoint="REST""#
        #expect(sample(text, ":tensorflow:serving:request_latency_count{\(latency)}") == 2)
        #expect(sample(text, ":tensorflow:serving:request_latency_bucket{\(latency),le=\"+Inf\"}") == 2)
        let latencySum = try #require(sample(text, ":tensorflow:serving:request_latency_sum{\(latency)}"))
        #expect(latencySum > 0)
        let runtime = #"model_name="mlp",API="Predict",runtime="model-server""#
        #expect(sample(text, ":tensorflow:serving:runtime_latency_count{\(runtime)}") == 2)
        let runtimeSum = try #require(sample(text, ":tensorflow:serving:runtime_latency_sum{\(runtime)}"))
        #expect(runtimeSum <= latencySum)

        let loads = text.split(separator: "\n").filter { $0.hasPrefix(":tensorflow:cc:saved_model:load_attempt_count{") }
        let loaded = loads.filter { $0.contains("/mlp_keras3/1\",status=\"success\"} 1") }
        #expect(loaded.count == 1, "\(loads)")
        let loadLatency = text.split(separator: "\n").first { $0.hasPrefix(":tensorflow:cc:saved_model:load_latency{") }
        #expect((loadLatency?.split(separator: " ").last).flatMap { Double($0) } ?? 0 > 0, "\(String(describing: loadLatency))")
        #expect(text.contains(#":tensorflow:serving:batching_session:queuing_latency_count{thread_pool_name="batch"} "#))

        let overH2C = try curl("\(base)\(Self.metricsPath)", http2: true)
        #expect(overH2C.status == 200)
        #expect(overH2C.httpVersion == "2")
        #expect(sample(overH2C.text, #":tensorflow:serving:request_count{model_name="mlp",status="OK"}"#) == 2)

        #expect(try curl("\(base)\(Self.metricsPath)", http2: false, method: "POST", body: Data()).status == 405)
        #expect(try curl("\(base)\(Self.metricsPath)/more", http2: false).status == 404)
        #expect(server.stop() == 0, "server log:\n\(server.log)")
    }

    @Test func withoutAMonitoringConfigTheEndpointIsNotServed() throws {
        let modelPath = ServerProcess.packageRoot.appendingPathComponent("Tests/Fixtures/models/mlp_keras3").path
        let server = try ServerProcess(arguments: ["--model_name=mlp", "--model_base_path=\(modelPath)"])
        defer { _ = server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        try waitUntilAvailable(base, model: "mlp")
        #expect(try curl("\(base)\(Self.metricsPath)", http2: false).status == 404)

        let disabled = try monitoringConfig("prometheus_config { enable: false }")
        defer { try? FileManager.default.removeItem(at: disabled) }
        let quiet = try ServerProcess(arguments: [
            "--model_name=mlp", "--model_base_path=\(modelPath)", "--monitoring_config_file=\(disabled.path)",
        ])
        defer { _ = quiet.stop() }
        #expect(try curl("http://127.0.0.1:\(quiet.port)\(Self.metricsPath)", http2: false).status == 404)
    }

    @Test func anEnabledConfigWithoutAPathServesTheDefaultPath() throws {
        let config = try monitoringConfig("prometheus_config { enable: true }")
        defer { try? FileManager.default.removeItem(at: config) }
        let modelConfig = ServerProcess.packageRoot.appendingPathComponent("config/models.config").path
        let server = try ServerProcess(arguments: ["--model_config_file=\(modelConfig)", "--monitoring_config_file=\(config.path)"])
        defer { _ = server.stop() }
        let scrape = try curl("http://127.0.0.1:\(server.port)\(Self.metricsPath)", http2: false)
        #expect(scrape.status == 200)
        #expect(scrape.text.contains("# TYPE :tensorflow:serving:batching_session:queuing_latency histogram"), "\(scrape.text)")
    }

    @Test func aBadMonitoringConfigStopsStartupNamingTheFile() throws {
        let modelConfig = ServerProcess.packageRoot.appendingPathComponent("config/models.config").path
        let cases = [
            ("prometheus_config { enable: yes please }", "not a valid MonitoringConfig"),
            (#"prometheus_config { enable: true path: "/v1/metrics" }"#, "/v1"),
            (#"prometheus_config { enable: true path: "metrics" }"#, "absolute URL path"),
        ]
        for (text, problem) in cases {
            let config = try monitoringConfig(text)
            defer { try? FileManager.default.removeItem(at: config) }
            do {
                let server = try ServerProcess(arguments: ["--model_config_file=\(modelConfig)", "--monitoring_config_file=\(config.path)"])
                _ = server.stop()
                Issue.record("the server started with monitoring config \(text)")
            } catch ServerProcess.ServerError.didNotStart(let output) {
                #expect(output.contains(config.path), "\(output)")
                #expect(output.contains(problem), "\(output)")
            }
        }
        let missing = "/nonexistent/monitoring-\(UUID().uuidString).config"
        do {
            let server = try ServerProcess(arguments: ["--model_config_file=\(modelConfig)", "--monitoring_config_file=\(missing)"])
            _ = server.stop()
            Issue.record("the server started with a missing monitoring config")
        } catch ServerProcess.ServerError.didNotStart(let output) {
            #expect(output.contains(missing), "\(output)")
        }
    }
}
