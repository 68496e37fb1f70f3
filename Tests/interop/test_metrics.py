"""Prometheus interop: the official prometheus_client parser reads the metrics endpoint, and the
counters and histograms move with the requests the official clients send.

Environment: MODEL_SERVER_URL (conftest.py starts a server with config/monitoring.config), MODEL_NAME.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
import tritonclient.http as httpclient

REPO = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ["MODEL_SERVER_URL"]
MODEL = os.environ.get("MODEL_NAME", "digits")
METRICS_PATH = "/monitoring/prometheus/metrics"


def scrape():
    with urllib.request.urlopen(SERVER_URL + METRICS_PATH, timeout=10) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample_value(families, family, name, **labels):
    """The sample `name` of `family` with these labels (a counter's may carry the _total suffix), or 0."""
    for sample in families[family].samples:
        if sample.name in (name, name + "_total") and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return 0.0


def predict(body):
    request = urllib.request.Request(f"{SERVER_URL}/v1/models/{MODEL}:predict", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_counts_and_latencies_follow_requests():
    before = scrape()
    instances = json.loads((REPO / "examples/requests/digits.json").read_text())["instances"]
    assert predict({"instances": instances[:2]}) == 200
    assert predict({"instances": [[1.0, 2.0]]}) == 400
    url = SERVER_URL.removeprefix("http://")
    with httpclient.InferenceServerClient(url=url) as client:
        tensor = httpclient.InferInput("pixels", [1, 64], "FP32")
        tensor.set_data_from_numpy(np.asarray(instances[:1], dtype=np.float32))
        client.infer(MODEL, [tensor])
    after = scrape()

    count = ":tensorflow:serving:request_count"
    assert after[count].type == "counter"
    ok = sample_value(after, count, count, model_name=MODEL, status="OK") \
        - sample_value(before, count, count, model_name=MODEL, status="OK")
    bad = sample_value(after, count, count, model_name=MODEL, status="INVALID_ARGUMENT") \
        - sample_value(before, count, count, model_name=MODEL, status="INVALID_ARGUMENT")
    assert (ok, bad) == (2, 1)

    latency = ":tensorflow:serving:request_latency"
    assert after[latency].type == "histogram"
    for api, entrypoint in (("Predict", "REST"), ("ModelInfer", "REST")):
        labels = {"model_name": MODEL, "API": api, "entrypoint": entrypoint}
        grew = sample_value(after, latency, latency + "_count", **labels) \
            - sample_value(before, latency, latency + "_count", **labels)
        assert grew == 1
        infinite = sample_value(after, latency, latency + "_bucket", le="+Inf", **labels)
        assert infinite == sample_value(after, latency, latency + "_count", **labels)

    loads = ":tensorflow:cc:saved_model:load_attempt_count"
    assert any(s.labels.get("status") == "success" and s.value >= 1 for s in after[loads].samples)


# Lint rules TF Serving's metric names break by design: they start with ':' and its counters have no
# `_total` suffix (load_attempt_count ends in `_count`). Dashboards written for TF Serving rely on them.
TF_SERVING_NAMING_RULES = (
    "metric names should not contain ':'",
    'counter metrics should have "_total" suffix',
    'non-histogram and non-summary metrics should not have "_count" suffix',
    "no help text",
)


def test_promtool_parses_a_real_scrape_and_finds_only_tf_servings_naming():
    assert predict({"instances": json.loads((REPO / "examples/requests/digits.json").read_text())["instances"][:1]}) == 200
    with urllib.request.urlopen(SERVER_URL + METRICS_PATH, timeout=10) as response:
        text = response.read()
    assert b"# TYPE :tensorflow:serving:request_count counter" in text
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=60)
    output = (result.stdout + result.stderr).decode()
    problems = [line for line in output.splitlines() if line.strip()]
    assert problems, "promtool reported nothing, so the naming exceptions above are stale"
    unexpected = [line for line in problems if not line.endswith(TF_SERVING_NAMING_RULES)]
    assert not unexpected, output
