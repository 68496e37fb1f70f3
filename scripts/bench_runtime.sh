#!/usr/bin/env bash
# Builds model-server in release mode, makes the benchmark SavedModels and a Python venv with
# TensorFlow and onnxruntime, then prints the runtime comparison table (scripts/bench_runtime.py).
# Usage: bash scripts/bench_runtime.sh [threads]   (PLOT=file.png also draws the table, scripts/plot_bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# PLOT=file.png: run as usual, then draw the printed figures.
if [ -n "${PLOT:-}" ] && [ -z "${PLOTTING_RUN:-}" ]; then
    PLOTTING_RUN=1 exec bash scripts/plot_bench.sh --after runtime "$PLOT" bash "scripts/$(basename "$0")" "$@"
fi
threads="${1:-1}"
venv="${BENCH_VENV:-.venv-bench}"
models="${BENCH_MODELS:-/tmp/bench-models}"

bash scripts/install-deps.sh
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q tensorflow-cpu tf2onnx onnxruntime
fi
swift build -c release --scratch-path .build-release --product model-server
[ -f "$models/mlp.json" ] || "$venv/bin/python" ../shared/bench/make_bench_models.py "$models"
"$venv/bin/python" scripts/bench_runtime.py --models "$models" --threads "$threads" \
    --binary .build-release/release/model-server
