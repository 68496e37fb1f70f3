"""Checks the deployment files under docker/ with the tools their users' pipelines run."""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
MANIFESTS = sorted((REPO / "docker" / "kubernetes").glob("*.yaml"))
TOOLS = pathlib.Path(sys.executable).parent


def tool(name):
    path = TOOLS / name
    return str(path) if path.exists() else shutil.which(name)


def test_hadolint_is_clean_on_the_dockerfile():
    result = subprocess.run([tool("hadolint"), "--no-color", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_stage_uses_the_projects_swift_version():
    toolchain = shutil.which("swift")
    if toolchain is None:
        pytest.skip("no Swift toolchain on PATH")
    version = subprocess.run([toolchain, "--version"], capture_output=True, text=True, timeout=60).stdout
    project = re.search(r"Swift version (\d+\.\d+(?:\.\d+)?)", version)
    assert project, version
    image = re.search(r"^FROM swift:(\d+\.\d+(?:\.\d+)?)-\S+ AS build$", DOCKERFILE.read_text(), re.MULTILINE)
    assert image, "the build stage is not FROM swift:<version>-<distro> AS build"
    assert image.group(1) == project.group(1)


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
def test_kubernetes_validate_is_clean(manifest):
    result = subprocess.run([tool("kubernetes-validate"), "--strict", str(manifest)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout + result.stderr


def test_there_are_manifests_to_check():
    assert MANIFESTS


KSERVE = REPO / "docker" / "kserve"


def kserve_documents():
    import yaml
    return [document for path in sorted(KSERVE.glob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text()) if document]


def kserve_crd_schemas():
    """The openAPIV3Schema of every served version of KServe's own CRDs (vendored, see kserve-crds/README.md),
    by (kind, apiVersion)."""
    import gzip
    import yaml
    schemas = {}
    for path in sorted((pathlib.Path(__file__).parent / "kserve-crds").glob("*.yaml.gz")):
        crd = yaml.safe_load(gzip.decompress(path.read_bytes()))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(kind, f"{group}/{version['name']}")] = version["schema"]["openAPIV3Schema"]
    return schemas


def test_kserve_files_match_kserves_crd_schemas():
    import jsonschema
    schemas = kserve_crd_schemas()
    assert ("InferenceService", "serving.kserve.io/v1beta1") in schemas
    assert ("ServingRuntime", "serving.kserve.io/v1alpha1") in schemas
    documents = kserve_documents()
    assert {document["kind"] for document in documents} == {"ServingRuntime", "InferenceService"}
    for document in documents:
        jsonschema.validate(document, schemas[(document["kind"], document["apiVersion"])])


def test_the_crd_schemas_catch_a_wrong_field_type():
    import jsonschema
    schemas = kserve_crd_schemas()
    runtime = next(d for d in kserve_documents() if d["kind"] == "ServingRuntime")
    broken = {**runtime, "spec": {**runtime["spec"], "protocolVersions": "v1"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schemas[("ServingRuntime", runtime["apiVersion"])])


def test_kserve_runtime_speaks_v1_and_v2_for_tensorflow_and_the_service_uses_it():
    documents = {document["kind"]: document for document in kserve_documents()}
    runtime = documents["ServingRuntime"]["spec"]
    assert {"v1", "v2"} <= set(runtime["protocolVersions"])
    assert {entry["name"] for entry in runtime["supportedModelFormats"]} == {"tensorflow"}
    predictor = documents["InferenceService"]["spec"]["predictor"]["model"]
    assert predictor["runtime"] == documents["ServingRuntime"]["metadata"]["name"]
    assert predictor["modelFormat"]["name"] == "tensorflow"
