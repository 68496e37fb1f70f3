#!/usr/bin/env bash
# Rollouts under load: versions swapped every 3 s under h2load for 60 s, with the release server.
# Usage: bash scripts/bench_rollout.sh [seconds]   (default 60)
#   MODELS_DIR   bench SavedModels from scripts/bench_models.sh (default /tmp/bench-models)
#   MODEL        the bench model swapped under load (default mlp); dense4096 (4 Dense layers of 4096x4096,
#                537 MB of files) is made by scripts/make_dense_model.py with PYTHON when missing; the cold
#                load times resnet
#   PYTHON       a Python with tensorflow-cpu for making dense4096 (default /work/tfvenv/bin/python)
#   EVERY        seconds between swaps (default 3)
#   TF_PYTHON    a Python with tensorflow-cpu, to time tf.saved_model.load of the same directory (optional)
#   SCRATCH_PATH build directory (default .build)
# Prints failed requests, p99 in steady vs swap windows, final file landing → AVAILABLE per swap, the peak RSS
# of the swaps above the steady RSS under load and each swap's above the RSS before it (side by side, and with
# unload-first forced by the memory budget), and the cold load.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
models_dir="${MODELS_DIR:-/tmp/bench-models}"
model="${MODEL:-mlp}"
scratch="${SCRATCH_PATH:-.build}"
bash scripts/install-deps.sh
swift build -c release --scratch-path "$scratch" --product model-server
if [[ "$model" =~ ^dense([0-9]+)$ ]] && [ ! -f "$models_dir/$model/1/saved_model.pb" ]; then
    "${PYTHON:-/work/tfvenv/bin/python}" scripts/make_dense_model.py "$models_dir" --width "${BASH_REMATCH[1]}"
fi
for name in "$model" resnet; do
    [ -f "$models_dir/$name/1/saved_model.pb" ] || { echo "no $models_dir/$name: run scripts/bench_models.sh $models_dir" >&2; exit 1; }
done
python3 scripts/bench_rollout.py "$scratch/release/model-server" "$models_dir/$model" "$models_dir/$model.json" \
    --seconds "$seconds" --every "${EVERY:-3}" --cold-model "$models_dir/resnet" ${TF_PYTHON:+--tf-python "$TF_PYTHON"}
