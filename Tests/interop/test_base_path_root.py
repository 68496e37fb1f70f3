"""--model_base_path_root and --enable_reload_config_request with the official grpcio client: base
paths from the command line, the config file and HandleReloadConfigRequest must resolve under the
root (symlinks followed), and so must version directories and the symlinks inside them; refusals do not
say where a path leads, and reloads can be turned off.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import grpc
import pytest

from conftest import grpc_channel_to_own_server, refused
from conftest import reload_models as reload

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples/models/digits"
BINARY = os.environ.get("MODEL_SERVER_BINARY", str(REPO / ".build/debug/model-server"))


@pytest.fixture(scope="module")
def layout():
    """root/digits (a copy), root/escape -> a directory outside the root, and outside/digits."""
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        root, outside = base / "root", base / "outside"
        root.mkdir()
        outside.mkdir()
        shutil.copytree(DIGITS, root / "digits")
        shutil.copytree(DIGITS, outside / "digits")
        (root / "escape").symlink_to(outside)
        (root / "inside").symlink_to(root / "digits")
        yield root, outside




def version_status(stubs, channel, name):
    request = stubs["get_model_status_pb2"].GetModelStatusRequest()
    request.model_spec.name = name
    return stubs["model_service_pb2_grpc"].ModelServiceStub(channel).GetModelStatus(request, timeout=10).model_version_status


def wait_for_state(stubs, channel, name, state):
    """The first version's status once it reaches `state` (END with its error, or AVAILABLE)."""
    import time
    wanted = getattr(stubs["get_model_status_pb2"].ModelVersionStatus, state)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        versions = version_status(stubs, channel, name)
        if versions and versions[0].state == wanted and (state != "END" or versions[0].status.error_message):
            return versions[0]
        time.sleep(0.05)
    raise AssertionError(f"{name} did not reach {state}: {version_status(stubs, channel, name)}")


def test_version_directories_and_their_symlinks_stay_under_the_root(stubs, layout, tmp_path):
    root, outside = layout
    # A base path inside the root whose version directory is a symlink leading out of it.
    (root / "linked").mkdir()
    (root / "linked" / "1").symlink_to(outside / "digits" / "1")
    # A version directory inside the root with one shard linked to a file outside.
    shutil.copytree(DIGITS, root / "shard")
    shard = next((root / "shard" / "1" / "variables").glob("variables.data-*"))
    shutil.copy(shard, outside / "shard-copy")
    shard.unlink()
    shard.symlink_to(outside / "shard-copy")
    config = tmp_path / "models.config"
    config.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{name}" base_path: "{root / name}" model_platform: "tensorflow" }}\n'
        for name in ("digits", "linked", "shard")) + "}\n")
    with grpc_channel_to_own_server(f"--model_config_file={config}", f"--model_base_path_root={root}",
                                    ready=False) as channel:
        linked = wait_for_state(stubs, channel, "linked", "END")
        assert linked.status.error_message == "the version directory leads outside --model_base_path_root"
        shard_status = wait_for_state(stubs, channel, "shard", "END")
        assert shard_status.status.error_message == (
            f"variables/{shard.name} in the version directory leads outside --model_base_path_root")
        for status in (linked, shard_status):
            assert str(outside) not in status.status.error_message
            assert status.status.error_code == grpc.StatusCode.PERMISSION_DENIED.value[0]
        # The refused versions block nothing.
        wait_for_state(stubs, channel, "digits", "AVAILABLE")


def start_refused(*arguments):
    """Runs the server with `arguments`, which must make it exit at once; returns its output."""
    done = subprocess.run([BINARY, "--host=127.0.0.1", "--port=0", *arguments],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    return done.stdout + done.stderr


def test_reload_requests_stay_under_the_root(stubs, layout):
    root, outside = layout
    with grpc_channel_to_own_server(f"--model_base_path={root / 'digits'}", "--model_name=digits",
                                    f"--model_base_path_root={root}") as channel:
        # A symlink that stays inside the root is fine.
        assert reload(stubs, channel, ("digits", root / "digits"), ("alias", root / "inside")).status.error_code == 0
        for path in (outside / "digits", root / "escape" / "digits", root / ".." / "outside" / "digits"):
            code, details = refused(lambda: reload(stubs, channel, ("digits", root / "digits"), ("bad", path)))
            assert code == grpc.StatusCode.PERMISSION_DENIED
            assert details == "the base_path of model bad is not under --model_base_path_root"
            assert str(outside) not in details
        # A path outside that does not exist is refused the same way: nothing tells whether it exists.
        code, details = refused(lambda: reload(stubs, channel, ("gone", outside / "nothing")))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        # The refused lists changed nothing.
        status = stubs["get_model_status_pb2"].GetModelStatusRequest()
        status.model_spec.name = "alias"
        versions = stubs["model_service_pb2_grpc"].ModelServiceStub(channel).GetModelStatus(status, timeout=10)
        assert [v.version for v in versions.model_version_status] == [1]


def test_command_line_and_config_file_stay_under_the_root(layout, tmp_path):
    root, outside = layout
    output = start_refused(f"--model_base_path={root / 'escape' / 'digits'}", f"--model_base_path_root={root}")
    assert "the base_path of model default is not under --model_base_path_root" in output
    config = tmp_path / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "d" base_path: "{outside / "digits"}" }} }}\n')
    output = start_refused(f"--model_config_file={config}", f"--model_base_path_root={root}")
    assert "the base_path of model d is not under --model_base_path_root" in output
    output = start_refused(f"--model_base_path={root / 'digits'}", f"--model_base_path_root={root / 'missing'}")
    assert "--model_base_path_root" in output


def test_reload_requests_can_be_turned_off(stubs, layout):
    root, _ = layout
    with grpc_channel_to_own_server(f"--model_base_path={root / 'digits'}", "--model_name=digits",
                                    "--enable_reload_config_request=false") as channel:
        code, details = refused(lambda: reload(stubs, channel, ("digits", root / "digits")))
        assert code == grpc.StatusCode.UNIMPLEMENTED
        assert "--enable_reload_config_request=false" in details
