"""KServe v2 REST interop: the official tritonclient HTTP client against a running model-server.

Environment:
  MODEL_SERVER_URL  e.g. http://127.0.0.1:8501 (conftest.py starts a server and sets it)
  MODEL_NAME        default "digits"
  MODEL_INPUT       default "pixels"   (FP32 [-1, 64])
  MODEL_OUTPUT      default "output_0"
  MODEL_REQUEST     default examples/requests/digits.json          ({"instances": [...]})
  MODEL_EXPECTED    default examples/requests/digits.expected.json ({"predictions": [...]})
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import tritonclient.http as httpclient  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ["MODEL_SERVER_URL"]
MODEL = os.environ.get("MODEL_NAME", "digits")
INPUT = os.environ.get("MODEL_INPUT", "pixels")
OUTPUT = os.environ.get("MODEL_OUTPUT", "output_0")
REQUEST = Path(os.environ.get("MODEL_REQUEST", REPO / "examples/requests/digits.json"))
EXPECTED = Path(os.environ.get("MODEL_EXPECTED", REPO / "examples/requests/digits.expected.json"))



@pytest.fixture(scope="module")
def client():
    url = SERVER_URL or ""
    ssl = url.startswith("https://")
    for scheme in ("http://", "https://"):
        if url.startswith(scheme):
            url = url[len(scheme):]
    with httpclient.InferenceServerClient(url=url.rstrip("/"), ssl=ssl) as triton:
        yield triton


@pytest.fixture(scope="module")
def pixels():
    return np.asarray(json.loads(REQUEST.read_text())["instances"], dtype=np.float32)


@pytest.fixture(scope="module")
def expected():
    return np.asarray(json.loads(EXPECTED.read_text())["predictions"], dtype=np.float32)


def test_server_live_ready_and_metadata(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    metadata = client.get_server_metadata()
    assert metadata["name"] == "model-server"
    assert "binary_tensor_data" in metadata["extensions"]
    assert isinstance(metadata["version"], str) and metadata["version"]


def test_model_ready_and_metadata(client):
    assert client.is_model_ready(MODEL)
    assert not client.is_model_ready("no-such-model")
    metadata = client.get_model_metadata(MODEL)
    assert metadata["name"] == MODEL
    assert metadata["platform"] == "tensorflow_savedmodel"
    assert metadata["versions"]
    version = metadata["versions"][-1]
    assert client.is_model_ready(MODEL, model_version=version)
    assert client.get_model_metadata(MODEL, model_version=version)["name"] == MODEL
    inputs = {tensor["name"]: tensor for tensor in metadata["inputs"]}
    assert inputs[INPUT]["datatype"] == "FP32"
    assert inputs[INPUT]["shape"] == [-1, 64]
    assert OUTPUT in {tensor["name"] for tensor in metadata["outputs"]}


@pytest.mark.parametrize(
    "binary_input,binary_output",
    [(False, False), (True, True), (True, False), (False, True)],
    ids=["json", "binary", "binary-in-json-out", "json-in-binary-out"],
)
def test_infer_matches_tensorflow(client, pixels, expected, binary_input, binary_output):
    tensor = httpclient.InferInput(INPUT, list(pixels.shape), "FP32")
    tensor.set_data_from_numpy(pixels, binary_data=binary_input)
    requested = httpclient.InferRequestedOutput(OUTPUT, binary_data=binary_output)
    result = client.infer(MODEL, inputs=[tensor], outputs=[requested], request_id="interop-1")
    response = result.get_response()
    assert response["model_name"] == MODEL
    assert response.get("id") == "interop-1"
    output = result.get_output(OUTPUT)
    assert output["datatype"] == "FP32"
    assert ("binary_data_size" in output.get("parameters", {})) == binary_output
    values = result.as_numpy(OUTPUT)
    assert values.shape == expected.shape
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
    assert list(values.argmax(axis=1)) == json.loads(EXPECTED.read_text()).get(
        "predicted_classes", list(expected.argmax(axis=1)))


def test_infer_all_outputs_without_request_list(client, pixels, expected):
    tensor = httpclient.InferInput(INPUT, list(pixels.shape), "FP32")
    tensor.set_data_from_numpy(pixels)
    result = client.infer(MODEL, inputs=[tensor])
    np.testing.assert_allclose(result.as_numpy(OUTPUT), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("request_compression,response_compression",
                         [("gzip", "gzip"), ("deflate", "deflate"), ("gzip", None), (None, "deflate")])
def test_compressed_bodies(client, pixels, expected, request_compression, response_compression):
    """tritonclient's request_compression_algorithm / response_compression_algorithm, with binary and
    JSON tensors: gzip or deflate bodies in both directions."""
    batch = np.repeat(pixels, 8, axis=0)
    for binary in (False, True):
        tensor = httpclient.InferInput(INPUT, list(batch.shape), "FP32")
        tensor.set_data_from_numpy(batch, binary_data=binary)
        requested = httpclient.InferRequestedOutput(OUTPUT, binary_data=binary)
        result = client.infer(MODEL, inputs=[tensor], outputs=[requested],
                              request_compression_algorithm=request_compression,
                              response_compression_algorithm=response_compression)
        np.testing.assert_allclose(result.as_numpy(OUTPUT), np.repeat(expected, 8, axis=0), rtol=1e-5, atol=1e-6)


def test_datatype_mismatch_is_rejected(client, pixels):
    tensor = httpclient.InferInput(INPUT, list(pixels.shape), "FP64")
    tensor.set_data_from_numpy(pixels.astype(np.float64), binary_data=False)
    with pytest.raises(InferenceServerException) as raised:
        client.infer(MODEL, inputs=[tensor])
    message = str(raised.value)
    assert INPUT in message and "FP32" in message and "FP64" in message


def test_unknown_model_and_output_are_rejected(client, pixels):
    tensor = httpclient.InferInput(INPUT, list(pixels.shape), "FP32")
    tensor.set_data_from_numpy(pixels)
    with pytest.raises(InferenceServerException):
        client.infer("no-such-model", inputs=[tensor])
    with pytest.raises(InferenceServerException) as raised:
        client.infer(MODEL, inputs=[tensor], outputs=[httpclient.InferRequestedOutput("no_such_output")])
    assert "no_such_output" in str(raised.value)
