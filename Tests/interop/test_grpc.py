"""gRPC interop: official clients against a running model-server, on the same port as REST.

(a) tritonclient.grpc (KServe v2 GRPCInferenceService): live, ready, metadata, infer.
(b) TF Serving PredictionService / ModelService: Predict, GetModelMetadata, GetModelStatus.
    The `tensorflow-serving-api` wheel cannot be used without TensorFlow (its *_pb2 modules import
    tensorflow.core.framework protos that only the tensorflow wheel ships), so the Python stubs are
    generated at test time with grpcio-tools from the repository's own protos/ directory (the
    `stubs` fixture in conftest.py).
(c) gzip-compressed calls, a deadline that expires, and an unknown method (UNIMPLEMENTED).

Environment:
  MODEL_SERVER_ADDRESS  host:port (conftest.py starts a server and sets it)
  MODEL_NAME            default "digits"
  MODEL_INPUT           default "pixels"   (FP32 [-1, 64])
  MODEL_OUTPUT          default "output_0"
  MODEL_REQUEST         default examples/requests/digits.json          ({"instances": [...]})
  MODEL_EXPECTED        default examples/requests/digits.expected.json ({"predictions": [...]})
"""

import json
import os
from pathlib import Path

import grpc
import numpy as np
import pytest

import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

REPO = Path(__file__).resolve().parents[2]
ADDRESS = os.environ["MODEL_SERVER_ADDRESS"]
MODEL = os.environ.get("MODEL_NAME", "digits")
INPUT = os.environ.get("MODEL_INPUT", "pixels")
OUTPUT = os.environ.get("MODEL_OUTPUT", "output_0")
REQUEST = Path(os.environ.get("MODEL_REQUEST", REPO / "examples/requests/digits.json"))
EXPECTED = Path(os.environ.get("MODEL_EXPECTED", REPO / "examples/requests/digits.expected.json"))


@pytest.fixture(scope="module")
def pixels():
    return np.asarray(json.loads(REQUEST.read_text())["instances"], dtype=np.float32)


@pytest.fixture(scope="module")
def expected():
    return np.asarray(json.loads(EXPECTED.read_text())["predictions"], dtype=np.float32)


@pytest.fixture(scope="module")
def channel():
    with grpc.insecure_channel(ADDRESS) as opened:
        grpc.channel_ready_future(opened).result(timeout=10)
        yield opened


def float_tensor(stubs, array):
    proto = stubs["tensor_pb2"].TensorProto(dtype=stubs["types_pb2"].DT_FLOAT)
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    proto.tensor_content = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return proto


def tensor_values(proto):
    shape = [d.size for d in proto.tensor_shape.dim]
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype="<f4").reshape(shape)
    return np.asarray(proto.float_val, dtype=np.float32).reshape(shape)


def predict_request(stubs, pixels, **spec):
    request = stubs["predict_pb2"].PredictRequest()
    request.model_spec.name = MODEL
    for key, value in spec.items():
        if key == "version":
            request.model_spec.version.value = value
        else:
            setattr(request.model_spec, key, value)
    request.inputs[INPUT].CopyFrom(float_tensor(stubs, pixels))
    return request


# (a) tritonclient.grpc


@pytest.fixture(scope="module")
def triton():
    client = grpcclient.InferenceServerClient(url=ADDRESS)
    yield client
    client.close()


def test_triton_live_ready_and_server_metadata(triton):
    assert triton.is_server_live()
    assert triton.is_server_ready()
    assert triton.is_model_ready(MODEL)
    assert not triton.is_model_ready("no_such_model")
    metadata = triton.get_server_metadata()
    assert metadata.name == "model-server"
    assert "binary_tensor_data" in metadata.extensions


def test_triton_model_metadata(triton):
    metadata = triton.get_model_metadata(MODEL)
    assert metadata.name == MODEL
    assert metadata.versions
    assert [(t.name, t.datatype, list(t.shape)) for t in metadata.inputs] == [(INPUT, "FP32", [-1, 64])]
    assert OUTPUT in [t.name for t in metadata.outputs]


def test_triton_infer_raw(triton, pixels, expected):
    infer_input = grpcclient.InferInput(INPUT, list(pixels.shape), "FP32")
    infer_input.set_data_from_numpy(pixels)
    result = triton.infer(MODEL, [infer_input], outputs=[grpcclient.InferRequestedOutput(OUTPUT)])
    np.testing.assert_allclose(result.as_numpy(OUTPUT), expected, rtol=1e-5, atol=1e-6)
    response = result.get_response()
    assert response.model_name == MODEL
    assert response.raw_output_contents


def test_triton_infer_gzip(triton, pixels, expected):
    infer_input = grpcclient.InferInput(INPUT, list(pixels.shape), "FP32")
    infer_input.set_data_from_numpy(pixels)
    result = triton.infer(MODEL, [infer_input], compression_algorithm="gzip")
    np.testing.assert_allclose(result.as_numpy(OUTPUT), expected, rtol=1e-5, atol=1e-6)


def test_triton_errors(triton, pixels):
    wrong = grpcclient.InferInput(INPUT, [pixels.shape[0], 63], "FP32")
    wrong.set_data_from_numpy(pixels[:, :63].copy())
    with pytest.raises(InferenceServerException) as raised:
        triton.infer(MODEL, [wrong])
    assert "StatusCode.INVALID_ARGUMENT" in str(raised.value.status())
    assert INPUT in raised.value.message()
    with pytest.raises(InferenceServerException) as missing:
        triton.get_model_metadata("no_such_model")
    assert "NOT_FOUND" in str(missing.value.status())


def test_typed_contents_answer_typed(channel, pixels, expected):
    """ModelInfer with InferTensorContents (no raw_input_contents) gets typed outputs back."""
    from tritonclient.grpc import service_pb2, service_pb2_grpc

    request = service_pb2.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name=INPUT, datatype="FP32", shape=list(pixels.shape))
    tensor.contents.fp32_contents.extend(pixels.ravel().tolist())
    response = service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=30)
    assert not response.raw_output_contents
    output = next(o for o in response.outputs if o.name == OUTPUT)
    values = np.asarray(output.contents.fp32_contents, dtype=np.float32).reshape(list(output.shape))
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)


# (b) TF Serving PredictionService / ModelService


def test_predict(stubs, channel, pixels, expected):
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    response = stub.Predict(predict_request(stubs, pixels), timeout=30)
    assert response.model_spec.name == MODEL
    assert response.model_spec.version.value >= 1
    assert response.model_spec.signature_name == "serving_default"
    np.testing.assert_allclose(tensor_values(response.outputs[OUTPUT]), expected, rtol=1e-5, atol=1e-6)


def test_predict_by_version_and_label(stubs, channel, pixels, expected):
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    by_label = stub.Predict(predict_request(stubs, pixels, version_label="stable"), timeout=30)
    version = by_label.model_spec.version.value
    by_number = stub.Predict(predict_request(stubs, pixels, version=version), timeout=30)
    assert by_number.model_spec.version.value == version
    np.testing.assert_allclose(tensor_values(by_number.outputs[OUTPUT]), expected, rtol=1e-5, atol=1e-6)


def test_predict_errors(stubs, channel, pixels):
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    with pytest.raises(grpc.RpcError) as wrong_shape:
        stub.Predict(predict_request(stubs, pixels[:, :63]), timeout=30)
    assert wrong_shape.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert INPUT in wrong_shape.value.details()
    request = predict_request(stubs, pixels)
    request.model_spec.name = "no_such_model"
    with pytest.raises(grpc.RpcError) as unknown:
        stub.Predict(request, timeout=30)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no_such_model" in unknown.value.details()


def test_get_model_metadata(stubs, channel):
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    request = stubs["get_model_metadata_pb2"].GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MODEL
    response = stub.GetModelMetadata(request, timeout=30)
    assert response.model_spec.name == MODEL
    packed = response.metadata["signature_def"]
    assert packed.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    signatures = stubs["get_model_metadata_pb2"].SignatureDefMap()
    assert packed.Unpack(signatures)
    serving = signatures.signature_def["serving_default"]
    assert serving.method_name == "tensorflow/serving/predict"
    pixels_info = serving.inputs[INPUT]
    assert pixels_info.dtype == stubs["types_pb2"].DT_FLOAT
    assert [d.size for d in pixels_info.tensor_shape.dim] == [-1, 64]
    assert OUTPUT in serving.outputs


def test_get_model_status(stubs, channel):
    stub = stubs["model_service_pb2_grpc"].ModelServiceStub(channel)
    request = stubs["get_model_status_pb2"].GetModelStatusRequest()
    request.model_spec.name = MODEL
    response = stub.GetModelStatus(request, timeout=30)
    states = {status.version: status.state for status in response.model_version_status}
    available = stubs["get_model_status_pb2"].ModelVersionStatus.AVAILABLE
    assert available in states.values()
    assert all(status.status.error_code == 0 for status in response.model_version_status)


# (c) compression, deadlines, unknown methods


def test_predict_gzip(stubs, channel, pixels, expected):
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    response = stub.Predict(predict_request(stubs, pixels), timeout=30, compression=grpc.Compression.Gzip)
    np.testing.assert_allclose(tensor_values(response.outputs[OUTPUT]), expected, rtol=1e-5, atol=1e-6)


def test_gzip_channel(stubs, pixels, expected):
    with grpc.insecure_channel(ADDRESS, compression=grpc.Compression.Gzip) as compressed:
        stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(compressed)
        big = np.repeat(pixels, 64, axis=0)
        response = stub.Predict(predict_request(stubs, big), timeout=30)
        np.testing.assert_allclose(tensor_values(response.outputs[OUTPUT]),
                                   np.repeat(expected, 64, axis=0), rtol=1e-5, atol=1e-6)


def test_deadline_expires(stubs, pixels, tmp_path):
    """A call whose deadline passes while it waits for its batch (a 300 ms batch timeout, a 50 ms deadline)
    ends DEADLINE_EXCEEDED, however fast the model is."""
    from conftest import grpc_channel_to_own_server

    batching = tmp_path / "batching.config"
    batching.write_text("max_batch_size { value: 64 }\nbatch_timeout_micros { value: 300000 }\n")
    with grpc_channel_to_own_server(f"--model_config_file={REPO / 'config/models.config'}", "--enable_batching",
                                    f"--batching_parameters_file={batching}") as slow_channel:
        stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(slow_channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.Predict(predict_request(stubs, pixels), timeout=0.05)
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_unknown_method_is_unimplemented(channel):
    call = channel.unary_unary("/tensorflow.serving.PredictionService/Explain")
    with pytest.raises(grpc.RpcError) as raised:
        call(b"", timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "Explain" in raised.value.details()
    unknown_service = channel.unary_unary("/no.such.Service/Method")
    with pytest.raises(grpc.RpcError) as service:
        unknown_service(b"", timeout=10)
    assert service.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_classify_and_regress_check_the_signature_method(stubs, channel):
    """The example model's only signature is a predict signature: Classify and Regress are answered,
    and refuse it as TF Serving does."""
    stub = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    classify = stubs["classification_pb2"].ClassificationRequest()
    classify.model_spec.name = MODEL
    example = classify.input.example_list.examples.add()
    example.features.feature["pixels"].float_list.value.extend([0.0] * 64)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Classify(classify, timeout=30)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Expected classification signature method_name to be tensorflow/serving/classify" in raised.value.details()
    regress = stubs["regression_pb2"].RegressionRequest()
    regress.model_spec.name = MODEL
    regress.input.example_list.examples.add().CopyFrom(example)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Regress(regress, timeout=30)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Expected regression signature method_name to be tensorflow/serving/regress" in raised.value.details()
    regress.model_spec.name = "no_such_model"
    with pytest.raises(grpc.RpcError) as unknown:
        stub.Regress(regress, timeout=30)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_streaming_call_is_unimplemented(channel):
    call = channel.stream_unary("/tensorflow.serving.PredictionService/Predict")
    with pytest.raises(grpc.RpcError) as raised:
        call(iter([b"", b""]), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
