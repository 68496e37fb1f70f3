#!/usr/bin/env bash
# Soak test: bash scripts/soak.sh [MINUTES]   (default 30)
# Builds the release server and runs scripts/soak.py with the interop venv (.venv-test, or TEST_VENV):
# mixed REST and gRPC over HTTP/1.1, h2c and TLS with batching on, a version rollout every 30 s, a config
# reload (SIGHUP) every 2 min and hostile requests interleaved; prints failed good requests, p99 per
# 5-minute window (SOAK_WINDOW_MINUTES), RSS and open fds over time, and kill -9 → restart → ready.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-30}"
venv="${TEST_VENV:-.venv-test}"
scratch="${SCRATCH_PATH:-.build}"
bash scripts/install-deps.sh
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r Tests/interop/requirements.txt
fi
swift build -c release --scratch-path "$scratch" --product model-server
"$venv/bin/python" scripts/soak.py "$scratch/release/model-server" "$minutes" \
    --window-minutes "${SOAK_WINDOW_MINUTES:-5}" --rollout-seconds "${SOAK_ROLLOUT_SECONDS:-30}" \
    --reload-seconds "${SOAK_RELOAD_SECONDS:-120}"
