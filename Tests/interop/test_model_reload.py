"""ModelService.HandleReloadConfigRequest with the official grpcio client: the answer comes once added
models are available, removed models stop being served, and bad lists are refused without changing
what is served.
"""

import json
import shutil
import tempfile
from pathlib import Path

import grpc
import pytest

from conftest import grpc_channel_to_own_server, refused
from conftest import reload_models as reload

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples/models/digits"
TF1 = REPO / "Tests/Fixtures/models/parse_example_tf1"


@pytest.fixture(scope="module")
def channel():
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "models.config"
        config.write_text(f'model_config_list {{ config {{ name: "digits" base_path: "{DIGITS}" }} }}\n')
        with grpc_channel_to_own_server(f"--model_config_file={config}", "--max_num_load_retries=0") as opened:
            yield opened


def states(stubs, channel, name):
    request = stubs["get_model_status_pb2"].GetModelStatusRequest()
    request.model_spec.name = name
    response = stubs["model_service_pb2_grpc"].ModelServiceStub(channel).GetModelStatus(request, timeout=10)
    return [(v.version, v.state) for v in response.model_version_status]


def test_reload_adds_and_removes_models(stubs, channel):
    available = stubs["get_model_status_pb2"].ModelVersionStatus.AVAILABLE
    response = reload(stubs, channel, ("digits", DIGITS), ("tf1", TF1))
    assert response.status.error_code == 0
    # The answer waits for the added model: it serves at once.
    assert states(stubs, channel, "tf1") == [(1, available)]
    regress = stubs["regression_pb2"].RegressionRequest()
    regress.model_spec.name = "tf1"
    regress.model_spec.signature_name = "regress"
    regress.input.example_list.examples.add().features.feature["x"].float_list.value.extend([1, 2, 3, 4])
    prediction = stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel)
    assert len(prediction.Regress(regress, timeout=30).result.regressions) == 1

    reload(stubs, channel, ("tf1", TF1))
    code, details = refused(lambda: states(stubs, channel, "digits"))
    assert code == grpc.StatusCode.NOT_FOUND


def test_bad_lists_are_refused_and_change_nothing(stubs, channel):
    reload(stubs, channel, ("digits", DIGITS))
    code, details = refused(lambda: reload(stubs, channel, ("digits", DIGITS), ("tf1", "relative/path")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "relative base_path" in details
    code, details = refused(lambda: reload(stubs, channel, ("digits", DIGITS), ("gone", "/no/such/dir")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == "Could not find base path /no/such/dir for servable gone"
    code, details = refused(lambda: reload(stubs, channel, ("digits", DIGITS), ("digits", TF1)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "appears twice" in details
    assert states(stubs, channel, "digits")[0][1] == stubs["get_model_status_pb2"].ModelVersionStatus.AVAILABLE


def test_a_model_that_fails_to_load_fails_the_reload(stubs, channel):
    with tempfile.TemporaryDirectory() as folder:
        broken = Path(folder) / "broken"
        (broken / "1").mkdir(parents=True)
        (broken / "1" / "saved_model.pb").write_bytes(b"not a protobuf")
        code, details = refused(lambda: reload(stubs, channel, ("digits", DIGITS), ("broken", broken)))
        assert "Model broken did not become available" in details
        assert code != grpc.StatusCode.OK
    reload(stubs, channel, ("digits", DIGITS))
