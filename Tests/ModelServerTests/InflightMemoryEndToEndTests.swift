import Foundation
import SwiftProtobuf
import TFProtos
import Testing

/// Many concurrent requests that each make the model compute a large tensor: the in-flight byte
/// budget keeps the server's memory bounded, refuses the excess with RESOURCE_EXHAUSTED naming the
/// flag, and small requests sent meanwhile are answered.
@Suite("In-flight memory", .serialized)
struct InflightMemoryEndToEndTests {
    /// `y = Sum(Fill(dims, 1.0))`: a request of a few bytes makes the model hold dims[0]·dims[1] floats.
    static func writeFillModel() throws -> URL {
        func node(_ name: String, _ op: String, _ inputs: [String] = [], _ attrs: [String: Tensorflow_AttrValue]) -> Tensorflow_NodeDef {
            .with { $0.name = name; $0.op = op; $0.input = inputs; $0.attr = attrs }
        }
        let float = Tensorflow_AttrValue.with { $0.type = .dtFloat }
        let int32 = Tensorflow_AttrValue.with { $0.type = .dtInt32 }
        let graph = Tensorflow_GraphDef.with {
            $0.node = [
                node("dims", "Placeholder", [], ["dtype": int32]),
                node("one", "Const", [], ["dtype": float, "value": .with { $0.tensor = .with { $0.dtype = .dtFloat; $0.floatVal = [1] } }]),
                node("axes", "Const", [], ["dtype": int32, "value": .with { $0.tensor = .with {
                    $0.dtype = .dtInt32; $0.tensorShape = .with { $0.dim = [.with { $0.size = 2 }] }; $0.intVal = [0, 1]
                } }]),
                node("fill", "Fill", ["dims", "one"], ["T": float, "index_type": int32]),
                node("y", "Sum", ["fill", "axes"], ["T": float, "Tidx": int32, "keep_dims": .with { $0.b = false }]),
            ]
        }
        let signature = Tensorflow_SignatureDef.with {
            $0.methodName = "tensorflow/serving/predict"
            $0.inputs["dims"] = .with { info in
                info.name = "dims:0"
                info.dtype = .dtInt32
                info.tensorShape = .with { $0.dim = [.with { $0.size = 2 }] }
            }
            $0.outputs["y"] = .with { info in
                info.name = "y:0"
                info.dtype = .dtFloat
                info.tensorShape = .with { _ in }
            }
        }
        let model = Tensorflow_SavedModel.with {
            $0.savedModelSchemaVersion = 1
            $0.metaGraphs = [.with { meta in
                meta.metaInfoDef = .with { $0.tags = ["serve"] }
                meta.graphDef = graph
                meta.signatureDef["serving_default"] = signature
            }]
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("fill-model-\(UUID().uuidString)")
        let version = base.appendingPathComponent("1")
        try FileManager.default.createDirectory(at: version, withIntermediateDirectories: true)
        let bytes: Data = try model.serializedBytes()
        try bytes.write(to: version.appendingPathComponent("saved_model.pb"))
        return base
    }

    static func body(_ rows: Int, _ columns: Int) -> Data { Data("{\"inputs\": {\"dims\": [\(rows), \(columns)]}}".utf8) }

    /// Peak resident memory of a process, from /proc (`VmHWM`), in bytes.
    static func peakResidentBytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kib << 10
    }

    @Test func concurrentHostileFillsStayWithinTheBudget() async throws {
        let base = try Self.writeFillModel()
        defer { try? FileManager.default.removeItem(at: base) }
        let server = try ServerProcess(arguments: [
            "--model_name=fill", "--model_base_path=\(base.path)", "--num_batch_threads=16",
            "--max_inflight_request_bytes=\(300 << 20)", "--file_system_poll_wait_seconds=0",
        ])
        defer { _ = server.stop() }
        let url = "http://127.0.0.1:\(server.port)/v1/models/fill:predict"
        let waitLimit = Date().addingTimeInterval(30)
        while (try? curl(url, http2: false, method: "POST", body: Self.body(2, 2)))?.status != 200, Date() < waitLimit {
            try await Task.sleep(for: .milliseconds(100))
        }
        let baseline = Self.peakResidentBytes(server.process.processIdentifier) ?? 0

        // 64 requests at once, each making the model fill 128 MiB (8192 × 4096 float32).
        let outputs = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outputs) }
        let hostileBody = outputs.appendingPathComponent("body.json")
        try Self.body(8192, 4096).write(to: hostileBody)
        var arguments = ["-s", "--http1.1", "-Z", "--parallel-max", "64", "--max-time", "60",
                         "-H", "content-type: application/json", "--data-binary", "@\(hostileBody.path)",
                         "-w", "%{http_code}\n"]
        for index in 0..<64 { arguments += ["-o", outputs.appendingPathComponent("\(index).json").path, url] }
        let barrage = try BackgroundCurl(arguments)

        var goodStatuses: [Int] = []
        for _ in 0..<20 {
            let good = try curl(url, http2: false, method: "POST", body: Self.body(3, 5))
            goodStatuses.append(good.status)
            if good.status == 200 {
                #expect((good.json as? [String: Any])?["outputs"] as? Double == 15, "\(good.text)")
            }
        }
        let hostile = try await barrage.output(timeout: 120)
        let codes = hostile.split(separator: "\n").compactMap { Int($0) }
        let peak = Self.peakResidentBytes(server.process.processIdentifier) ?? .max

        #expect(goodStatuses.allSatisfy { $0 == 200 }, "good requests: \(goodStatuses)")
        #expect(codes.count == 64, "\(hostile)")
        #expect(codes.allSatisfy { $0 == 200 || $0 == 429 }, "\(codes); server log: \(server.log.suffix(3000))")
        #expect(codes.contains(429), "\(codes)")
        let refusals = try FileManager.default.contentsOfDirectory(atPath: outputs.path)
            .compactMap { try? String(contentsOf: outputs.appendingPathComponent($0), encoding: .utf8) }
            .filter { $0.contains("error") }
        #expect(refusals.contains { $0.contains("--max_inflight_request_bytes") }, "\(refusals.prefix(2))")
        // 300 MiB of budget, up to 512 MiB of freed buffers kept for reuse, the binary and its model;
        // without the budget 16 batch threads would hold 2 GiB of fills at once.
        #expect(peak - baseline < 900 << 20, "peak RSS \(peak >> 20) MiB, \(baseline >> 20) MiB before the requests")
        print("in-flight memory: peak RSS \(peak >> 20) MiB (\(baseline >> 20) MiB before), hostile answers \(Dictionary(grouping: codes, by: { $0 }).mapValues(\.count))")
    }

    /// A computed tensor over the element cap or the byte cap is refused naming the flag; one at the
    /// cap is computed. (1000 x 1000 float32 is 4000000 bytes, exactly the byte cap.)
    @Test(arguments: [
        ("--max_tensor_elements=1000000", (10, 10), (2000, 1000), "more than the limit of 1000000 (--max_tensor_elements)"),
        ("--max_tensor_bytes=4000000", (1000, 1000), (1001, 1000),
         "would hold 4004000 bytes, more than the limit of 4000000 (--max_tensor_bytes)"),
    ])
    func aTensorOverACapIsRefused(flag: String, fits: (Int, Int), over: (Int, Int), message: String) async throws {
        let base = try Self.writeFillModel()
        defer { try? FileManager.default.removeItem(at: base) }
        let server = try ServerProcess(arguments: [
            "--model_name=fill", "--model_base_path=\(base.path)", flag, "--file_system_poll_wait_seconds=0",
        ])
        defer { _ = server.stop() }
        let url = "http://127.0.0.1:\(server.port)/v1/models/fill:predict"
        let waitLimit = Date().addingTimeInterval(30)
        var fitting = try curl(url, http2: false, method: "POST", body: Self.body(fits.0, fits.1))
        while fitting.status != 200, Date() < waitLimit {
            try await Task.sleep(for: .milliseconds(100))
            fitting = try curl(url, http2: false, method: "POST", body: Self.body(fits.0, fits.1))
        }
        #expect(fitting.status == 200)
        let large = try curl(url, http2: false, method: "POST", body: Self.body(over.0, over.1))
        #expect(large.status == 429, "\(large.text)")
        #expect(large.text.contains(message), "\(large.text)")
    }
}

/// A curl started at once on the calling thread, so it runs while the test goes on; its standard
/// output must stay within a pipe's buffer.
struct BackgroundCurl {
    private let process = Process()
    private let pipe = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for curl to exit, terminating it after `timeout` seconds, and returns its standard output.
    func output(timeout: TimeInterval) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
