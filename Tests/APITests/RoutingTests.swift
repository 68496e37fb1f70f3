import NIOCore
import Tensors
import Testing
import Transport
@testable import API

@Suite struct TFServingPathTests {
    @Test(arguments: [
        ("/v1/models/m", ModelSpec(name: "m"), TFServingPath.Action.status),
        ("/v1/models/m/versions/7", ModelSpec(name: "m", version: .number(7)), .status),
        ("/v1/models/m/labels/stable", ModelSpec(name: "m", version: .label("stable")), .status),
        ("/v1/models/m/metadata", ModelSpec(name: "m"), .metadata),
        ("/v1/models/m/versions/7/metadata", ModelSpec(name: "m", version: .number(7)), .metadata),
        ("/v1/models/m:predict", ModelSpec(name: "m"), .predict),
        ("/v1/models/m/versions/00012:predict", ModelSpec(name: "m", version: .number(12)), .predict),
        ("/v1/models/m/labels/canary:classify", ModelSpec(name: "m", version: .label("canary")), .classify),
        ("/v1/models/my.model-2:regress", ModelSpec(name: "my.model-2"), .regress),
        ("/V1/Models/m/Versions/1:PREDICT", ModelSpec(name: "m", version: .number(1)), .predict),
    ])
    func parsesValidPaths(path: String, model: ModelSpec, action: TFServingPath.Action) throws {
        let parsed = try TFServingPath.parse(path[...], method: "GET")
        #expect(parsed.model == model)
        #expect(parsed.action == action)
    }

    @Test(arguments: [
        "/v1/models/", "/v1/models", "/v1/model/m", "/v1/models/m/", "/v1/models/m/versions",
        "/v1/models/m/versions/abc", "/v1/models/m/versions/-1", "/v1/models/m/versions/99999999999999999999",
        "/v1/models/m:explain", "/v1/models/m/metadata:predict", "/v1/models/m/extra",
        "/v1/models/m/metadata/versions/1", "/v1/models/m/versions/1/versions/2", "/v1/models//versions/1",
        "/v1/models/m/labels/:predict",
    ])
    func rejectsMalformedPaths(path: String) {
        #expect(throws: ServingError.notFound("Malformed request: GET \(path)")) {
            try TFServingPath.parse(path[...], method: "GET")
        }
    }

    @Test func versionAndLabelTogetherIsInvalidArgument() {
        #expect {
            try TFServingPath.parse("/v1/models/m/versions/1/labels/a:predict", method: "POST")
        } throws: { error in
            (error as? ServingError)?.code == .invalidArgument
        }
    }
}

@Suite struct RouterTests {
    let backend = FakeBackend(servable: FakeServable(signatures: ["serving_default": Fixtures.floatSignature]))

    var router: APIRouter { APIRouter(backend: backend) }

    @Test func statusRouteForwardsVersionSelector() throws {
        let plain = try #require(send(router, request("GET", "/v1/models/m")))
        #expect(plain.status == 200)
        #expect(plain.header("content-type") == "application/json")
        _ = send(router, request("GET", "/v1/models/m/versions/3?x=1"))
        _ = send(router, request("GET", "/v1/models/m/labels/stable"))
        #expect(backend.requestedVersions.withLock { $0 } == [.latest, .number(3), .label("stable")])
    }

    @Test func versionAndLabelTogetherIs400() throws {
        let response = try #require(send(router, request("GET", "/v1/models/m/versions/3/labels/stable")))
        #expect(response.status == 400)
        #expect(response.errorMessage?.contains("not both") == true)
    }

    @Test(arguments: ["/v1/models/m/bogus", "/v1/models", "/v3/models/m", "/statusx", "/v1/models/m:foo"])
    func malformedPathIs404NamingIt(path: String) throws {
        let response = try #require(send(router, request("GET", path)))
        #expect(response.status == 404)
        #expect(response.errorMessage == "Malformed request: GET \(path)")
    }

    @Test(arguments: ["/", "/status", "/v1/status"])
    func statusPageAndItsJSON(path: String) throws {
        let response = try #require(send(router, request("GET", path)))
        #expect(response.status == 200)
        let type = response.headers.first { $0.name == "content-type" }?.value
        #expect(type == (path == "/v1/status" ? "application/json" : "text/html; charset=utf-8"))
    }

    @Test func wrongMethodIs405() throws {
        let getPredict = try #require(send(router, request("GET", "/v1/models/m:predict")))
        #expect(getPredict.status == 405)
        #expect(getPredict.header("allow") == "POST")
        let postStatus = try #require(send(router, request("POST", "/v1/models/m/metadata")))
        #expect(postStatus.status == 405)
        #expect(postStatus.header("allow") == "GET")
        #expect(postStatus.errorMessage?.contains("POST") == true)
    }

    @Test func classifyAndRegressNeedExamples() throws {
        for verb in ["classify", "regress"] {
            let response = try #require(send(router, request("POST", "/v1/models/m:\(verb)", body: "{}")))
            #expect(response.status == 400)
            #expect(response.errorMessage == "When method is \(verb), key 'examples' is expected and was not found")
        }
    }

    @Test func unknownModelPassesBackendMessageThrough() throws {
        let status = try #require(send(router, request("GET", "/v1/models/nope")))
        #expect(status.status == 404)
        #expect(status.errorMessage == "Could not find any versions of model nope")
        let predict = try #require(send(router, request("POST", "/v1/models/nope:predict", body: #"{"instances":[1]}"#)))
        #expect(predict.status == 404)
        #expect(predict.errorMessage == "Servable not found for request: Latest(nope)")
    }

    @Test func extraRoutesAndGRPCAreDispatched() throws {
        let router = APIRouter(
            backend: backend,
            routes: [APIRoute(prefix: "/v2", handler: MarkerHandler(marker: "kserve"))],
            grpc: MarkerHandler(marker: "grpc"))
        #expect(send(router, request("GET", "/v2/health/live"))?.text == "kserve")
        #expect(send(router, request("GET", "/v2"))?.text == "kserve")
        #expect(send(router, request("GET", "/v2x"))?.status == 404)
        let grpc = request("POST", "/tensorflow.serving.PredictionService/Predict",
                           headers: [HeaderField("content-type", "application/grpc+proto")])
        #expect(send(router, grpc)?.text == "grpc")
        #expect(send(router, request("GET", "/v1/models/m"))?.status == 200)
    }

    @Test func metadataUsesResolvedVersionSelector() throws {
        _ = send(router, request("GET", "/v1/models/m/labels/canary/metadata"))
        #expect(backend.requestedSpecs.withLock { $0 } == [ModelSpec(name: "m", version: .label("canary"))])
    }
}
