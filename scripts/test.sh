#!/usr/bin/env bash
# Installs what the tests need, builds once and runs the whole suite: the Swift tests, then the
# interop tests that drive the built server with the official Python clients.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
venv="${TEST_VENV:-.venv-test}"
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s Tests/interop/requirements.txt "$venv/requirements.installed"; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r Tests/interop/requirements.txt
    cp Tests/interop/requirements.txt "$venv/requirements.installed"
fi

deploy_venv="${DEPLOY_VENV:-.venv-deploy}"
if [ ! -x "$deploy_venv/bin/pytest" ] || ! cmp -s Tests/deploy/requirements.txt "$deploy_venv/requirements.installed"; then
    [ -x "$deploy_venv/bin/python" ] || python3 -m venv "$deploy_venv"
    "$deploy_venv/bin/pip" install -q -r Tests/deploy/requirements.txt
    cp Tests/deploy/requirements.txt "$deploy_venv/requirements.installed"
fi
"$deploy_venv/bin/pytest" -q Tests/deploy

swift build --build-tests
binary="$(swift build --show-bin-path)/model-server"
MODEL_SERVER_BINARY="$binary" swift test --skip-build
MODEL_SERVER_BINARY="$binary" "$venv/bin/pytest" -q Tests/interop

# Each fuzzer for a short while over a copy of its corpus, so they keep building and the corpus keeps passing.
fuzz_seconds="${FUZZ_SMOKE_SECONDS:-30}"
if [ "$fuzz_seconds" -gt 0 ]; then
    fuzz_scratch="$(mktemp -d)"
    for target in predict_json example_json kserve_infer tensor_proto predict_request grpc_framing config_text \
        http2_session tfrecord_warmup saved_model; do
        mkdir -p "$fuzz_scratch/$target"
        [ -d "Fuzz/corpus/$target" ] && cp -r "Fuzz/corpus/$target/." "$fuzz_scratch/$target/"
        if ! FUZZ_CORPUS_DIR="$fuzz_scratch/$target" bash scripts/fuzz.sh "$target" "$fuzz_seconds" > "$fuzz_scratch/$target.log" 2>&1; then
            tail -40 "$fuzz_scratch/$target.log" >&2
            echo "fuzz target $target failed; the input is in Fuzz/crashes/$target" >&2
            exit 1
        fi
        echo "fuzz $target: $(grep -E '^stat::number_of_executed_units' "$fuzz_scratch/$target.log" | awk '{print $2}') executions, no crash"
    done
    rm -rf "$fuzz_scratch"
fi
