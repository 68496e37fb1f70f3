import Foundation
import Testing

/// A TensorFlow Serving command line starts the server unchanged: flags with no meaning here are
/// accepted and reported, the CORS flag takes effect, and a flag the server cannot honour stops it.
@Suite(.serialized) struct TFServingFlagsEndToEndTests {
    private let modelPath = ServerProcess.packageRoot.appendingPathComponent("examples/models/digits").path

    /// Status line and header fields of one curl request (`-i`), names lowercased.
    private func headers(_ url: String, method: String, extra: [String] = []) throws -> (status: Int, fields: [String: String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-i", "--max-time", "20", "--http1.1", "-X", method, url] + extra
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, fields)
    }

    @Test func tensorFlowServingCommandLinesStart() throws {
        let server = try ServerProcess(arguments: [
            "--model_name=digits", "--model_base_path=\(modelPath)",
            "--grpc_max_threads=8", "--tensorflow_inter_op_parallelism", "4", "--enable_signature_method_name_check",
            "--tensorflow_session_parallelism=2", "--rest_api_timeout_in_ms=5000", "--num_request_iterations_for_warmup=2",
            "--rest_api_enable_cors_support",
        ])
        defer { _ = server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        try waitUntilAvailable(base, model: "digits")
        for flag in ["--grpc_max_threads=8", "--tensorflow_inter_op_parallelism 4", "--enable_signature_method_name_check"] {
            #expect(server.log.contains("ignoring \(flag): a TensorFlow Serving flag with no effect here"), "\(server.log)")
        }

        let preflight = try headers("\(base)/v1/models/digits:predict", method: "OPTIONS",
                                    extra: ["-H", "Origin: https://example.org", "-H", "Access-Control-Request-Method: POST"])
        #expect(preflight.status == 204)
        #expect(preflight.fields["access-control-allow-origin"] == "*")
        let request = ServerProcess.packageRoot.appendingPathComponent("examples/requests/digits.json").path
        let predict = try headers("\(base)/v1/models/digits:predict", method: "POST",
                                  extra: ["-H", "content-type: application/json", "--data-binary", "@\(request)"])
        #expect(predict.status == 200)
        #expect(predict.fields["access-control-allow-origin"] == "*")
        #expect(server.stop() == 0, "server log:\n\(server.log)")
    }

    @Test func unsupportedFlagsStopTheServerSayingWhy() throws {
        do {
            let server = try ServerProcess(arguments: ["--model_name=digits", "--model_base_path=\(modelPath)", "--grpc_socket_path=/tmp/x.sock"])
            _ = server.stop()
            Issue.record("the server started with --grpc_socket_path")
        } catch ServerProcess.ServerError.didNotStart(let log) {
            #expect(log.contains("--grpc_socket_path: gRPC on a Unix socket is not supported"), "\(log)")
        }
    }
}
