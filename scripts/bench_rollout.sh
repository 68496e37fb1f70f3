#!/usr/bin/env bash
# Rollouts under load: versions swapped every 3 s under h2load for 60 s, with the release server.
# Usage: bash scripts/bench_rollout.sh [seconds]   (default 60)
#   MODELS_DIR   bench SavedModels from scripts/bench_models.sh (default /tmp/bench-models)
#   MODEL        the bench model swapped under load (default mlp); the cold load times resnet
#   TF_PYTHON    a Python with tensorflow-cpu, to time tf.saved_model.load of the same directory (optional)
#   SCRATCH_PATH build directory (default .build)
# Prints failed requests, p99 in steady vs swap windows, final file landing → AVAILABLE per swap, peak RSS
# during swaps (side by side, and with unload-first forced by the memory budget), and the cold load.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
models_dir="${MODELS_DIR:-/tmp/bench-models}"
model="${MODEL:-mlp}"
scratch="${SCRATCH_PATH:-.build}"
bash scripts/install-deps.sh
swift build -c release --scratch-path "$scratch" --product model-server
for name in "$model" resnet; do
    [ -f "$models_dir/$name/1/saved_model.pb" ] || { echo "no $models_dir/$name: run scripts/bench_models.sh $models_dir" >&2; exit 1; }
done
python3 scripts/bench_rollout.py "$scratch/release/model-server" "$models_dir/$model" "$models_dir/$model.json" \
    --seconds "$seconds" --cold-model "$models_dir/resnet" ${TF_PYTHON:+--tf-python "$TF_PYTHON"}
