import NIOCore
import Testing
@testable import Transport

@Suite("gRPC framing")
struct GRPCFramingTests {
    private func framed(_ payload: [UInt8], compressed: Bool = false, declaredLength: UInt32? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(compressed ? 1 : 0))
        buffer.writeInteger(declaredLength ?? UInt32(payload.count), endianness: .big)
        buffer.writeBytes(payload)
        return buffer
    }

    private func unary(_ body: ByteBuffer, encoding: GRPCMessageEncoding = .identity, limit: Int = 1 << 20) throws(GRPCStatus) -> [UInt8] {
        Array(try GRPCUnaryFraming.unaryMessage(from: body, encoding: encoding, maxMessageBytes: limit).readableBytesView)
    }

    private func status(_ body: ByteBuffer, encoding: GRPCMessageEncoding = .identity, limit: Int = 1 << 20) -> GRPCStatus? {
        do {
            _ = try unary(body, encoding: encoding, limit: limit)
            return nil
        } catch {
            return error
        }
    }

    @Test func oneMessageRoundTrips() throws {
        let payload: [UInt8] = [1, 2, 3, 4, 5, 6, 7]
        let (body, encoding) = GRPCUnaryFraming.frame(payload)
        #expect(encoding == .identity)
        #expect(body.readableBytes == 12)
        #expect(try unary(body) == payload)
        #expect(try unary(framed([])) == [])
    }

    @Test func bodyAssembledFromSplitReadsParses() throws {
        let payload = Array("split across reads".utf8)
        let whole = framed(payload)
        var reassembled = ByteBuffer()
        for cut in [2, 5, 9] {
            var part = whole
            part.moveReaderIndex(forwardBy: reassembled.readableBytes)
            var piece = part.readSlice(length: cut - reassembled.readableBytes) ?? ByteBuffer()
            reassembled.writeBuffer(&piece)
        }
        var rest = whole
        rest.moveReaderIndex(forwardBy: reassembled.readableBytes)
        reassembled.writeBuffer(&rest)
        #expect(try unary(reassembled) == payload)
    }

    @Test func coalescedMessagesAreAStreamingCall() {
        var body = framed([1, 2])
        var second = framed([3])
        body.writeBuffer(&second)
        #expect(status(body)?.code == .unimplemented)
    }

    @Test func emptyBodyIsInternal() {
        #expect(status(ByteBuffer())?.code == .internal)
    }

    @Test func truncatedPrefixAndMessageAreInternal() {
        #expect(status(ByteBuffer(bytes: [0, 0, 0]))?.code == .internal)
        #expect(status(framed([1, 2, 3], declaredLength: 10))?.code == .internal)
        var trailing = framed([1])
        trailing.writeBytes([0, 0])
        #expect(status(trailing)?.code == .internal)
    }

    @Test func invalidCompressedFlagIsInternal() {
        var body = ByteBuffer()
        body.writeBytes([2, 0, 0, 0, 0])
        #expect(status(body)?.code == .internal)
    }

    @Test func oversizedMessageIsResourceExhausted() {
        #expect(status(framed([UInt8](repeating: 7, count: 100)), limit: 99)?.code == .resourceExhausted)
        #expect(status(framed([1], declaredLength: UInt32.max), limit: 1 << 20)?.code == .resourceExhausted)
    }

    @Test func compressedMessagesInflate() throws {
        let payload = [UInt8](repeating: 42, count: 10_000) + Array("tail".utf8)
        for encoding in [GRPCMessageEncoding.gzip, .deflate] {
            let (body, used) = GRPCUnaryFraming.frame(payload, encoding: encoding)
            #expect(used == encoding)
            #expect(body.readableBytes < payload.count)
            #expect(body.getInteger(at: body.readerIndex, as: UInt8.self) == 1)
            #expect(try unary(body, encoding: encoding) == payload)
        }
    }

    @Test func gzipOutputIsRealGzip() throws {
        let compressed = try #require(GRPCCompression.compress(Array("hello".utf8), encoding: .gzip))
        #expect(compressed.prefix(2) == [0x1F, 0x8B])
    }

    @Test func compressedFlagWithoutEncodingIsInternal() throws {
        let compressed = try #require(GRPCCompression.compress([1, 2, 3], encoding: .gzip))
        #expect(status(framed(compressed, compressed: true))?.code == .internal)
    }

    @Test func uncompressedMessageUnderAnEncodingIsTakenAsIs() throws {
        #expect(try unary(framed([9, 8]), encoding: .gzip) == [9, 8])
    }

    @Test func decompressionBombIsResourceExhausted() throws {
        let payload = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = try #require(GRPCCompression.compress(payload, encoding: .gzip))
        #expect(compressed.count < 10_000)
        #expect(status(framed(compressed, compressed: true), encoding: .gzip, limit: 64 * 1024)?.code == .resourceExhausted)
    }

    @Test func corruptCompressedDataIsInternal() {
        #expect(status(framed([0x1F, 0x8B, 1, 2, 3, 4, 5], compressed: true), encoding: .gzip)?.code == .internal)
        let truncated = (GRPCCompression.compress([UInt8](repeating: 1, count: 1000), encoding: .gzip) ?? []).dropLast(4)
        #expect(status(framed(Array(truncated), compressed: true), encoding: .gzip)?.code == .internal)
    }

    @Test func timeoutUnits() {
        #expect(GRPCTimeout.parse("100m") == .milliseconds(100))
        #expect(GRPCTimeout.parse("5S") == .seconds(5))
        #expect(GRPCTimeout.parse("1H") == .hours(1))
        #expect(GRPCTimeout.parse("2M") == .minutes(2))
        #expect(GRPCTimeout.parse("7u") == .microseconds(7))
        #expect(GRPCTimeout.parse("99999999n") == .nanoseconds(99_999_999))
        #expect(GRPCTimeout.parse("99999999H") == .nanoseconds(Int64.max))
    }

    @Test func malformedTimeouts() {
        for value in ["", "S", "10", "10x", "-1S", "1.5S", "123456789S", " 1S", "1s"] {
            #expect(GRPCTimeout.parse(value) == nil, "\(value)")
        }
    }

    @Test func grpcMessagePercentEncoding() {
        #expect(GRPCStatusMessage.percentEncode("plain text: ok") == "plain text: ok")
        #expect(GRPCStatusMessage.percentEncode("100%") == "100%25")
        #expect(GRPCStatusMessage.percentEncode("a\nb\r") == "a%0Ab%0D")
        #expect(GRPCStatusMessage.percentEncode("µ") == "%C2%B5")
        for text in ["100% done\n", "naïve – ✓", "%zz"] {
            #expect(GRPCStatusMessage.percentDecode(GRPCStatusMessage.percentEncode(text)) == text)
        }
        #expect(GRPCStatusMessage.percentDecode("%zz%4") == "%zz%4")
    }

    private func request(version: HTTPVersionKind = .http2, method: String = "POST", headers: [HeaderField]) -> ServerRequest {
        ServerRequest(method: method, path: "/pkg.Service/Method", headers: headers, body: ByteBuffer(), version: version)
    }

    private func headError(_ request: ServerRequest) -> GRPCStatus? {
        do {
            _ = try GRPCRequestHead(request, path: "/pkg.Service/Method")
            return nil
        } catch {
            return error
        }
    }

    @Test func requestHeadReadsEncodingsAndTimeout() throws {
        let head = try GRPCRequestHead(request(headers: [
            HeaderField("content-type", "application/grpc+proto"),
            HeaderField("grpc-encoding", "gzip"),
            HeaderField("grpc-accept-encoding", "identity, deflate,gzip,snappy"),
            HeaderField("grpc-timeout", "250m"),
        ]), path: "/pkg.Service/Method")
        #expect(head.method == "/pkg.Service/Method")
        #expect(head.encoding == .gzip)
        #expect(head.acceptedEncodings == [.identity, .deflate, .gzip])
        #expect(head.timeout == .milliseconds(250))
        #expect(head.responseEncoding(size: 4096) == .gzip)
        #expect(head.responseEncoding(size: 10) == .identity)
    }

    @Test func requestHeadRejections() {
        let grpc = HeaderField("content-type", "application/grpc")
        #expect(headError(request(version: .http1_1, headers: [grpc]))?.code == .unimplemented)
        #expect(headError(request(version: .http1_1, headers: [grpc]))?.message.contains("HTTP/2") == true)
        #expect(headError(request(method: "GET", headers: [grpc]))?.code == .unimplemented)
        #expect(headError(request(headers: [HeaderField("content-type", "application/grpc-web")]))?.code == .unimplemented)
        #expect(headError(request(headers: [grpc, HeaderField("grpc-encoding", "snappy")]))?.code == .unimplemented)
        #expect(headError(request(headers: [grpc, HeaderField("grpc-timeout", "soon")]))?.code == .internal)
        #expect(headError(request(headers: [HeaderField("content-type", "application/grpc; charset=utf-8")])) == nil)
    }

    @Test func responses() {
        let ok = GRPCResponse.message([1, 2, 3])
        #expect(ok.status == 200)
        #expect(ok.headers.contains(HeaderField("content-type", "application/grpc")))
        #expect(ok.trailers == [HeaderField("grpc-status", "0")])
        #expect(Array(ok.body.readableBytesView) == [0, 0, 0, 0, 3, 1, 2, 3])

        let compressed = GRPCResponse.message([UInt8](repeating: 5, count: 4096), encoding: .gzip)
        #expect(compressed.headers.contains(HeaderField("grpc-encoding", "gzip")))

        let failure = GRPCResponse.trailersOnly(GRPCStatus(.notFound, "no model\n50%"))
        #expect(failure.status == 200)
        #expect(failure.body.readableBytes == 0)
        #expect(failure.trailers.isEmpty)
        #expect(failure.headers.contains(HeaderField("grpc-status", "5")))
        #expect(failure.headers.contains(HeaderField("grpc-message", "no model%0A50%25")))
        #expect(failure.headers.contains { $0.name == "grpc-accept-encoding" })
    }

    @Test(arguments: [
        ("application/grpc", true), ("application/grpc+proto", true), ("Application/GRPC", true),
        ("application/grpc; charset=utf-8", true), (" application/grpc+proto ;x=1", true),
        ("application/grpc-web", false), ("application/json", false), ("", false), ("application/grpc+json", false),
    ])
    func grpcContentTypes(value: String, accepted: Bool) {
        #expect(GRPCRequestHead.isGRPCContentType(value) == accepted, "\(value)")
    }
}
