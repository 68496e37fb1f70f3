"""Rollouts on real directories with the real binary while REST and gRPC predicts run throughout:
partial copies in both orders, marker mode, corrupt and incomplete versions, deletions, in-place
rewrites, a memory budget, and two models loading at once. Every scenario ends with the load
having seen no failed request.
"""

import contextlib
import http.client
import json
import signal
import shutil
import struct
import tempfile
import threading
import time
from pathlib import Path

import grpc
import pytest

from conftest import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples/models/digits/1"
BODY = (REPO / "examples/requests/digits.json").read_bytes()
SHARD = "variables/variables.data-00000-of-00001"


class Server:
    """A server of its own on `base` (model "m"), its log drained, and a steady predict load on it."""

    def __init__(self, stubs, base, *flags):
        self.stubs = stubs
        self.process, self.port = start_server(
            "--model_name=m", f"--model_base_path={base}", "--max_num_load_retries=0",
            "--file_system_poll_wait_seconds=1", "--version_settle_millis=300", *flags)
        self.log = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.failures = []
        self.answered = 0
        self._stop = threading.Event()
        self._load = threading.Thread(target=self._run_load, daemon=True)
        self._load.start()

    def _drain(self):
        for line in self.process.stdout:
            self.log.append(line)

    def _run_load(self):
        rest = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        request = self.stubs["predict_pb2"].PredictRequest()
        request.model_spec.name = "m"
        pixels = json.loads(BODY)["instances"]
        tensor = request.inputs["pixels"]
        tensor.dtype = self.stubs["types_pb2"].DT_FLOAT
        tensor.tensor_shape.dim.add(size=len(pixels))
        tensor.tensor_shape.dim.add(size=len(pixels[0]))
        tensor.tensor_content = struct.pack(f"<{len(pixels) * len(pixels[0])}f", *[v for row in pixels for v in row])
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            predict = self.stubs["prediction_service_pb2_grpc"].PredictionServiceStub(channel).Predict
            deadline = time.time() + 300
            while not self._stop.is_set() and time.time() < deadline:
                try:
                    rest.request("POST", "/v1/models/m:predict", body=BODY)
                    answer = rest.getresponse()
                    text = answer.read()
                    if answer.status != 200:
                        self.failures.append(f"REST {answer.status}: {text[:200]!r}")
                    predict(request, timeout=10)
                    self.answered += 2
                except grpc.RpcError as error:
                    self.failures.append(f"gRPC {error.code()}: {error.details()}")
                except (OSError, http.client.HTTPException) as error:
                    self.failures.append(f"REST {error!r}")
                    rest = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                time.sleep(0.002)

    def served_version(self):
        return max((v for v, state, _ in self.statuses() if state == "AVAILABLE"), default=None)

    def statuses(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.request("GET", "/v1/models/m")
        answer = json.loads(connection.getresponse().read())
        return [(int(v["version"]), v["state"], v["status"]["error_message"])
                for v in answer.get("model_version_status", [])]

    def status_of(self, version):
        return next(((state, message) for v, state, message in self.statuses() if v == version), (None, None))

    def stop(self):
        self._stop.set()
        self._load.join(timeout=30)
        stop_server(self.process)
        assert self.answered > 0, "the load never got an answer"
        assert self.failures == [], "failed requests:\n" + "\n".join(self.failures[:10])


def wait_for(condition, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    return condition()


@contextlib.contextmanager
def serving(stubs, *flags, versions=(1,)):
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "m"
        for version in versions:
            shutil.copytree(DIGITS, base / str(version))
        server = Server(stubs, base, *flags)
        try:
            assert wait_for(lambda: server.served_version() == max(versions))
            yield server, base
        finally:
            server.stop()


def copy_in_two_steps(base, version, first):
    """Copies the digits SavedModel into `base/version`, `first` ("variables" or "graph") ahead of
    the rest, then returns a function that copies the rest."""
    target = base / str(version)
    target.mkdir()

    def graph():
        shutil.copy(DIGITS / "saved_model.pb", target / "saved_model.pb")

    def variables():
        shutil.copytree(DIGITS / "variables", target / "variables")

    (variables if first == "variables" else graph)()
    return graph if first == "variables" else variables


@pytest.mark.parametrize("first", ["variables", "graph"])
def test_a_partial_copy_is_served_once_complete(stubs, first):
    with serving(stubs) as (server, base):
        rest = copy_in_two_steps(base, 2, first)
        time.sleep(1.5)
        state, message = server.status_of(2)
        assert state == "START"
        assert message.startswith("waiting for"), message
        assert server.served_version() == 1
        rest()
        landed = time.time()
        assert wait_for(lambda: server.served_version() == 2)
        # 300 ms settle window, a small load and the notification well inside 100 ms.
        assert time.time() - landed < 3


def test_marker_mode_waits_for_the_marker(stubs):
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "m"
        shutil.copytree(DIGITS, base / "1")
        (base / "1" / "READY").touch()
        server = Server(stubs, base, "--version_ready_marker=READY")
        try:
            assert wait_for(lambda: server.served_version() == 1)
            shutil.copytree(DIGITS, base / "2")
            time.sleep(1)
            assert server.status_of(2) == ("START", "waiting for the ready marker file READY (--version_ready_marker)")
            (base / "2" / "READY").touch()
            assert wait_for(lambda: server.served_version() == 2)
        finally:
            server.stop()


def broken_copy(base, version, damage):
    staging = base.parent / f"staging-{version}"
    shutil.copytree(DIGITS, staging)
    damage(staging)
    staging.rename(base / str(version))


def test_corrupt_and_incomplete_versions_leave_the_old_one_serving_and_say_why(stubs):
    def corrupt_graph(path):
        (path / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\xff" + b"garbage" * 10)

    def flip_a_shard_byte(path):
        data = bytearray((path / SHARD).read_bytes())
        data[len(data) // 2] ^= 0x40
        (path / SHARD).write_bytes(bytes(data))

    def truncate_the_shard(path):
        data = (path / SHARD).read_bytes()
        (path / SHARD).write_bytes(data[: len(data) // 2])

    def remove_the_shard(path):
        (path / SHARD).unlink()

    with serving(stubs) as (server, base):
        cases = [
            (2, corrupt_graph, "END", "saved_model.pb is not a valid SavedModel protobuf"),
            (3, flip_a_shard_byte, "END", "checksum mismatch"),
            (4, truncate_the_shard, "START", "waiting for variables/variables.data-00000-of-00001 ("),
            (5, remove_the_shard, "START", "waiting for variables/variables.data-00000-of-00001"),
        ]
        for version, damage, state, text in cases:
            broken_copy(base, version, damage)
            assert wait_for(lambda: server.status_of(version)[0] == state and text in server.status_of(version)[1]), \
                server.status_of(version)
            assert server.served_version() == 1
            shutil.rmtree(base / str(version))
            assert wait_for(lambda: server.status_of(version) == (None, None))


def test_a_failed_version_fixed_in_place_is_served_without_the_retry_timer(stubs):
    with serving(stubs) as (server, base):
        broken_copy(base, 2, lambda path: (path / "saved_model.pb").write_bytes(b"not a protobuf"))
        assert wait_for(lambda: server.status_of(2)[0] == "END")
        shutil.copy(DIGITS / "saved_model.pb", base / "2" / "saved_model.pb")
        assert wait_for(lambda: server.served_version() == 2, seconds=10)


def test_deleting_versions_and_the_base_path_while_serving(stubs):
    with serving(stubs, versions=(1, 2)) as (server, base):
        shutil.rmtree(base / "2")
        assert wait_for(lambda: server.served_version() == 1 and server.status_of(2) == (None, None))
        moved = base.parent / "kept"
        base.rename(moved)
        time.sleep(1.5)
        assert server.served_version() == 1, "a missing base path keeps what serves"
        shutil.copytree(DIGITS, moved / "3")
        moved.rename(base)
        assert wait_for(lambda: server.served_version() == 3)


def test_a_shard_rewritten_in_place_while_serving(stubs):
    with serving(stubs) as (server, base):
        shard = base / "1" / SHARD
        data = shard.read_bytes()
        with open(shard, "r+b") as handle:
            handle.truncate(len(data) // 3)
        time.sleep(1.5)
        state, message = server.status_of(1)
        assert state == "AVAILABLE"
        assert "changed after it was loaded" in message, message
        with open(shard, "r+b") as handle:
            handle.write(data)
        assert wait_for(lambda: server.status_of(1) == ("AVAILABLE", ""))
        assert sum("Successfully loaded servable version {name: m version: 1}" in line for line in server.log) == 2


def model_bytes():
    return sum(p.stat().st_size for p in DIGITS.rglob("*") if p.is_file())


def test_a_budget_that_refuses_keeps_the_old_version(stubs):
    budget = int(model_bytes() * 1.5)
    with serving(stubs, f"--memory_budget_bytes={budget}") as (server, base):
        shutil.copytree(DIGITS, base / "2")
        assert wait_for(lambda: "--memory_budget_bytes" in (server.status_of(2)[1] or ""))
        assert server.status_of(2)[0] == "START"
        assert server.served_version() == 1


def test_a_budget_that_unloads_first_serves_the_new_version(stubs):
    budget = int(model_bytes() * 1.5)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "m"
        shutil.copytree(DIGITS, base / "1")
        process, port = start_server("--model_name=m", f"--model_base_path={base}", "--version_settle_millis=0",
                                     f"--memory_budget_bytes={budget}", "--memory_budget_overflow=unload_first")
        try:
            shutil.copytree(DIGITS, base / "2")

            def state():
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/v1/models/m")
                return {int(v["version"]): v["state"] for v in json.loads(connection.getresponse().read())["model_version_status"]}

            assert wait_for(lambda: state().get(2) == "AVAILABLE")
            assert state().get(1) in (None, "END")
        finally:
            stop_server(process)


def test_two_models_load_at_once_from_a_config_file(stubs):
    with tempfile.TemporaryDirectory() as folder:
        for name in ("a", "b"):
            shutil.copytree(DIGITS, Path(folder) / name / "1")
        config = Path(folder) / "models.config"
        config.write_text("model_config_list {\n" + "".join(
            f'  config {{ name: "{name}" base_path: "{folder}/{name}" model_platform: "tensorflow" }}\n'
            for name in ("a", "b")) + "}\n")
        process, port = start_server(f"--model_config_file={config}", "--num_load_threads=2")
        try:
            for name in ("a", "b"):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("POST", f"/v1/models/{name}:predict", body=BODY)
                assert connection.getresponse().status == 200
        finally:
            stop_server(process)


def test_sighup_rereads_the_model_config_file(stubs):
    with tempfile.TemporaryDirectory() as folder:
        for name in ("a", "b"):
            shutil.copytree(DIGITS, Path(folder) / name / "1")
        config = Path(folder) / "models.config"

        def write(*names):
            config.write_text("model_config_list {\n" + "".join(
                f'  config {{ name: "{name}" base_path: "{folder}/{name}" }}\n' for name in names) + "}\n")

        def answers(name):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("POST", f"/v1/models/{name}:predict", body=BODY)
            return connection.getresponse().status

        write("a")
        process, port = start_server(f"--model_config_file={config}")
        try:
            assert answers("a") == 200 and answers("b") == 404
            write("a", "b")
            time.sleep(0.5)
            assert answers("b") == 404, "without polling the file is read again only on SIGHUP"
            process.send_signal(signal.SIGHUP)
            assert wait_for(lambda: answers("b") == 200)
            assert process.poll() is None
        finally:
            stop_server(process)
