import Dispatch
import NIOCore
import TFProtos
import Tensors
import Testing
import Transport
@testable import API

/// REST requests carry `--rest_api_timeout_in_ms` as their deadline and gRPC calls their `grpc-timeout`;
/// CORS headers and preflight answers when enabled.
@Suite struct DeadlineAndCORSTests {
    private func makeRouter(_ options: APIRouter.Options) -> (APIRouter, FakeServable) {
        let servable = FakeServable(signatures: ["serving_default": Fixtures.floatSignature], behaviour: Fixtures.doubling)
        return (APIRouter(backend: FakeBackend(servable: servable), options: options), servable)
    }

    @Test func restRequestsCarryTheConfiguredDeadline() throws {
        let (router, servable) = makeRouter(APIRouter.Options(restTimeout: .milliseconds(1500)))
        let before = DispatchTime.now().uptimeNanoseconds
        let body = #"{"instances": [[1, 2, 3, 4]]}"#
        #expect(send(router, request("POST", "/v1/models/m:predict", body: body))?.status == 200)
        let after = DispatchTime.now().uptimeNanoseconds
        let deadline = try #require(servable.deadlines.withLock { $0.first } ?? nil)
        #expect(deadline >= before + 1_500_000_000 && deadline <= after + 1_500_000_000)

        let (unlimited, plain) = makeRouter(APIRouter.Options())
        #expect(send(unlimited, request("POST", "/v1/models/m:predict", body: body))?.status == 200)
        #expect(plain.deadlines.withLock { $0 } == [nil])
    }

    @Test func grpcCallsCarryTheirTimeout() throws {
        let (router, servable) = makeRouter(APIRouter.Options(restTimeout: .seconds(30)))
        var predict = Tensorflow_Serving_PredictRequest()
        predict.modelSpec.name = "m"
        var tensor = Tensorflow_TensorProto()
        tensor.dtype = .dtFloat
        tensor.tensorShape.dim = [1, 4].map { size in
            var dim = Tensorflow_TensorShapeProto.Dim()
            dim.size = Int64(size)
            return dim
        }
        tensor.floatVal = [1, 2, 3, 4]
        predict.inputs["x"] = tensor
        let before = DispatchTime.now().uptimeNanoseconds
        let answer = try #require(call(router, try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", predict, headers: [HeaderField("grpc-timeout", "2S")])))
        #expect(answer.status == 0, "\(answer.message ?? "")")
        let deadline = try #require(servable.deadlines.withLock { $0.first } ?? nil)
        #expect(deadline > before + 1_000_000_000 && deadline <= DispatchTime.now().uptimeNanoseconds + 2_000_000_000)
    }

    @Test func crossOriginHeadersWhenEnabled() throws {
        let (router, _) = makeRouter(APIRouter.Options(allowsCrossOrigin: true))
        let preflight = try #require(send(router, request("OPTIONS", "/v1/models/m:predict", headers: [
            HeaderField("origin", "https://example.org"), HeaderField("access-control-request-method", "POST"),
            HeaderField("access-control-request-headers", "content-type, x-trace"),
        ])))
        #expect(preflight.status == 204)
        #expect(preflight.header("access-control-allow-origin") == "*")
        #expect(preflight.header("access-control-allow-methods") == "GET, POST, OPTIONS")
        #expect(preflight.header("access-control-allow-headers") == "content-type, x-trace")
        let answer = try #require(send(router, request("POST", "/v1/models/m:predict", body: #"{"instances": [[1, 2, 3, 4]]}"#)))
        #expect(answer.status == 200)
        #expect(answer.header("access-control-allow-origin") == "*")
        let missing = try #require(send(router, request("GET", "/v2/models/nope")))
        #expect(missing.header("access-control-allow-origin") == "*")

        let (closed, _) = makeRouter(APIRouter.Options())
        let plain = try #require(send(closed, request("POST", "/v1/models/m:predict", body: #"{"instances": [[1, 2, 3, 4]]}"#)))
        #expect(plain.header("access-control-allow-origin") == nil)
        #expect(send(closed, request("OPTIONS", "/v1/models/m:predict"))?.status != 204)
    }
}
