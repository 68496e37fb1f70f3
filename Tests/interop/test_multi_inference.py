"""TF Serving's Classify, Regress and MultiInference over gRPC with the official grpcio client, on the
TF1 fixture whose signatures parse serialized tf.Examples, against the outputs TensorFlow gave for
the same examples (Tests/Fixtures/models/parse_example_tf1.json).
"""

import base64
import json
from pathlib import Path

import grpc
import numpy as np
import pytest

from conftest import grpc_channel_to_own_server

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "Tests/Fixtures/models/parse_example_tf1"


@pytest.fixture(scope="module")
def channel():
    with grpc_channel_to_own_server("--model_name=tf1", f"--model_base_path={FIXTURE}") as opened:
        yield opened


@pytest.fixture(scope="module")
def cases():
    """TensorFlow's outputs by signature, for the batch of three examples."""
    data = json.loads(FIXTURE.with_suffix(".json").read_text())
    found = {}
    for case in data["cases"]:
        serialized = next(iter(case["inputs"].values()))["values"]
        if len(serialized) == 3:
            found[case["signature"]] = ([base64.b64decode(text) for text in serialized], case["outputs"])
    return found


def examples_input(serialized, request):
    for blob in serialized:
        request.input.example_list.examples.add().ParseFromString(blob)


def test_multi_inference_matches_tensorflow(stubs, channel, cases):
    serialized, classify_outputs = cases["serving_default"]
    assert cases["regress"][0] == serialized
    regress_outputs = cases["regress"][1]
    request = stubs["inference_pb2"].MultiInferenceRequest()
    for signature, method in (("regress", "regress"), ("", "classify")):
        task = request.tasks.add()
        task.model_spec.name = "tf1"
        task.model_spec.signature_name = signature
        task.method_name = f"tensorflow/serving/{method}"
    examples_input(serialized, request)
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    response = stub.MultiInference(request, timeout=30)

    assert [r.model_spec.signature_name for r in response.results] == ["regress", "serving_default"]
    assert all(r.model_spec.name == "tf1" and r.model_spec.version.value == 1 for r in response.results)
    regressions = [r.value for r in response.results[0].regression_result.regressions]
    np.testing.assert_allclose(regressions, np.ravel(regress_outputs["outputs"]["values"]), rtol=1e-5, atol=1e-6)
    classes = response.results[1].classification_result.classifications
    scores = [c.score for entry in classes for c in entry.classes]
    labels = [c.label for entry in classes for c in entry.classes]
    np.testing.assert_allclose(scores, np.ravel(classify_outputs["scores"]["values"]), rtol=1e-5, atol=1e-6)
    assert labels == list(classify_outputs["classes"]["values"])

    single = stubs["regression_pb2"].RegressionRequest()
    single.model_spec.name = "tf1"
    single.model_spec.signature_name = "regress"
    examples_input(serialized, single)
    alone = [r.value for r in stub.Regress(single, timeout=30).result.regressions]
    assert alone == regressions


def test_multi_inference_refuses_what_tf_serving_refuses(stubs, channel, cases):
    serialized = cases["serving_default"][0]
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    request = stubs["inference_pb2"].MultiInferenceRequest()
    for _ in range(2):
        task = request.tasks.add()
        task.model_spec.name = "tf1"
        task.method_name = "tensorflow/serving/classify"
    examples_input(serialized, request)
    with pytest.raises(grpc.RpcError) as raised:
        stub.MultiInference(request, timeout=30)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "Duplicate evaluation of signature: serving_default"

    request.tasks[1].model_spec.signature_name = "predict"
    request.tasks[1].method_name = "tensorflow/serving/predict"
    with pytest.raises(grpc.RpcError) as raised:
        stub.MultiInference(request, timeout=30)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert raised.value.details() == "Unsupported signature method_name: tensorflow/serving/predict"
