import Foundation
import NIOCore
import TFProtos
import Tensors
import Testing
import Transport
@testable import API

@Suite("gRPC GRPCInferenceService")
struct GRPCInferenceServiceTests {
    private let service = "/inference.GRPCInferenceService/"

    private func input(_ name: String, _ datatype: String, _ shape: [Int64]) -> Inference_ModelInferRequest.InferInputTensor {
        var tensor = Inference_ModelInferRequest.InferInputTensor()
        tensor.name = name
        tensor.datatype = datatype
        tensor.shape = shape
        return tensor
    }

    @Test func healthAndServerMetadata() throws {
        let (router, _) = KServeFixtures.makeRouter(ready: false)
        let live = try #require(call(router, try grpcRequest(service + "ServerLive", Inference_ServerLiveRequest())))
        #expect(try live.decode(Inference_ServerLiveResponse.self).live)
        let ready = try #require(call(router, try grpcRequest(service + "ServerReady", Inference_ServerReadyRequest())))
        #expect(ready.status == 0)
        #expect(try ready.decode(Inference_ServerReadyResponse.self).ready == false)
        let metadata = try #require(call(router, try grpcRequest(service + "ServerMetadata", Inference_ServerMetadataRequest())))
        let server = try metadata.decode(Inference_ServerMetadataResponse.self)
        #expect(server.name == "model-server")
        #expect(server.extensions == ["binary_tensor_data"])
    }

    /// grpc.health.v1 Check: the server, its services and its models; unknown names are NOT_FOUND and the
    /// streaming Watch is UNIMPLEMENTED.
    @Test func healthChecks() throws {
        let path = "/grpc.health.v1.Health/Check"
        func status(_ router: APIRouter, _ service: String) throws -> (Int?, Grpc_Health_V1_HealthCheckResponse.ServingStatus?) {
            var request = Grpc_Health_V1_HealthCheckRequest()
            request.service = service
            let answer = try #require(call(router, try grpcRequest(path, request)))
            return (answer.status, answer.status == 0 ? try answer.decode(Grpc_Health_V1_HealthCheckResponse.self).status : nil)
        }
        let (ready, _) = KServeFixtures.makeRouter()
        #expect(try status(ready, "") == (0, .serving))
        #expect(try status(ready, "tensorflow.serving.PredictionService") == (0, .serving))
        #expect(try status(ready, "inference.GRPCInferenceService") == (0, .serving))
        #expect(try status(ready, "m") == (0, .serving))
        #expect(try status(ready, "nope") == (5, nil))
        let (starting, _) = KServeFixtures.makeRouter(ready: false)
        #expect(try status(starting, "") == (0, .notServing))
        let watch = try #require(call(ready, try grpcRequest("/grpc.health.v1.Health/Watch", Grpc_Health_V1_HealthCheckRequest())))
        #expect(watch.status == 12)
    }

    @Test func modelReadyAndMetadata() throws {
        let (router, _) = KServeFixtures.makeRouter()
        var readyRequest = Inference_ModelReadyRequest()
        readyRequest.name = "m"
        #expect(try call(router, try grpcRequest(service + "ModelReady", readyRequest))?.decode(Inference_ModelReadyResponse.self).ready == true)
        readyRequest.name = "other"
        #expect(try call(router, try grpcRequest(service + "ModelReady", readyRequest))?.decode(Inference_ModelReadyResponse.self).ready == false)

        var metadataRequest = Inference_ModelMetadataRequest()
        metadataRequest.name = "m"
        let answer = try #require(call(router, try grpcRequest(service + "ModelMetadata", metadataRequest)))
        let metadata = try answer.decode(Inference_ModelMetadataResponse.self)
        #expect(metadata.name == "m")
        #expect(metadata.versions == ["2", "3"])
        #expect(metadata.platform == "tensorflow_savedmodel")
        #expect(metadata.inputs.map(\.name) == ["x"])
        #expect(metadata.inputs.first?.datatype == "FP32")
        #expect(metadata.inputs.first?.shape == [-1, 4])
        #expect(metadata.outputs.map(\.name) == ["y", "z"])

        metadataRequest.name = "other"
        #expect(call(router, try grpcRequest(service + "ModelMetadata", metadataRequest))?.status == 5)
        metadataRequest.name = "m"
        metadataRequest.version = "abc"
        #expect(call(router, try grpcRequest(service + "ModelMetadata", metadataRequest))?.status == 3)
    }

    @Test func inferWithTypedContents() throws {
        let (router, _) = KServeFixtures.makeRouter()
        var request = Inference_ModelInferRequest()
        request.modelName = "m"
        request.id = "req-1"
        var x = input("x", "FP32", [2, 4])
        x.contents.fp32Contents = [1, 2, 3, 4, 5, 6, 7, 8]
        request.inputs = [x]
        var output = Inference_ModelInferRequest.InferRequestedOutputTensor()
        output.name = "z"
        request.outputs = [output]
        let answer = try #require(call(router, try grpcRequest(service + "ModelInfer", request)))
        #expect(answer.status == 0)
        let response = try answer.decode(Inference_ModelInferResponse.self)
        #expect(response.modelName == "m")
        #expect(response.modelVersion == "3")
        #expect(response.id == "req-1")
        #expect(response.rawOutputContents.isEmpty)
        #expect(response.outputs.map(\.name) == ["z"])
        #expect(response.outputs.first?.datatype == "FP32")
        #expect(response.outputs.first?.shape == [2, 4])
        #expect(response.outputs.first?.contents.fp32Contents == [2, 3, 4, 5, 6, 7, 8, 9])
    }

    @Test func inferWithRawContentsAnswersRaw() throws {
        let (router, _) = KServeFixtures.makeRouter()
        var request = Inference_ModelInferRequest()
        request.modelName = "m"
        request.modelVersion = "3"
        request.inputs = [input("x", "FP32", [1, 4])]
        request.rawInputContents = [Data(floatBytes([1, 2, 3, 4]))]
        let answer = try #require(call(router, try grpcRequest(service + "ModelInfer", request)))
        #expect(answer.status == 0)
        let response = try answer.decode(Inference_ModelInferResponse.self)
        #expect(response.outputs.map(\.name) == ["y", "z"])
        #expect(response.rawOutputContents == [Data(floatBytes([2, 4, 6, 8])), Data(floatBytes([2, 3, 4, 5]))])
        #expect(response.outputs.allSatisfy { !$0.hasContents })
    }

    @Test func inferStringsAndSignatureParameter() throws {
        let (router, _) = KServeFixtures.makeRouter()
        var request = Inference_ModelInferRequest()
        request.modelName = "m"
        var parameter = Inference_InferParameter()
        parameter.stringParam = "strings"
        request.parameters["signature_name"] = parameter
        var s = input("s", "BYTES", [2])
        s.contents.bytesContents = [Data("ab".utf8), Data()]
        request.inputs = [s]
        let response = try #require(call(router, try grpcRequest(service + "ModelInfer", request)))
            .decode(Inference_ModelInferResponse.self)
        #expect(response.outputs.first?.contents.bytesContents == [Data("ab".utf8), Data()])
    }

    @Test func inferErrors() throws {
        let (router, servable) = KServeFixtures.makeRouter()
        func infer(_ build: (inout Inference_ModelInferRequest) -> Void) throws -> GRPCAnswer? {
            var request = Inference_ModelInferRequest()
            request.modelName = "m"
            build(&request)
            return call(router, try grpcRequest(service + "ModelInfer", request))
        }
        let wrongCount = try infer { request in
            var x = input("x", "FP32", [1, 4])
            x.contents.fp32Contents = [1, 2, 3]
            request.inputs = [x]
        }
        #expect(wrongCount?.status == 3)
        #expect(wrongCount?.message?.contains("fp32_contents") == true)
        let wrongType = try infer { request in
            var x = input("x", "INT32", [1, 4])
            x.contents.intContents = [1, 2, 3, 4]
            request.inputs = [x]
        }
        #expect(wrongType?.status == 3)
        #expect(wrongType?.message?.contains("FP32") == true)
        let wrongShape = try infer { request in
            var x = input("x", "FP32", [1, 2])
            x.contents.fp32Contents = [1, 2]
            request.inputs = [x]
        }
        #expect(wrongShape?.message?.contains("[1,2]") == true)
        let rawMismatch = try infer { request in
            request.inputs = [input("x", "FP32", [1, 4])]
            request.rawInputContents = [Data(floatBytes([1, 2]))]
        }
        #expect(rawMismatch?.status == 3)
        let rawCount = try infer { request in
            request.inputs = [input("x", "FP32", [1, 4])]
            request.rawInputContents = [Data(), Data()]
        }
        #expect(rawCount?.status == 3)
        let noContents = try infer { request in request.inputs = [input("x", "FP32", [1, 4])] }
        #expect(noContents?.status == 3)
        let negative = try infer { request in request.inputs = [input("x", "FP32", [-1, 4])] }
        #expect(negative?.status == 3)
        let badType = try infer { request in request.inputs = [input("x", "FLOAT", [1, 4])] }
        #expect(badType?.message?.contains("FLOAT") == true)
        let unknownOutput = try infer { request in
            var x = input("x", "FP32", [1, 4])
            x.contents.fp32Contents = [1, 2, 3, 4]
            request.inputs = [x]
            var output = Inference_ModelInferRequest.InferRequestedOutputTensor()
            output.name = "q"
            request.outputs = [output]
        }
        #expect(unknownOutput?.status == 3)
        let unknownModel = try infer { request in request.modelName = "other" }
        #expect(unknownModel?.status == 5)
        #expect(servable.callCount == 0)
    }
}
