import Foundation
import NIOCore
import Testing
@testable import Transport

@Suite("HTTPServer")
struct HTTPServerTests {
    @Test func sniffingDecidesOnThePreface() {
        let preface = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        #expect(ProtocolSniffer.decide(preface.readableBytesView) == .http2)
        #expect(ProtocolSniffer.decide(ByteBuffer(string: "PRI * HTTP/2.0\r\n").readableBytesView) == .needMoreBytes)
        #expect(ProtocolSniffer.decide(ByteBuffer().readableBytesView) == .needMoreBytes)
        #expect(ProtocolSniffer.decide(ByteBuffer(string: "GET / HTTP/1.1\r\n").readableBytesView) == .http1)
        #expect(ProtocolSniffer.decide(ByteBuffer(string: "PRI * HTTP/1.1\r\n").readableBytesView) == .http1)
    }

    @Test func http1EchoWithCurl() async throws {
        try await withServer { _, ports in
            let result = try await runTool("curl", [
                "-s", "--http1.1", "--max-time", "10", "--data-binary", "hello over one",
                "-D", "-", "http://127.0.0.1:\(ports[0])/echo",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.text.hasPrefix("HTTP/1.1 200"))
            #expect(result.text.contains("x-version: 1.1"))
            #expect(result.text.hasSuffix("hello over one"))
        }
    }

    @Test func h2cEchoWithCurl() async throws {
        try await withServer { _, ports in
            let result = try await runTool("curl", [
                "-s", "--http2-prior-knowledge", "--max-time", "10", "--data-binary", "hello over two",
                "-D", "-", "http://127.0.0.1:\(ports[0])/echo",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.text.hasPrefix("HTTP/2 200"))
            #expect(result.text.contains("x-version: 2"))
            #expect(result.text.contains("x-method: POST"))
            #expect(result.text.hasSuffix("hello over two"))
        }
    }

    @Test func upgradeRequestIsAnsweredAsHTTP1() async throws {
        try await withServer { _, ports in
            let result = try await runTool("curl", [
                "-s", "--http2", "--max-time", "10", "-D", "-", "http://127.0.0.1:\(ports[0])/echo",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.text.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func everyPortServesBothProtocols() async throws {
        try await withServer(ports: [0, 0]) { _, ports in
            #expect(ports.count == 2 && ports[0] != ports[1])
            for port in ports {
                for flag in ["--http1.1", "--http2-prior-knowledge"] {
                    let result = try await runTool("curl", ["-s", flag, "--max-time", "10", "-d", "x", "http://127.0.0.1:\(port)/echo"])
                    #expect(result.text == "x", "\(flag) on \(port): \(result.stderr)")
                }
            }
        }
    }

    @Test func multiMiBBodyThroughTinyWindows() async throws {
        let file = try temporaryFile(bytes: 5 << 20)
        defer { try? FileManager.default.removeItem(at: file) }
        let expected = try Data(contentsOf: file)
        try await withServer { _, ports in
            let result = try await runTool("nghttp", [
                "-w14", "-W14", "-d", file.path, "http://127.0.0.1:\(ports[0])/echo",
            ], timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.count == expected.count)
            #expect(result.stdout == expected)
        }
    }

    @Test func multiMiBBodyOverHTTP1() async throws {
        let file = try temporaryFile(bytes: 3 << 20)
        defer { try? FileManager.default.removeItem(at: file) }
        let expected = try Data(contentsOf: file)
        try await withServer { _, ports in
            let result = try await runTool("curl", [
                "-s", "--http1.1", "--max-time", "20", "--data-binary", "@\(file.path)", "http://127.0.0.1:\(ports[0])/echo",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == expected)
        }
    }

    @Test func responseTrailersOnHTTP2() async throws {
        try await withServer { _, ports in
            let result = try await runTool("nghttp", ["-v", "http://127.0.0.1:\(ports[0])/trailers"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.text.contains("grpc-status: 0"))
            #expect(result.text.contains("grpc-message: ok"))
            #expect(result.text.contains("payload"))
        }
    }

    @Test func manyConcurrentStreamsWithH2load() async throws {
        try await withServer { _, ports in
            let result = try await runTool("h2load", [
                "-n", "2000", "-c", "10", "-m", "20", "-d", "/etc/hostname", "http://127.0.0.1:\(ports[0])/echo",
            ], timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.text.contains("2000 succeeded, 0 failed, 0 errored"), "\(result.text)")
        }
    }

    @Test func largeResponsesOnManyStreamsRespectWritability() async throws {
        let file = try temporaryFile(bytes: 4 << 20)
        defer { try? FileManager.default.removeItem(at: file) }
        try await withServer { _, ports in
            let result = try await runTool("h2load", [
                "-n", "40", "-c", "2", "-m", "10", "-d", file.path, "http://127.0.0.1:\(ports[0])/echo",
            ], timeout: 90)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.text.contains("40 succeeded, 0 failed, 0 errored"), "\(result.text)")
        }
    }

    @Test func bodyOverTheLimitGets413() async throws {
        let file = try temporaryFile(bytes: 2 << 20)
        defer { try? FileManager.default.removeItem(at: file) }
        try await withServer(limits: HTTPServer.Limits(maxBodyBytes: 1 << 20)) { _, ports in
            for flag in ["--http1.1", "--http2-prior-knowledge"] {
                let result = try await runTool("curl", [
                    "-s", flag, "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}",
                    "--data-binary", "@\(file.path)", "http://127.0.0.1:\(ports[0])/echo",
                ])
                #expect(result.text == "413", "\(flag): \(result.text) \(result.stderr)")
            }
            // Chunked upload without a declared length: the limit is found while reading.
            let chunked = try await runTool("curl", [
                "-s", "--http1.1", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}",
                "-H", "Transfer-Encoding: chunked", "-H", "Expect:",
                "--data-binary", "@\(file.path)", "http://127.0.0.1:\(ports[0])/echo",
            ])
            #expect(chunked.text == "413", "chunked: \(chunked.text) \(chunked.stderr)")
            let h2 = try await runTool("nghttp", ["-d", file.path, "-s", "http://127.0.0.1:\(ports[0])/echo"])
            #expect(h2.text.contains("413") || h2.stderr.contains("413"), "\(h2.text) \(h2.stderr)")
        }
    }

    @Test func responseFromAnotherThreadArrives() async throws {
        try await withServer { _, ports in
            for flag in ["--http1.1", "--http2-prior-knowledge"] {
                let result = try await runTool("curl", ["-s", flag, "--max-time", "10", "http://127.0.0.1:\(ports[0])/delay?ms=300"])
                #expect(result.text == "late", "\(flag): \(result.stderr)")
            }
        }
    }

    @Test(arguments: ["--http1.1", "--http2-prior-knowledge"])
    func shutdownLetsInFlightRequestsFinish(flag: String) async throws {
        let handler = EchoHandler()
        let server = HTTPServer(
            configuration: HTTPServer.Configuration(host: "127.0.0.1", ports: [0], eventLoopThreads: 1),
            handler: handler
        )
        let ports = try await server.start()
        let request = try RunningTool("curl", ["-s", flag, "--max-time", "10", "-w", " %{http_code}", "http://127.0.0.1:\(ports[0])/delay?ms=1500"])
        let waitLimit = ContinuousClock.now + .seconds(10)
        while handler.counter.value == 0 && ContinuousClock.now < waitLimit {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(handler.counter.value == 1)
        let started = ContinuousClock.now
        await server.shutdown(drainTimeout: .seconds(30))
        let elapsed = ContinuousClock.now - started
        let result = try await request.finish()
        #expect(result.text == "late 200", "\(result.stderr)")
        // Shutdown returns when the last request is answered, not at the drain deadline (generous for loaded CI machines).
        #expect(elapsed < .seconds(20))
        let refused = try await runTool("curl", ["-s", flag, "--max-time", "5", "http://127.0.0.1:\(ports[0])/echo"])
        #expect(refused.status != 0)
    }

    @Test func partialFirstReadIsSniffedCorrectly() async throws {
        try await withServer { _, ports in
            let http1 = try RawConnection(port: ports[0])
            http1.send(Array("GE".utf8))
            try await Task.sleep(for: .milliseconds(100))
            http1.send(Array("T /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            let answer = String(decoding: http1.receive(atLeast: 1 << 20), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 200"))

            let http2 = try RawConnection(port: ports[0])
            let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
            http2.send(Array(preface[0..<10]))
            try await Task.sleep(for: .milliseconds(100))
            http2.send(Array(preface[10...]) + [0, 0, 0, 4, 0, 0, 0, 0, 0])
            let frames = http2.receive(atLeast: 9)
            #expect(frames.count >= 9)
            #expect(frames.count >= 9 && frames[3] == 4, "first server frame must be SETTINGS")
        }
    }

    @Test func badPrefaceClosesTheConnection() async throws {
        try await withServer { _, ports in
            let connection = try RawConnection(port: ports[0])
            connection.send(Array("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".utf8))
            let reply = connection.receive(atLeast: 1 << 20)
            #expect(reply.count < 1 << 20)
        }
    }

    @Test func idleConnectionsAreClosed() async throws {
        let server = HTTPServer(
            configuration: HTTPServer.Configuration(
                host: "127.0.0.1", ports: [0], eventLoopThreads: 1, idleTimeout: .milliseconds(400)),
            handler: EchoHandler()
        )
        let ports = try await server.start()

        let silent = try RawConnection(port: ports[0])
        let started = ContinuousClock.now
        #expect(silent.receive(atLeast: 1).isEmpty, "a silent connection is closed")
        let elapsed = ContinuousClock.now - started
        #expect(elapsed > .milliseconds(300) && elapsed < .seconds(4), "closed after \(elapsed)")

        let http2 = try RawConnection(port: ports[0])
        http2.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0])
        var frames = http2.receive(atLeast: 1 << 20)
        var types: [UInt8] = []
        while frames.count >= 9 {
            let length = Int(frames[0]) << 16 | Int(frames[1]) << 8 | Int(frames[2])
            types.append(frames[3])
            frames.removeFirst(min(frames.count, 9 + length))
        }
        #expect(types.contains(7), "an idle HTTP/2 connection gets GOAWAY before it is closed: \(types)")
        await server.shutdown(drainTimeout: .seconds(1))
    }
}
