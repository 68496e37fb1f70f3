import Foundation
import NIOCore
import NIOPosix
import Synchronization
@testable import Transport

/// Counts requests that reached the handler, so a test can wait until one is in flight.
final class RequestCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// Echoes request bodies and offers a few routes that exercise the transport.
struct EchoHandler: ServerRequestHandler {
    var counter = RequestCounter()

    func handle(_ request: ServerRequest, writer: any ResponseWriter) {
        counter.increment()
        let route = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.path
        switch route {
        case "/delay":
            let milliseconds = Int(request.path.split(separator: "=").last ?? "") ?? 100
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
                writer.respond(ServerResponse(status: 200, headers: [HeaderField("content-type", "text/plain")], body: ByteBuffer(string: "late")))
            }
        case "/trailers":
            writer.respond(ServerResponse(
                status: 200,
                headers: [HeaderField("content-type", "application/grpc")],
                body: ByteBuffer(string: "payload"),
                trailers: [HeaderField("grpc-status", "0"), HeaderField("grpc-message", "ok")]
            ))
        default:
            writer.respond(ServerResponse(
                status: 200,
                headers: [HeaderField("x-method", request.method), HeaderField("x-version", request.version == .http2 ? "2" : "1.1")],
                body: request.body
            ))
        }
    }
}

struct ProcessResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var timedOut: Bool

    var text: String { String(decoding: stdout, as: UTF8.self) }
}

enum TestError: Error {
    case toolMissing(String)
}

/// A command-line client that is already running, with its input and output in temporary files
/// so a large body cannot block on a pipe.
final class RunningTool {
    private let process: Process
    private let files: [URL]
    private let handles: [FileHandle]
    private let outURL: URL
    private let errURL: URL

    /// Starts `tool` at once, on the calling thread, so it runs even while the test's tasks wait
    /// for a thread of their own.
    init(_ tool: String, _ arguments: [String], stdin: String? = nil) throws {
        let path = "/usr/bin/\(tool)"
        guard FileManager.default.isExecutableFile(atPath: path) else { throw TestError.toolMissing(tool) }
        let directory = FileManager.default.temporaryDirectory
        let inURL = directory.appendingPathComponent("transport-\(UUID().uuidString).in")
        outURL = directory.appendingPathComponent("transport-\(UUID().uuidString).out")
        errURL = directory.appendingPathComponent("transport-\(UUID().uuidString).err")
        files = [inURL, outURL, errURL]
        try Data((stdin ?? "").utf8).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        handles = [inHandle, outHandle, errHandle]
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if stdin != nil { process.standardInput = inHandle }
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        for handle in handles { try? handle.close() }
        for url in files { try? FileManager.default.removeItem(at: url) }
    }

    /// Waits for the tool to exit, terminating it after `timeout` seconds.
    func finish(timeout: Double = 30) async throws -> ProcessResult {
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                timedOut = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: try Data(contentsOf: outURL),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self),
            timedOut: timedOut
        )
    }
}

/// Runs a command-line client with a hard timeout, optionally feeding `stdin`.
func runTool(_ tool: String, _ arguments: [String], stdin: String? = nil, timeout: Double = 30) async throws -> ProcessResult {
    try await RunningTool(tool, arguments, stdin: stdin).finish(timeout: timeout)
}

func withServer(
    limits: HTTPServer.Limits = HTTPServer.Limits(),
    ports: [Int] = [0],
    _ body: (HTTPServer, [Int]) async throws -> Void
) async throws {
    let server = HTTPServer(
        configuration: HTTPServer.Configuration(host: "127.0.0.1", ports: ports, eventLoopThreads: 2, limits: limits),
        handler: EchoHandler()
    )
    let bound = try await server.start()
    do {
        try await body(server, bound)
    } catch {
        await server.shutdown(drainTimeout: .seconds(1))
        throw error
    }
    await server.shutdown(drainTimeout: .seconds(1))
}

func temporaryFile(bytes: Int) throws -> URL {
    var state = UInt64.random(in: 1...UInt64.max)
    var data = Data(count: bytes)
    data.withUnsafeMutableBytes { raw in
        var index = 0
        while index < raw.count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { word in
                for byte in word where index < raw.count {
                    raw[index] = byte
                    index += 1
                }
            }
        }
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("transport-body-\(UUID().uuidString)")
    try data.write(to: url)
    return url
}

/// A blocking loopback socket for sending exact byte sequences.
final class RawConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Reads until `count` bytes arrived, the peer closed, or the receive timeout hit.
    func receive(atLeast count: Int) -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while received.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received.append(contentsOf: chunk[0..<n])
        }
        return received
    }
}
