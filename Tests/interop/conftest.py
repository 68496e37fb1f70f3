"""Starts the built model-server once for the interop suite and tells the tests where it listens.

The binary comes from MODEL_SERVER_BINARY (default .build/debug/model-server); it serves
config/models.config on an ephemeral loopback port, with the Prometheus metrics of
config/monitoring.config. MODEL_SERVER_URL (http://host:port) and
MODEL_SERVER_ADDRESS (host:port) are set for the test modules, which read them at import.
"""

import contextlib
import importlib
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_server = None


def start_server(*arguments, ready=True):
    """Starts the binary with `arguments` on an ephemeral loopback port; returns (process, port) once
    every model is ready (or once it listens, with `ready` false)."""
    binary = os.environ.get("MODEL_SERVER_BINARY", str(REPO / ".build/debug/model-server"))
    process = subprocess.Popen(
        [binary, "--host=127.0.0.1", "--port=0", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    port = None
    while time.time() < deadline and port is None:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if match:
            port = int(match.group(1))
    if port is None:
        process.kill()
        raise RuntimeError(f"model-server did not start: {binary}")
    url = f"http://127.0.0.1:{port}"
    while ready and time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        if ready:
            process.kill()
            raise RuntimeError("model-server did not become ready within 60 s")
    return process, port


def pytest_configure(config):
    global _server
    if "MODEL_SERVER_URL" in os.environ:
        return
    _server, port = start_server(f"--model_config_file={REPO / 'config/models.config'}",
                                 f"--monitoring_config_file={REPO / 'config/monitoring.config'}")
    os.environ["MODEL_SERVER_URL"] = f"http://127.0.0.1:{port}"
    os.environ["MODEL_SERVER_ADDRESS"] = f"127.0.0.1:{port}"


def stop_server(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def grpc_channel_to_own_server(*arguments, ready=True):
    """A server of its own started with `arguments`, and a gRPC channel to it; both end on exit."""
    import grpc

    process, port = start_server(*arguments, ready=ready)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as opened:
            grpc.channel_ready_future(opened).result(timeout=10)
            yield opened
    finally:
        stop_server(process)


def pytest_unconfigure(config):
    if _server is not None:
        stop_server(_server)


@pytest.fixture(scope="session")
def stubs():
    """The TF Serving protos compiled from protos/ into a temporary package directory (the
    `tensorflow-serving-api` wheel needs TensorFlow for its *_pb2 imports)."""
    import grpc_tools
    from grpc_tools import protoc

    bundled = Path(grpc_tools.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(REPO / "protos"))
                     for folder in ("tensorflow", "tensorflow_serving")
                     for p in (REPO / "protos" / folder).rglob("*.proto"))
    with tempfile.TemporaryDirectory() as out:
        status = protoc.main(["grpc_tools.protoc", f"-I{REPO / 'protos'}", f"-I{bundled}",
                              f"--python_out={out}", f"--grpc_python_out={out}", *sources])
        assert status == 0, "protoc failed on protos/"
        sys.path.insert(0, out)
        try:
            modules = {name: importlib.import_module(f"tensorflow_serving.apis.{name}") for name in (
                "predict_pb2", "get_model_metadata_pb2", "get_model_status_pb2", "classification_pb2",
                "regression_pb2", "inference_pb2", "model_management_pb2", "prediction_service_pb2_grpc",
                "model_service_pb2_grpc")}
            modules["tensor_pb2"] = importlib.import_module("tensorflow.core.framework.tensor_pb2")
            modules["types_pb2"] = importlib.import_module("tensorflow.core.framework.types_pb2")
            modules["example_pb2"] = importlib.import_module("tensorflow.core.example.example_pb2")
            modules["model_server_config_pb2"] = importlib.import_module(
                "tensorflow_serving.config.model_server_config_pb2")
            yield modules
        finally:
            sys.path.remove(out)


def reload_models(stubs, channel, *models):
    """HandleReloadConfigRequest with a model_config_list of (name, base_path) pairs."""
    request = stubs["model_management_pb2"].ReloadConfigRequest()
    for name, path in models:
        entry = request.config.model_config_list.config.add()
        entry.name = name
        entry.base_path = str(path)
    return stubs["model_service_pb2_grpc"].ModelServiceStub(channel).HandleReloadConfigRequest(request, timeout=60)


def refused(call):
    """The gRPC status code and details `call` fails with."""
    import grpc

    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value.code(), raised.value.details()

