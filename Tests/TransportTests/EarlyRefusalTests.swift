import Foundation
import NIOCore
import Testing
@testable import Transport

/// A body announced or sent beyond a limit is answered at once, before the rest of it is read.
@Suite("Early refusal")
struct EarlyRefusalTests {
    static let limits = HTTPServer.Limits(maxBodyBytes: 1024)

    @Test func http1DeclaredLengthIsRefusedBeforeTheBody() async throws {
        try await withServer(limits: Self.limits) { _, ports in
            let connection = try RawConnection(port: ports[0])
            let started = ContinuousClock.now
            connection.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n".utf8))
            let answer = String(decoding: connection.receive(atLeast: 1 << 20), as: UTF8.self)
            let elapsed = ContinuousClock.now - started
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(answer.contains("connection: close"))
            #expect(answer.contains("Request body of 99999999999 bytes exceeds the limit of 1024 bytes (--max_request_body_bytes)"))
            #expect(elapsed < .seconds(2), "answered and closed after \(elapsed)")
        }
    }

    @Test func http1ChunkedBodyIsRefusedWhenItPassesTheLimit() async throws {
        try await withServer(limits: Self.limits) { _, ports in
            let connection = try RawConnection(port: ports[0])
            let chunk = String(repeating: "x", count: 2000)
            connection.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n\(chunk)\r\n".utf8))
            let answer = String(decoding: connection.receive(atLeast: 1 << 20), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(answer.contains("exceeds the limit of 1024 bytes (--max_request_body_bytes)"))
        }
    }

    @Test func http1BodyWithinTheLimitIsServedAfterARefusal() async throws {
        try await withServer(limits: Self.limits) { _, ports in
            let refused = try RawConnection(port: ports[0])
            refused.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n".utf8))
            #expect(String(decoding: refused.receive(atLeast: 1 << 20), as: UTF8.self).hasPrefix("HTTP/1.1 413"))
            let good = try RawConnection(port: ports[0])
            good.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".utf8))
            let answer = String(decoding: good.receive(atLeast: 1 << 20), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("hello"), "\(answer)")
        }
    }

    private static func requestFields(_ port: Int, _ extra: [(String, String)]) -> [(String, String)] {
        [(":method", "POST"), (":path", "/echo"), (":scheme", "http"), (":authority", "127.0.0.1:\(port)")] + extra
    }

    /// Reads frames until the server answers stream 1 (its HEADERS, and DATA up to END_STREAM).
    private static func answer(on connection: RawConnection) -> [RawHTTP2.Frame] {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let more = connection.receive(atLeast: 1)
            if more.isEmpty { break }
            received += more
            let frames = RawHTTP2.parse(received)
            if frames.contains(where: { $0.stream == 1 && $0.flags & 0x1 != 0 && ($0.type == 0 || $0.type == 1) }) {
                return frames.filter { $0.stream == 1 }
            }
        }
        return RawHTTP2.parse(received).filter { $0.stream == 1 }
    }

    @Test func http2DeclaredLengthIsRefusedBeforeTheBody() async throws {
        try await withServer(limits: Self.limits) { _, ports in
            let connection = try RawConnection(port: ports[0])
            connection.send(RawHTTP2.request(Self.requestFields(ports[0], [("content-length", "99999999999")])))
            let frames = Self.answer(on: connection)
            let fields = RawHTTP2.headerFields(frames)
            #expect(fields.first { $0.0 == ":status" }?.1 == "413", "\(fields)")
            let body = String(decoding: frames.filter { $0.type == 0 }.flatMap(\.payload), as: UTF8.self)
            #expect(body.contains("Request body of 99999999999 bytes exceeds the limit of 1024 bytes (--max_request_body_bytes)"), "\(body)")
        }
    }

    @Test func http2DataBeyondTheLimitIsRefusedAtOnce() async throws {
        try await withServer(limits: Self.limits) { _, ports in
            let connection = try RawConnection(port: ports[0])
            connection.send(RawHTTP2.request(Self.requestFields(ports[0], []))
                + RawHTTP2.frame(type: 0, flags: 0, stream: 1, payload: [UInt8](repeating: 1, count: 2000)))
            let frames = Self.answer(on: connection)
            let fields = RawHTTP2.headerFields(frames)
            #expect(fields.first { $0.0 == ":status" }?.1 == "413", "\(fields)")
            let body = String(decoding: frames.filter { $0.type == 0 }.flatMap(\.payload), as: UTF8.self)
            #expect(body.contains("exceeds the limit of 1024 bytes (--max_request_body_bytes)"), "\(body)")
        }
    }

    @Test func grpcDeclaredLengthGetsResourceExhausted() async throws {
        try await withServer(limits: Self.limits) { _, ports in
            let connection = try RawConnection(port: ports[0])
            connection.send(RawHTTP2.request(Self.requestFields(ports[0], [
                ("content-type", "application/grpc"), ("te", "trailers"), ("content-length", "4294967300"),
            ])))
            let fields = RawHTTP2.headerFields(Self.answer(on: connection))
            #expect(fields.first { $0.0 == ":status" }?.1 == "200", "\(fields)")
            #expect(fields.first { $0.0 == "grpc-status" }?.1 == "8", "\(fields)")
            let message = fields.first { $0.0 == "grpc-message" }.map { GRPCStatusMessage.percentDecode($0.1) } ?? ""
            #expect(message.contains("exceeds the limit of 1024 bytes (--max_request_body_bytes)"), "\(message)")
        }
    }
}
