import Foundation
import NIOCore
import SwiftProtobuf
import TFProtos
import Tensors
import Testing
import Transport
@testable import API

@Suite("gRPC PredictionService and ModelService")
struct GRPCPredictionServiceTests {
    private func floatProto(_ values: [Float], _ dims: [Int]) -> Tensorflow_TensorProto {
        var proto = Tensorflow_TensorProto()
        proto.dtype = .dtFloat
        proto.tensorShape.dim = dims.map { size in
            var dim = Tensorflow_TensorShapeProto.Dim()
            dim.size = Int64(size)
            return dim
        }
        proto.floatVal = values
        return proto
    }

    private func predictRequest(_ inputs: [String: Tensorflow_TensorProto], name: String = "m") -> Tensorflow_Serving_PredictRequest {
        var request = Tensorflow_Serving_PredictRequest()
        request.modelSpec.name = name
        request.inputs = inputs
        return request
    }

    @Test func predictRunsAndReportsTheVersionUsed() throws {
        let (router, servable) = KServeFixtures.makeRouter()
        var request = predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])])
        request.outputFilter = ["y"]
        let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Predict", request)))
        #expect(answer.status == 0)
        #expect(answer.response.headers.contains(HeaderField("content-type", "application/grpc")))
        let response = try answer.decode(Tensorflow_Serving_PredictResponse.self)
        #expect(response.modelSpec.name == "m")
        #expect(response.modelSpec.version.value == 3)
        #expect(response.modelSpec.signatureName == "serving_default")
        #expect(Array(response.outputs.keys) == ["y"])
        let y = try #require(response.outputs["y"])
        #expect(!y.tensorContent.isEmpty)
        #expect(try Tensor(proto: y).scalars(as: Float.self) == [2, 4, 6, 8])
        #expect(servable.callCount == 1)
    }

    /// The same request with its values in `tensor_content` (read straight from the wire) and in
    /// `float_val` (decoded by SwiftProtobuf) gets the same answer, and the same errors.
    @Test func contentAndTypedValuesAnswerAlike() throws {
        let (router, servable) = KServeFixtures.makeRouter()
        func contentProto(_ values: [Float], _ dims: [Int], dtype: Tensorflow_DataType = .dtFloat) -> Tensorflow_TensorProto {
            var proto = floatProto([], dims)
            proto.dtype = dtype
            proto.tensorContent = values.withUnsafeBytes { Data($0) }
            return proto
        }
        func answer(_ request: Tensorflow_Serving_PredictRequest) throws -> (Int?, String?, [String: [Float]]) {
            let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Predict", request)))
            guard answer.status == 0 else { return (answer.status, answer.message, [:]) }
            let response = try answer.decode(Tensorflow_Serving_PredictResponse.self)
            return (0, nil, try response.outputs.mapValues { try Tensor(proto: $0).scalars(as: Float.self) })
        }
        let contentBytes: [UInt8] = try predictRequest(["x": contentProto([1, 2, 3, 4], [1, 4])]).serializedBytes()
        let typedBytes: [UInt8] = try predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])]).serializedBytes()
        #expect(PredictRequestWire(ByteBuffer(bytes: contentBytes))?.inputs.first?.tensor.scalars(as: Float.self) == [1, 2, 3, 4])
        #expect(PredictRequestWire(ByteBuffer(bytes: typedBytes)) == nil)
        let pairs: [(Tensorflow_TensorProto, Tensorflow_TensorProto)] = [
            (contentProto([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]), floatProto([1, 2, 3, 4, 5, 6, 7, 8], [2, 4])),
            (contentProto([1, 2, 3], [1, 3]), floatProto([1, 2, 3], [1, 3])),
        ]
        for (content, typed) in pairs {
            var filtered = predictRequest(["x": content])
            filtered.outputFilter = ["z", "y", "z"]
            var typedFiltered = predictRequest(["x": typed])
            typedFiltered.outputFilter = ["z", "y", "z"]
            let viaWire = try answer(filtered)
            let viaMessage = try answer(typedFiltered)
            #expect(viaWire.0 == viaMessage.0)
            #expect(viaWire.1 == viaMessage.1)
            #expect(viaWire.2 == viaMessage.2)
            #expect(try answer(predictRequest(["x": content])).2 == (try answer(predictRequest(["x": typed]))).2)
        }
        let wrongSize = try answer(predictRequest(["x": contentProto([1, 2, 3], [1, 4])]))
        #expect(wrongSize.0 == 3)
        #expect(wrongSize.1?.contains("tensor_content holds 12 bytes") == true)
        let wrongType = try answer(predictRequest(["x": contentProto([1, 2, 3, 4], [1, 4], dtype: .dtInt32)]))
        #expect(wrongType.0 == 3)
        #expect(wrongType.1?.contains("DT_FLOAT") == true)
        let unknown = try answer(predictRequest(["w": contentProto([1, 2, 3, 4], [1, 4])]))
        #expect(unknown.1?.contains("alias not found") == true)
        #expect(servable.callCount == 4)
    }

    @Test func predictWithoutFilterReturnsEveryOutput() throws {
        let (router, _) = KServeFixtures.makeRouter()
        let answer = try #require(call(router, try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", predictRequest(["x": floatProto([1, 1, 1, 1], [1, 4])]))))
        let response = try answer.decode(Tensorflow_Serving_PredictResponse.self)
        #expect(Set(response.outputs.keys) == ["y", "z"])
    }

    @Test func predictErrorsNameWhatWasWrong() throws {
        let (router, servable) = KServeFixtures.makeRouter()
        var wrongType = Tensorflow_TensorProto()
        wrongType.dtype = .dtInt32
        wrongType.tensorShape = floatProto([], [1, 4]).tensorShape
        wrongType.intVal = [1, 2, 3, 4]
        let cases: [(Tensorflow_Serving_PredictRequest, Int, String)] = [
            (predictRequest(["x": wrongType]), 3, "DT_FLOAT"),
            (predictRequest(["x": floatProto([1, 2, 3], [1, 3])]), 3, "[1,3]"),
            (predictRequest(["w": floatProto([1, 2, 3, 4], [1, 4])]), 3, "w"),
            (predictRequest([:]), 3, "missing x"),
            (predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])], name: "other"), 5, "other"),
            (Tensorflow_Serving_PredictRequest(), 3, "ModelSpec"),
        ]
        for (request, code, fragment) in cases {
            let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Predict", request)))
            #expect(answer.status == code, "\(fragment)")
            #expect(answer.message?.contains(fragment) == true, "\(answer.message ?? "") lacks \(fragment)")
            #expect(answer.response.body.readableBytes == 0)
        }
        var badSignature = predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])])
        badSignature.modelSpec.signatureName = "nope"
        let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Predict", badSignature)))
        #expect(answer.status == 3)
        #expect(answer.message?.contains("nope") == true)
        var badFilter = predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])])
        badFilter.outputFilter = ["q"]
        #expect(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Predict", badFilter))?.status == 3)
        #expect(servable.callCount == 0)
    }

    @Test func versionAndLabelReachTheBackend() throws {
        let servable = FakeServable(signatures: KServeFixtures.signatures, behaviour: KServeFixtures.behaviour)
        let backend = FakeBackend(servable: servable)
        let router = APIRouter(backend: backend)
        var request = predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])])
        request.modelSpec.version = Google_Protobuf_Int64Value(3)
        _ = call(router, try grpcRequest("/tensorflow.serving.PredictionService/Predict", request))
        request.modelSpec.versionLabel = "stable"
        _ = call(router, try grpcRequest("/tensorflow.serving.PredictionService/Predict", request))
        #expect(backend.requestedSpecs.withLock { $0.map(\.version) } == [.number(3), .label("stable")])
    }

    @Test func gzipRequestGetsAGzipResponse() throws {
        let (router, _) = KServeFixtures.makeRouter()
        let values = (0..<2048).map { Float($0 % 4) }
        let request = try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", predictRequest(["x": floatProto(values, [512, 4])]),
            headers: [HeaderField("grpc-accept-encoding", "identity,gzip")], encoding: .gzip)
        let answer = try #require(call(router, request))
        #expect(answer.status == 0)
        #expect(answer.response.headers.contains(HeaderField("grpc-encoding", "gzip")))
        let response = try answer.decode(Tensorflow_Serving_PredictResponse.self)
        #expect(try Tensor(proto: try #require(response.outputs["y"])).scalars(as: Float.self) == values.map { $0 * 2 })
    }

    @Test func modelFailureAndDeadline() throws {
        let failing = FakeServable(signatures: KServeFixtures.signatures) { _, _ in .failure(.internal("kernel broke")) }
        let answer = try #require(call(APIRouter(backend: FakeBackend(servable: failing)), try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])]))))
        #expect(answer.status == 13)
        #expect(answer.message == "kernel broke")

        let slow = FakeServable(signatures: KServeFixtures.signatures) { _, inputs in
            Thread.sleep(forTimeInterval: 0.5)
            return .success(inputs)
        }
        let late = try #require(call(APIRouter(backend: FakeBackend(servable: slow)), try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])]),
            headers: [HeaderField("grpc-timeout", "50m")])))
        #expect(late.status == 4)

        let untouched = FakeServable(signatures: KServeFixtures.signatures)
        let expired = try #require(call(APIRouter(backend: FakeBackend(servable: untouched)), try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", predictRequest(["x": floatProto([1, 2, 3, 4], [1, 4])]),
            headers: [HeaderField("grpc-timeout", "0n")])))
        #expect(expired.status == 4)
        #expect(untouched.callCount == 0)
    }

    @Test func metadataCarriesTheSignatureDefMap() throws {
        let (router, _) = KServeFixtures.makeRouter()
        var request = Tensorflow_Serving_GetModelMetadataRequest()
        request.modelSpec.name = "m"
        request.metadataField = ["signature_def"]
        let answer = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/GetModelMetadata", request)))
        #expect(answer.status == 0)
        let response = try answer.decode(Tensorflow_Serving_GetModelMetadataResponse.self)
        #expect(response.modelSpec.name == "m")
        #expect(response.modelSpec.version.value == 3)
        let any = try #require(response.metadata["signature_def"])
        #expect(any.typeURL == "type.googleapis.com/tensorflow.serving.SignatureDefMap")
        let map = try Tensorflow_Serving_SignatureDefMap(unpackingAny: any)
        let signature = try #require(map.signatureDef["serving_default"])
        #expect(signature.methodName == "tensorflow/serving/predict")
        let x = try #require(signature.inputs["x"])
        #expect(x.name == "serving_default_x:0")
        #expect(x.dtype == .dtFloat)
        #expect(x.tensorShape.dim.map(\.size) == [-1, 4])
        #expect(Set(map.signatureDef.keys) == ["serving_default", "strings"])

        for fields in [[String](), ["signature_def", "other"], ["other"]] {
            request.metadataField = fields
            let rejected = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/GetModelMetadata", request)))
            #expect(rejected.status == 3)
        }
    }

    @Test func modelStatusReportsStatesAndErrors() throws {
        let servable = FakeServable(signatures: KServeFixtures.signatures)
        let backend = FakeBackend(servable: servable, statuses: [
            ModelVersionStatus(version: 3, state: .available),
            ModelVersionStatus(version: 2, state: .end, error: .notFound("weights missing")),
        ])
        var request = Tensorflow_Serving_GetModelStatusRequest()
        request.modelSpec.name = "m"
        let answer = try #require(call(APIRouter(backend: backend), try grpcRequest("/tensorflow.serving.ModelService/GetModelStatus", request)))
        #expect(answer.status == 0)
        let response = try answer.decode(Tensorflow_Serving_GetModelStatusResponse.self)
        #expect(response.modelVersionStatus.map(\.version) == [3, 2])
        #expect(response.modelVersionStatus.map(\.state) == [.available, .end])
        #expect(response.modelVersionStatus[0].status.errorCode == .ok)
        #expect(response.modelVersionStatus[1].status.errorCode.rawValue == 5)
        #expect(response.modelVersionStatus[1].status.errorMessage == "weights missing")

        request.modelSpec.name = "unknown"
        let missing = try #require(call(APIRouter(backend: backend), try grpcRequest("/tensorflow.serving.ModelService/GetModelStatus", request)))
        #expect(missing.status == 5)
    }

    @Test func unsupportedAndUnknownMethods() throws {
        let (router, _) = KServeFixtures.makeRouter()
        let empty = Tensorflow_Serving_PredictRequest()
        let unknown = try #require(call(router, try grpcRequest("/tensorflow.serving.PredictionService/Explain", empty)))
        #expect(unknown.status == 12)
        #expect(unknown.message?.contains("/tensorflow.serving.PredictionService/Explain") == true)
        let service = try #require(call(router, try grpcRequest("/no.Such/Thing", empty)))
        #expect(service.status == 12)
        #expect(service.message?.contains("no.Such") == true)
    }

    /// HandleReloadConfigRequest hands a model_config_list to the backend and answers OK with an OK status,
    /// or the backend's error; other config kinds are refused as TF Serving refuses them.
    @Test func reloadConfigRequests() throws {
        var request = Tensorflow_Serving_ReloadConfigRequest()
        var model = Tensorflow_Serving_ModelConfig()
        model.name = "n"
        model.basePath = "/models/n"
        request.config.modelConfigList.config = [model]
        let path = "/tensorflow.serving.ModelService/HandleReloadConfigRequest"

        let backend = FakeBackend(servable: FakeServable(signatures: [:]))
        let answer = try #require(call(APIRouter(backend: backend), try grpcRequest(path, request)))
        #expect(answer.status == 0, "\(answer.message ?? "")")
        let response = try answer.decode(Tensorflow_Serving_ReloadConfigResponse.self)
        #expect(response.hasStatus && response.status.errorCode == .ok)
        #expect(backend.reloadedLists.withLock { $0 } == [request.config.modelConfigList])

        let failing = FakeBackend(servable: FakeServable(signatures: [:]),
                                  reloadOutcome: .invalidArgument("Could not find base path /models/n for servable n"))
        let refused = try #require(call(APIRouter(backend: failing), try grpcRequest(path, request)))
        #expect(refused.status == 3)
        #expect(refused.message == "Could not find base path /models/n for servable n")

        request.config.customModelConfig = Google_Protobuf_Any()
        let custom = try #require(call(APIRouter(backend: backend), try grpcRequest(path, request)))
        #expect(custom.status == 3)
        #expect(custom.message ==
            "ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported")
        let empty = try #require(call(APIRouter(backend: backend), try grpcRequest(path, Tensorflow_Serving_ReloadConfigRequest())))
        #expect(empty.status == 3)
        #expect(backend.reloadedLists.withLock { $0.count } == 1)
    }

    @Test func transportLevelProblems() throws {
        let (router, _) = KServeFixtures.makeRouter()
        let overHTTP1 = try #require(call(router, try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", Tensorflow_Serving_PredictRequest(), version: .http1_1)))
        #expect(overHTTP1.response.status == 200)
        #expect(overHTTP1.status == 12)
        #expect(overHTTP1.message?.contains("HTTP/2") == true)

        let unknownEncoding = try #require(call(router, try grpcRequest(
            "/tensorflow.serving.PredictionService/Predict", Tensorflow_Serving_PredictRequest(),
            headers: [HeaderField("grpc-encoding", "snappy")])))
        #expect(unknownEncoding.status == 12)
        #expect(unknownEncoding.response.headers.contains { $0.name == "grpc-accept-encoding" && $0.value.contains("gzip") })

        var garbage = ByteBuffer()
        garbage.writeBytes([0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF])
        let malformed = try #require(call(router, ServerRequest(
            method: "POST", path: "/tensorflow.serving.PredictionService/Predict",
            headers: [HeaderField("content-type", "application/grpc")], body: garbage, version: .http2)))
        #expect(malformed.status == 13)

        let noMessage = try #require(call(router, ServerRequest(
            method: "POST", path: "/tensorflow.serving.PredictionService/Predict",
            headers: [HeaderField("content-type", "application/grpc")], body: ByteBuffer(), version: .http2)))
        #expect(noMessage.status == 13)
    }
}
