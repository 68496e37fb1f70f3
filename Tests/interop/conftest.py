"""Starts the built model-server once for the interop suite and tells the tests where it listens.

The binary comes from MODEL_SERVER_BINARY (default .build/debug/model-server); it serves
config/models.config on an ephemeral loopback port, with the Prometheus metrics of
config/monitoring.config. MODEL_SERVER_URL (http://host:port) and
MODEL_SERVER_ADDRESS (host:port) are set for the test modules, which read them at import.
"""

import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_server = None


def _start_server():
    binary = os.environ.get("MODEL_SERVER_BINARY", str(REPO / ".build/debug/model-server"))
    process = subprocess.Popen(
        [binary, "--host=127.0.0.1", "--port=0", f"--model_config_file={REPO / 'config/models.config'}",
         f"--monitoring_config_file={REPO / 'config/monitoring.config'}"],
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
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("model-server did not become ready within 60 s")
    return process, port


def pytest_configure(config):
    global _server
    if "MODEL_SERVER_URL" in os.environ:
        return
    _server, port = _start_server()
    os.environ["MODEL_SERVER_URL"] = f"http://127.0.0.1:{port}"
    os.environ["MODEL_SERVER_ADDRESS"] = f"127.0.0.1:{port}"


def pytest_unconfigure(config):
    if _server is not None:
        _server.terminate()
        try:
            _server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _server.kill()
