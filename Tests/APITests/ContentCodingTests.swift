import NIOCore
import Tensors
import Testing
import Transport
@testable import API

/// gzip and deflate request bodies and answers on the REST routes.
@Suite struct ContentCodingTests {
    private func makeRouter(options: APIRouter.Options = APIRouter.Options()) -> APIRouter {
        let servable = FakeServable(signatures: ["serving_default": Fixtures.floatSignature], behaviour: Fixtures.doubling)
        return APIRouter(backend: FakeBackend(servable: servable), options: options)
    }

    private func compressed(_ text: String, _ format: Zlib.Format) throws -> ServerRequest {
        let bytes = try #require(Zlib.deflate(Array(text.utf8), format: format))
        let name = format == .gzip ? "gzip" : "deflate"
        return ServerRequest(method: "POST", path: "/v1/models/m:predict", headers: [HeaderField("content-encoding", name)],
                             body: ByteBuffer(bytes: bytes), version: .http1_1)
    }

    @Test(arguments: [Zlib.Format.gzip, .deflate])
    func compressedRequestBodiesAreDecoded(_ format: Zlib.Format) throws {
        let router = makeRouter()
        let response = try #require(send(router, try compressed(#"{"instances": [[1, 2, 3, 4]]}"#, format)))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == #"{"predictions":[[2.0,4.0,6.0,8.0]]}"#)
    }

    @Test func undecodableBodiesAreRefusedWithTheReason() throws {
        let router = makeRouter(options: APIRouter.Options(maxJSONBodyBytes: 4096))
        var brotli = request("POST", "/v1/models/m:predict", body: "{}", headers: [HeaderField("content-encoding", "br")])
        let unsupported = try #require(send(router, brotli))
        #expect(unsupported.status == 415)
        #expect(unsupported.errorMessage == "Unsupported Content-Encoding \"br\"; gzip, deflate and identity are accepted")
        brotli.headers = [HeaderField("content-encoding", "gzip, gzip")]
        #expect(send(router, brotli)?.status == 415)

        var truncated = try compressed(#"{"instances": [[1, 2, 3, 4]]}"#, .gzip)
        truncated.body.moveWriterIndex(to: truncated.body.writerIndex - 6)
        let corrupt = try #require(send(router, truncated))
        #expect(corrupt.status == 400)
        #expect(corrupt.errorMessage == "Could not decompress the gzip request body: it is corrupt or truncated")

        // 1 MB of spaces compresses to about 1 KB: a decompression bomb stops at the limit.
        let bomb = try compressed(String(repeating: " ", count: 1 << 20), .gzip)
        #expect(bomb.body.readableBytes < 4096)
        let tooLarge = try #require(send(router, bomb))
        #expect(tooLarge.status == 413)
        #expect(tooLarge.errorMessage == "Request body exceeds the limit of 4096 bytes once decompressed (--max_request_body_bytes)")

        let identity = request("POST", "/v1/models/m:predict", body: #"{"instances": [[1, 1, 1, 1]]}"#,
                               headers: [HeaderField("content-encoding", "identity")])
        #expect(send(router, identity)?.status == 200)
    }

    /// A large KServe answer is compressed as `accept-encoding` asks (gzip first, weights of 0 honoured); a
    /// small one, one to a request that does not ask, and any TF Serving `/v1` answer go out as they are.
    @Test func answersAreCompressedWhenAskedAndLargeEnough() throws {
        let (router, _) = KServeFixtures.makeRouter()
        let data = Array(repeating: "1.5, 2.5, 3.5, 4.5", count: 100).joined(separator: ", ")
        let body = #"{"inputs": [{"name": "x", "shape": [100, 4], "datatype": "FP32", "data": ["# + data + "]}]}"
        let path = "/v2/models/m/infer"
        let plain = try #require(send(router, request("POST", path, body: body)))
        #expect(plain.status == 200, "\(plain.text)")
        #expect(plain.header("content-encoding") == nil)
        #expect(plain.body.readableBytes >= HTTPContentCoding.smallestCompressedBody)

        for (accept, expected) in [("gzip, deflate", "gzip"), ("deflate", "deflate"), ("gzip;q=0, deflate;q=0.5", "deflate"),
                                   ("*", "gzip"), ("br", nil), ("gzip;q=0, *;q=0", nil)] as [(String, String?)] {
            let answer = try #require(send(router, request("POST", path, body: body, headers: [HeaderField("accept-encoding", accept)])))
            #expect(answer.status == 200)
            #expect(answer.header("content-encoding") == expected, "\(accept)")
            guard let expected else {
                #expect(answer.text == plain.text)
                continue
            }
            #expect(answer.header("vary") == "accept-encoding")
            let inflated = try Zlib.inflate(answer.body.readableBytesView, format: expected == "gzip" ? .gzip : .deflate, limit: 1 << 20)
            #expect(String(decoding: inflated, as: UTF8.self) == plain.text)
            #expect(answer.body.readableBytes < plain.body.readableBytes)
        }

        let small = #"{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#
        let smallAnswer = try #require(send(router, request("POST", path, body: small, headers: [HeaderField("accept-encoding", "gzip")])))
        #expect(smallAnswer.status == 200)
        #expect(smallAnswer.header("content-encoding") == nil)

        let rows = Array(repeating: "[1.5, 2.5, 3.5, 4.5]", count: 100).joined(separator: ", ")
        let tfServing = try #require(send(makeRouter(), request("POST", "/v1/models/m:predict", body: "{\"instances\": [\(rows)]}",
                                                                headers: [HeaderField("accept-encoding", "gzip")])))
        #expect(tfServing.status == 200)
        #expect(tfServing.body.readableBytes >= HTTPContentCoding.smallestCompressedBody)
        #expect(tfServing.header("content-encoding") == nil)
    }
}
