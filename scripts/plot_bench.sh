#!/usr/bin/env bash
# Draws a benchmark figure: bash scripts/plot_bench.sh serving|runtime BENCH_OUTPUT.txt OUT.png
# (a venv with matplotlib is made in .venv-plot, or PLOT_VENV, the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${PLOT_VENV:-.venv-plot}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q matplotlib
fi
"$venv/bin/python" scripts/plot_bench.py "$@"
