import Tensors
import Testing
import Transport
@testable import API

@Suite struct ModelJSONTests {
    @Test func statusMatchesTFServingExactly() throws {
        let backend = FakeBackend(servable: FakeServable(signatures: [:]))
        let response = try #require(send(APIRouter(backend: backend), request("GET", "/v1/models/m")))
        #expect(response.status == 200)
        #expect(response.text ==
            #"{"model_version_status":[{"version":"3","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}"#)
    }

    @Test func statusReportsFailedVersions() throws {
        let backend = FakeBackend(
            servable: FakeServable(signatures: [:]),
            statuses: [
                ModelVersionStatus(version: 5, state: .end, error: .notFound("missing op Foo")),
                ModelVersionStatus(version: 4, state: .loading),
            ])
        let response = try #require(send(APIRouter(backend: backend), request("GET", "/v1/models/m")))
        let root = try #require(response.json() as? [String: Any])
        let rows = try #require(root["model_version_status"] as? [[String: Any]])
        #expect(rows.count == 2)
        #expect(rows[0]["version"] as? String == "5")
        #expect(rows[0]["state"] as? String == "END")
        let status = try #require(rows[0]["status"] as? [String: Any])
        #expect(status["error_code"] as? String == "NOT_FOUND")
        #expect(status["error_message"] as? String == "missing op Foo")
        #expect(rows[1]["state"] as? String == "LOADING")
    }

    @Test func metadataMatchesTFServingStructure() throws {
        let signature = Fixtures.signature(
            ["x": Fixtures.spec(.float32, [-1, 4], tensor: "serving_default_x:0"),
             "s": Fixtures.spec(.string, nil, tensor: "serving_default_s:0")],
            outputs: ["y": Fixtures.spec(.int64, [], tensor: "StatefulPartitionedCall:0")])
        let backend = FakeBackend(servable: FakeServable(signatures: ["serving_default": signature]))
        let response = try #require(send(APIRouter(backend: backend), request("GET", "/v1/models/m/metadata")))
        #expect(response.status == 200)
        let root = try #require(response.json() as? [String: Any])
        let modelSpec = try #require(root["model_spec"] as? [String: Any])
        #expect(modelSpec["name"] as? String == "m")
        #expect(modelSpec["signature_name"] as? String == "")
        #expect(modelSpec["version"] as? String == "3")
        let metadata = try #require(root["metadata"] as? [String: Any])
        let outer = try #require(metadata["signature_def"] as? [String: Any])
        let defs = try #require(outer["signature_def"] as? [String: Any])
        let def = try #require(defs["serving_default"] as? [String: Any])
        #expect(def["method_name"] as? String == "tensorflow/serving/predict")
        #expect((def["defaults"] as? [String: Any])?.isEmpty == true)
        let inputs = try #require(def["inputs"] as? [String: Any])
        let x = try #require(inputs["x"] as? [String: Any])
        #expect(x["dtype"] as? String == "DT_FLOAT")
        #expect(x["name"] as? String == "serving_default_x:0")
        let shape = try #require(x["tensor_shape"] as? [String: Any])
        #expect(shape["unknown_rank"] as? Bool == false)
        let dims = try #require(shape["dim"] as? [[String: Any]])
        #expect(dims.map { $0["size"] as? String } == ["-1", "4"])
        #expect(dims.map { $0["name"] as? String } == ["", ""])
        let s = try #require(inputs["s"] as? [String: Any])
        let sShape = try #require(s["tensor_shape"] as? [String: Any])
        #expect(sShape["unknown_rank"] as? Bool == true)
        #expect((sShape["dim"] as? [Any])?.isEmpty == true)
        let outputs = try #require(def["outputs"] as? [String: Any])
        #expect((outputs["y"] as? [String: Any])?["dtype"] as? String == "DT_INT64")
    }
}

@Suite struct ErrorMappingTests {
    @Test(arguments: [
        (StatusCode.ok, 200), (.cancelled, 499), (.unknown, 500), (.invalidArgument, 400), (.deadlineExceeded, 504),
        (.notFound, 404), (.alreadyExists, 409), (.permissionDenied, 403), (.resourceExhausted, 429),
        (.failedPrecondition, 400), (.aborted, 409), (.outOfRange, 400), (.unimplemented, 501), (.internal, 500),
        (.unavailable, 503), (.dataLoss, 500), (.unauthenticated, 401),
    ])
    func httpStatusMatchesTFServing(code: StatusCode, status: Int) {
        #expect(code.httpStatus == status)
    }

    @Test func errorBodyIsEscapedJSON() throws {
        let response = JSONResponse.error(.invalidArgument("bad \"quote\"\n\u{1}"))
        #expect(response.status == 400)
        #expect(response.text == #"{"error":"bad \"quote\"\n\u0001"}"#)
        #expect(response.errorMessage == "bad \"quote\"\n\u{1}")
    }

    @Test func stringsAreEscapedBetweenUnescapedRuns() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.string("plain é € 😀")
        writer.string("\"lead, mid\\dle\t\r\n\u{8}\u{C}\u{1F}end\"")
        writer.string("")
        writer.string(utf8: "a\"b".utf8.lazy.map { $0 })
        writer.endArray()
        let text = String(decoding: writer.buffer.readableBytesView, as: UTF8.self)
        #expect(text == #"["plain é € 😀","\"lead, mid\\dle\t\r\n\b\f\u001fend\"","","a\"b"]"#)
    }
}
