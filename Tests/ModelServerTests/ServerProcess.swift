import Foundation
import Synchronization

/// The built `model-server` binary running on an ephemeral loopback port for one test.
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    private let output: OutputCollector

    /// What the server printed so far, and the port once its "listening" line appeared.
    final class OutputCollector: Sendable {
        let text = Mutex("")
        let port = Mutex<Int?>(nil)
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `MODEL_SERVER_BINARY`, else the binary next to the test bundle.
    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["MODEL_SERVER_BINARY"] { return path }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("model-server").path
    }

    /// Starts the server with `arguments` (plus loopback host and port 0) and waits for its
    /// "listening" line.
    init(arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = ["--host=127.0.0.1", "--port=0"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputCollector()
        let ready = DispatchSemaphore(value: 0)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                ready.signal()
                return
            }
            let text = String(decoding: data, as: UTF8.self)
            let all = output.text.withLock { $0 += text; return $0 }
            if output.port.withLock({ $0 }) == nil, let port = Self.listeningPort(in: all) {
                output.port.withLock { $0 = port }
                ready.signal()
            }
        }
        try process.run()
        _ = ready.wait(timeout: .now() + 60)
        guard let port = output.port.withLock({ $0 }) else {
            process.terminate()
            throw ServerError.didNotStart(output.text.withLock { $0 })
        }
        self.process = process
        self.port = port
        self.output = output
    }

    enum ServerError: Error { case didNotStart(String) }

    static func listeningPort(in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.contains("listening on 127.0.0.1:") {
            guard let portText = line.split(separator: ":").last?.prefix(while: \.isNumber) else { continue }
            return Int(portText)
        }
        return nil
    }

    var log: String { output.text.withLock { $0 } }

    /// Sends SIGTERM and returns the exit status (waits up to 30 s, then kills).
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }
}

/// Result of one curl call.
struct CurlResult {
    var status: Int
    var body: Data
    var httpVersion: String
    var contentType = ""

    var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Runs curl once (Debian's curl breaks on a second request over one h2c connection).
func curl(_ url: String, http2: Bool, method: String = "GET", body: Data? = nil) throws -> CurlResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let bodyFile = FileManager.default.temporaryDirectory.appendingPathComponent("body-\(UUID().uuidString)")
    var arguments = ["curl", "-s", "--max-time", "20", http2 ? "--http2-prior-knowledge" : "--http1.1",
                     "-X", method, "-w", "\n%{http_code} %{http_version} %{content_type}", url]
    if let body {
        try body.write(to: bodyFile)
        arguments += ["-H", "content-type: application/json", "--data-binary", "@\(bodyFile.path)"]
    }
    defer { try? FileManager.default.removeItem(at: bodyFile) }
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let newline = data.lastIndex(of: UInt8(ascii: "\n")) else { return CurlResult(status: 0, body: data, httpVersion: "") }
    let trailer = String(decoding: data[(newline + 1)...], as: UTF8.self)
        .split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
    return CurlResult(status: Int(trailer.first ?? "") ?? 0, body: Data(data[..<newline]),
                      httpVersion: trailer.count > 1 ? String(trailer[1]) : "",
                      contentType: trailer.count > 2 ? String(trailer[2]) : "")
}
