"""Structured logs: --log_format=json writes one object per line with the version's model and
version, --access_log adds one line per answered request (REST and gRPC) with the request id, which
is honoured when the client sends one and made up otherwise, and returned; --log_level filters.
"""

import http.client
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import grpc

from conftest import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
BODY = (REPO / "examples/requests/digits.json").read_bytes()
CONFIG = REPO / "config/models.config"


def run_server(*flags):
    process, port = start_server(f"--model_config_file={CONFIG}", *flags)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    return process, port, lines, reader


def finish(process, reader):
    stop_server(process)
    reader.join(timeout=10)


def test_json_lines_access_log_and_request_ids(stubs):
    process, port, lines, reader = run_server("--log_format=json", "--access_log=true")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/v1/models/digits:predict", body=BODY, headers={"x-request-id": "client-chosen-7"})
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200 and answer.getheader("x-request-id") == "client-chosen-7"
        connection.request("GET", "/v1/models/nope", headers={"x-request-id": "bad id with spaces"})
        missing = connection.getresponse()
        missing.read()
        made_up = missing.getheader("x-request-id")
        assert missing.status == 404 and made_up and made_up != "bad id with spaces"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            request = stubs["get_model_status_pb2"].GetModelStatusRequest()
            request.model_spec.name = "digits"
            _, call = stubs["model_service_pb2_grpc"].ModelServiceStub(channel).GetModelStatus.with_call(
                request, timeout=10, metadata=[("x-request-id", "grpc-42")])
            assert ("x-request-id", "grpc-42") in call.initial_metadata()
        time.sleep(0.3)
    finally:
        finish(process, reader)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    loaded = [r for r in records if r["message"].startswith("Successfully loaded servable version")]
    assert loaded and loaded[0]["model"] == "digits" and loaded[0]["version"] == "1"
    access = {r["request_id"]: r for r in records if r["logger"] == "model-server.access"}
    assert access["client-chosen-7"]["status"] == "200"
    assert access["client-chosen-7"]["method"] == "POST"
    assert access["client-chosen-7"]["path"] == "/v1/models/digits:predict"
    assert access["client-chosen-7"]["protocol"] == "HTTP/1.1"
    assert int(access["client-chosen-7"]["bytes"]) > 0 and int(access["client-chosen-7"]["duration_us"]) > 0
    assert access[made_up]["status"] == "404"
    assert access["grpc-42"]["protocol"] == "gRPC" and access["grpc-42"]["grpc_status"] == "0"


def test_log_level_filters_and_text_is_the_default():
    process, port, lines, reader = run_server("--log_level=warning")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/v1/models/digits")
        connection.getresponse().read()
    finally:
        finish(process, reader)
    text = "".join(lines)
    assert "Successfully loaded servable version" not in text
    assert not any(line.startswith("{") for line in lines)


def test_bad_log_flags_stop_startup_with_the_choices():
    binary = os.environ.get("MODEL_SERVER_BINARY", str(REPO / ".build/debug/model-server"))
    for flag, text in (("--log_format=xml", "--log_format must be text or json"),
                       ("--log_level=loud", "--log_level must be one of trace, debug, info")):
        result = subprocess.run([binary, f"--model_config_file={CONFIG}", "--port=0", flag],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0
        assert text in result.stderr + result.stdout
