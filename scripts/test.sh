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
