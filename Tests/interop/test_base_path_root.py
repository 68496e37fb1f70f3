"""--model_base_path_root and --enable_reload_config_request with the official grpcio client: base
paths from the command line, the config file and HandleReloadConfigRequest must resolve under the
root (symlinks followed), refusals do not say where a path leads, and reloads can be turned off.
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
