"""gRPC health checking with the official grpcio-health-checking client (what Kubernetes `grpc:`
probes and grpc_health_probe speak), on the same port as everything else."""

import os

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ADDRESS = os.environ["MODEL_SERVER_ADDRESS"]
MODEL = os.environ.get("MODEL_NAME", "digits")


@pytest.fixture(scope="module")
def health():
    with grpc.insecure_channel(ADDRESS) as channel:
        yield health_pb2_grpc.HealthStub(channel)


def test_server_services_and_models_are_serving(health):
    serving = health_pb2.HealthCheckResponse.SERVING
    for service in ("", "tensorflow.serving.PredictionService", "inference.GRPCInferenceService", MODEL):
        assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == serving


def test_unknown_names_are_not_found(health):
    with pytest.raises(grpc.RpcError) as raised:
        health.Check(health_pb2.HealthCheckRequest(service="no_such_model"), timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
